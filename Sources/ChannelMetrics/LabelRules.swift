// The reference's label rules, one function each (REFERENCE-BEHAVIOUR §2–§4, §6).

import HTTP1Observer

/// How a business code was read from a response body.
public enum BodyCodeOutcome: String, Error, Sendable, Hashable, CaseIterable {
    case found
    /// JSON, but the key is absent or `null`.
    case notFound = "not_found"
    case notJSON = "not_json"
    case notDecodable = "not_decodable"
    case tooDeep = "too_deep"
    case integerTooLong = "integer_too_long"
    /// The body prefix held less than the whole body and did not parse.
    case truncated
    case empty
    /// An inbound response the service itself compressed: the reference reads the compressed bytes.
    case contentEncoded = "content_encoded"
}

/// The label rules as pure functions of what the wire shows.
public struct LabelRules: Sendable {
    public var parser: PythonJSONParser

    public init(maxJSONDepth: Int = 512) { parser = PythonJSONParser(maxDepth: maxJSONDepth) }

    // MARK: f_code

    /// `f_code`: the User-Agent (latin-1, one character per byte); more than 20 characters
    /// → the first 20 + `...`; no header → `None` (Python's `str(None)`).
    @inline(__always)
    public static func fCode(userAgent: String?) -> String {
        guard let userAgent else { return "None" }
        // At most 20 bytes is at most 20 characters: no need to count them (inlined: the call
        // was most of this case's cost).
        guard userAgent.utf8.count > 20 else { return userAgent }
        return fCode(longUserAgent: userAgent)
    }

    /// `fCode` of an agent of more than 20 bytes.
    private static func fCode(longUserAgent userAgent: String) -> String {
        var agent = userAgent
        let asciiPrefix = agent.withUTF8 { bytes -> String? in
            guard bytes.isASCII else { return nil }
            // One character per byte (browsers' and most clients' agents are longer than 20): the
            // first 20 bytes and `...` written at once; through the Unicode scalar view this was
            // about 4,000 instructions per exchange.
            return String(unsafeUninitializedCapacity: 23) { buffer in
                buffer.baseAddress!.update(from: bytes.baseAddress!, count: 20)
                buffer[20] = UInt8(ascii: ".")
                buffer[21] = UInt8(ascii: ".")
                buffer[22] = UInt8(ascii: ".")
                return 23
            }
        }
        if let asciiPrefix { return asciiPrefix }
        let scalars = userAgent.unicodeScalars
        guard scalars.count > 20 else { return userAgent }
        var prefix = String.UnicodeScalarView(scalars.prefix(20))
        prefix.append(contentsOf: "...".unicodeScalars)
        return String(prefix)
    }

    // MARK: JSON bodies

    /// `json.loads(body_bytes)` as the inbound hooks call it.
    public func parsePythonBytes(_ body: [UInt8], truncated: Bool) -> Result<JSONValue, BodyCodeOutcome> {
        pythonText(body, truncated: truncated).flatMap { mapParse(parser.parse(utf8: $0), truncated: truncated) }
    }

    /// requests' `Response.json()` as the outgoing-call hook calls it.
    public func parseRequestsJSON(_ body: [UInt8], contentType: String?, truncated: Bool) -> Result<JSONValue, BodyCodeOutcome> {
        requestsText(body, contentType: contentType).flatMap { mapParse(parser.parse(utf8: $0), truncated: truncated) }
    }

    /// The UTF-8 text `json.loads` would parse from body bytes (it detects UTF-8/16/32).
    private func pythonText(_ body: [UInt8], truncated: Bool) -> Result<[UInt8], BodyCodeOutcome> {
        guard !body.isEmpty else { return .failure(.empty) }
        guard let text = BodyTextDecoding.pythonJSONBytes(body) else { return .failure(truncated ? .truncated : .notDecodable) }
        return .success(text)
    }

    /// The UTF-8 text requests' `Response.json()` would parse (declared or guessed encoding).
    private func requestsText(_ body: [UInt8], contentType: String?) -> Result<[UInt8], BodyCodeOutcome> {
        guard !body.isEmpty else { return .failure(.empty) }
        return .success(BodyTextDecoding.requestsJSONText(body, contentType: contentType))
    }

    private func mapParse(_ result: Result<JSONValue, JSONRejection>, truncated: Bool) -> Result<JSONValue, BodyCodeOutcome> {
        switch result {
        case .success(let value): return .success(value)
        case .failure(.tooDeep): return .failure(.tooDeep)
        case .failure(.integerTooLong): return .failure(.integerTooLong)
        case .failure: return .failure(truncated ? .truncated : .notJSON)
        }
    }

    // MARK: code

    /// The keys the scans look for, built once (an array literal at the call allocates per exchange).
    private static let codeKey: [FuzzyKey] = [.code]
    private static let codeKeys: [FuzzyKey] = [.code, .errorCode]

    /// Inner `code` (§2): not JSON / not UTF-8 (surrogates pass, as in `json.loads(bytes)`) / empty → `-1`; JSON → `str()` of the key
    /// `code` only; absent or null → `""`.
    ///
    /// A body with a `Content-Encoding` (gzip, deflate, br …) gives `-1`: the reference reads
    /// the body as the Flask app built it — the compressed bytes, never JSON — while the wire's
    /// observer inflates it (captures/parity: `gzip_json`). Outgoing calls differ: `requests`
    /// inflates before `.json()`, so `outgoingCode` reads the inflated prefix.
    ///
    /// `lentBody`: the body prefix where it lies, when the HTTP observer lent it (the summary's is
    /// then empty); the usual body is scanned in place, any other read from a copy.
    public func innerCode(
        _ response: HTTPResponseSummary, lentBody: UnsafeRawBufferPointer? = nil
    ) -> (label: String, outcome: BodyCodeOutcome) {
        if let encoding = response.contentEncoding, !encoding.isEmpty, encoding.lowercased() != "identity" {
            return ("-1", .contentEncoded)
        }
        if let lentBody {
            let body = lentBody.assumingMemoryBound(to: UInt8.self)
            if let decided = usualInnerCode(body, text: Array(body), truncated: response.bodyTruncated) { return decided }
            return generalInnerCode(Array(body), truncated: response.bodyTruncated)
        }
        let body = response.bodyPrefix
        let decided = body.withUnsafeBufferPointer { usualInnerCode($0, text: body, truncated: response.bodyTruncated) }
        return decided ?? generalInnerCode(body, truncated: response.bodyTruncated)
    }

    /// `innerCode` of a body that is not the usual one (another text: decoded first), or whose
    /// top-level names need decoding: the top-level scan of its text, else the whole document.
    private func generalInnerCode(_ body: [UInt8], truncated: Bool) -> (label: String, outcome: BodyCodeOutcome) {
        let text: [UInt8]
        let scan: TopLevelLabelScan
        if let usual = parser.scanUsualBody(body, for: Self.codeKey) {
            // UTF-8 without a BOM, scanned first: an ASCII one needs no UTF-8 check.
            guard usual.decodable else { return ("-1", truncated ? .truncated : .notDecodable) }
            text = body
            scan = usual.scan
        } else {
            switch pythonText(body, truncated: truncated) {
            case .failure(let why): return ("-1", why)
            case .success(let decoded): text = decoded
            }
            scan = parser.scanTopLevelLabels(utf8: text, for: Self.codeKey)
        }
        if let decided = innerCode(decidedBy: scan, truncated: truncated) { return decided }
        return innerCode(parsing: text, truncated: truncated)
    }

    /// `innerCode` of a text the whole document of which is searched (no top-level `code`).
    private func innerCode(parsing text: [UInt8], truncated: Bool) -> (label: String, outcome: BodyCodeOutcome) {
        switch mapParse(parser.parse(utf8: text), truncated: truncated) {
        case .failure(let why): return ("-1", why)
        case .success(let document):
            guard let value = FuzzyKeySearch.find(.code, in: document) else { return ("", .notFound) }
            return (value.pythonStr, .found)
        }
    }

    /// The label rules' key for `scanUsualLabel`, built once.
    private static let codeKeySet = TopLevelKeySet(codeKey)

    /// `innerCode` of a usual body (UTF-8 without a BOM: `text` is its bytes) as the general
    /// path decides it, from `scanUsualLabel`; nil for another text or top-level names that
    /// need decoding (the general path then). No step is done twice: a valid body without a
    /// top-level `code` is parsed at once, one the block scan left undecided is scanned byte by
    /// byte without it.
    ///
    /// Measured (callgrind, `bench json --only innerCode`, instructions per body): k1m-small.pcap's
    /// 103-byte body 1,669 -> 1,232, small.json 2,231 -> 1,793; the pipeline 15,085 -> 14,666 per
    /// exchange on k1m-small.pcap, 13,534 -> 13,114 on keepalive.pcap.
    private func usualInnerCode(
        _ body: UnsafeBufferPointer<UInt8>, text: @autoclosure () -> [UInt8], truncated: Bool
    ) -> (label: String, outcome: BodyCodeOutcome)? {
        switch parser.scanUsualLabel(body, for: Self.codeKeySet) {
        case .found(let code):
            return code.isNull ? ("", .notFound) : (code.text, .found)
        case .notDecodable:
            return ("-1", truncated ? .truncated : .notDecodable)
        case .validWithoutFirst:
            return innerCode(parsing: text(), truncated: truncated)
        case .notAnObject:
            guard UTF8Validation.isValid(UnsafeRawBufferPointer(body), surrogates: true) else {
                return ("-1", truncated ? .truncated : .notDecodable)
            }
            return innerCode(parsing: text(), truncated: truncated)
        case .leftToByteByByte:
            guard UTF8Validation.isValid(UnsafeRawBufferPointer(body), surrogates: true) else {
                return ("-1", truncated ? .truncated : .notDecodable)
            }
            let scan = parser.scanTopLevelLabels(byteByByte: body, for: Self.codeKey)
            return innerCode(decidedBy: scan, truncated: truncated) ?? innerCode(parsing: text(), truncated: truncated)
        case .notUsual, .namesNotPlain:
            return nil
        }
    }

    /// `innerCode` as the top-level scan alone decides it: a rejected text, or a top-level `code`
    /// (which ends the search: the rest was validated, only that value built); nil when the whole
    /// document is needed (no top-level `code`, not an object).
    @inline(__always)
    private func innerCode(decidedBy scan: TopLevelLabelScan, truncated: Bool) -> (label: String, outcome: BodyCodeOutcome)? {
        switch scan {
        case .rejected(let rejection):
            if case .failure(let why) = mapParse(.failure(rejection), truncated: truncated) { return ("-1", why) }
        case .labels(let labels):
            if labels.hasFirst {
                let code = labels.first.unsafelyUnwrapped
                return code.isNull ? ("", .notFound) : (code.text, .found)
            }
        case .notAnObject:
            break
        }
        return nil
    }

    /// Partner / external `code` (§3, §4): `code`, else `errorcode`, else `-1`; and whether it
    /// equals the number 0 (for `status`).
    ///
    /// `lentBody`: the body prefix where it lies, when the HTTP observer lent it (the summary's is
    /// then empty); a body requests reads as it is is scanned in place, any other read from a copy.
    public func outgoingCode(
        _ response: HTTPResponseSummary, lentBody: UnsafeRawBufferPointer? = nil
    ) -> (label: String, isNumberZero: Bool, outcome: BodyCodeOutcome) {
        if let lentBody {
            let body = lentBody.assumingMemoryBound(to: UInt8.self)
            guard !body.isEmpty else { return ("-1", false, .empty) }
            let contentType = response.contentType
            if let decided = usualOutgoingCode(body, contentType: contentType, text: Array(body), truncated: response.bodyTruncated) {
                return decided
            }
            return generalOutgoingCode(Array(body), contentType: contentType, truncated: response.bodyTruncated)
        }
        let body = response.bodyPrefix
        guard !body.isEmpty else { return ("-1", false, .empty) }
        let decided = body.withUnsafeBufferPointer {
            usualOutgoingCode($0, contentType: response.contentType, text: body, truncated: response.bodyTruncated)
        }
        return decided ?? generalOutgoingCode(body, contentType: response.contentType, truncated: response.bodyTruncated)
    }

    /// `outgoingCode` of a body that requests decodes (not provably its own text), or whose
    /// top-level names need decoding: the top-level scan of its text, else the whole document.
    private func generalOutgoingCode(
        _ body: [UInt8], contentType: String?, truncated: Bool
    ) -> (label: String, isNumberZero: Bool, outcome: BodyCodeOutcome) {
        let text: [UInt8]
        let scan: TopLevelLabelScan
        if let usual = scanUndecodedBody(body, contentType: contentType) {
            text = body
            scan = usual
        } else {
            text = BodyTextDecoding.requestsJSONText(body, contentType: contentType)
            scan = parser.scanTopLevelLabels(utf8: text, for: Self.codeKeys)
        }
        return outgoingCode(text: text, scan: scan, truncated: truncated)
    }

    /// The label rules' keys for `scanUndecodedLabel`, built once.
    private static let codeKeysSet = TopLevelKeySet(codeKeys)

    /// `outgoingCode` of a body requests reads as it is (`text` is its bytes) as the general
    /// path decides it, from `scanUndecodedLabel` (`usualInnerCode`'s steps, with `code`, else
    /// `errorcode`); nil where that path decodes first or the top-level names need decoding.
    ///
    /// Measured (callgrind, `bench run keepalive.pcap --stage pipeline --calls-out` and
    /// `bench metrics --calls-out`): see the commit; the general scan's layers as for `innerCode`.
    private func usualOutgoingCode(
        _ body: UnsafeBufferPointer<UInt8>, contentType: String?, text: @autoclosure () -> [UInt8], truncated: Bool
    ) -> (label: String, isNumberZero: Bool, outcome: BodyCodeOutcome)? {
        switch parser.scanUndecodedLabel(body, contentType: contentType, for: Self.codeKeysSet) {
        case .found(let code):
            return code.isNull ? ("-1", false, .notFound) : (code.text, code.isNumberZero, .found)
        case .validWithoutFirst:
            return outgoingCode(parsing: text(), truncated: truncated)
        case .notAnObject:
            guard UTF8Validation.isValid(UnsafeRawBufferPointer(body)) else { return nil }
            return outgoingCode(parsing: text(), truncated: truncated)
        case .leftToByteByByte:
            guard UTF8Validation.isValid(UnsafeRawBufferPointer(body)) else { return nil }
            let scan = parser.scanTopLevelLabels(byteByByte: body, for: Self.codeKeys)
            return outgoingCode(scan: scan, truncated: truncated) ?? outgoingCode(parsing: text(), truncated: truncated)
        case .notUsual, .notDecodable, .namesNotPlain:
            return nil
        }
    }

    /// `outgoingCode` of requests' text of a body and its scan.
    func outgoingCode(text: [UInt8], scan: TopLevelLabelScan, truncated: Bool) -> (label: String, isNumberZero: Bool, outcome: BodyCodeOutcome) {
        outgoingCode(scan: scan, truncated: truncated) ?? outgoingCode(parsing: text, truncated: truncated)
    }

    /// `outgoingCode` of a text the whole document of which is searched.
    private func outgoingCode(parsing text: [UInt8], truncated: Bool) -> (label: String, isNumberZero: Bool, outcome: BodyCodeOutcome) {
        switch mapParse(parser.parse(utf8: text), truncated: truncated) {
        case .failure(let why): return ("-1", false, why)
        case .success(let document):
            guard let value = FuzzyKeySearch.findFirst([.code, .errorCode], in: document) else {
                return ("-1", false, .notFound)
            }
            return (value.pythonStr, value.equalsNumberZero, .found)
        }
    }

    /// `outgoingCode` as the top-level scan alone decides it; nil when the document must be parsed.
    private func outgoingCode(scan: TopLevelLabelScan, truncated: Bool) -> (label: String, isNumberZero: Bool, outcome: BodyCodeOutcome)? {
        // `code`, else `errorcode`: top-level keys end each search; a null `code` falls to `errorcode`.
        switch scan {
        case .rejected(let rejection):
            if case .failure(let why) = mapParse(.failure(rejection), truncated: truncated) { return ("-1", false, why) }
        case .labels(let labels):
            if labels.hasFirst {
                let code = labels.first.unsafelyUnwrapped
                if !code.isNull { return (code.text, code.isNumberZero, .found) }
                if labels.hasSecond {
                    let errorCode = labels.second.unsafelyUnwrapped
                    return errorCode.isNull ? ("-1", false, .notFound) : (errorCode.text, errorCode.isNumberZero, .found)
                }
            }
        case .notAnObject:
            break
        }
        return nil
    }

    /// The scan of a body whose requests text is the body itself (`requestsTextIdentity`), as
    /// the block scan or the UTF-8 check proves; nil when it must be decoded first. An ASCII
    /// body the scan found valid needs neither the decode's UTF-8 check nor its copy.
    ///
    /// Measured (callgrind, `bench metrics --only observe --calls-out`): the separate check read
    /// the benchmark's body a second time.
    private func scanUndecodedBody(_ body: [UInt8], contentType: String?) -> TopLevelLabelScan? {
        body.withUnsafeBufferPointer { scanUndecodedBody($0, contentType: contentType) }
    }

    private func scanUndecodedBody(_ body: UnsafeBufferPointer<UInt8>, contentType: String?) -> TopLevelLabelScan? {
        let identity = BodyTextDecoding.requestsTextIdentity(body, contentType: contentType)
        guard identity != .unknown else { return nil }
        let scanned = parser.scanBodyBytes(body, for: Self.codeKeys)
        if scanned.isASCII || (identity == .whenValidUTF8 && UTF8Validation.isValid(UnsafeRawBufferPointer(body))) {
            return scanned.scan
        }
        return nil
    }

    /// `http_status`: `str(status)`; the three-digit codes come from a table, as every
    /// observation needs one.
    public static func statusText(_ status: Int) -> String {
        (100..<600).contains(status) ? statusTexts[status - 100] : String(status)
    }

    private static let statusTexts = (100..<600).map(String.init)

    /// `status` (§4): `success` when HTTP status < 400 and the code equals the number 0.
    public static func status(httpStatus: Int, codeIsNumberZero: Bool) -> String {
        httpStatus < 400 && codeIsNumberZero ? "success" : "error"
    }
}

extension FuzzyKeySearch {
    /// Continues a search into a value nested inside an outer search (the reference's
    /// `FuzzyGet([headers, params, data, json], ...)`): no top-level array wrapping, and a
    /// match (even `null`, → nil) replaces what was found before.
    public static func continueSearch(_ key: FuzzyKey, in value: JSONValue, found: inout JSONValue?) {
        visit(value, key, &found)
    }
}
