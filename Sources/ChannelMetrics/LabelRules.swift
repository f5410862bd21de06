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

    /// Inner `code` (§2): not JSON / not UTF-8 / empty → `-1`; JSON → `str()` of the key
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
            if let decided = usualInnerCode(lentBody.assumingMemoryBound(to: UInt8.self), truncated: response.bodyTruncated) {
                return decided
            }
            var kept = response
            kept.bodyPrefix = Array(lentBody)
            return innerCode(kept)
        }
        let text: [UInt8]
        let scan: TopLevelLabelScan
        if let usual = parser.scanUsualBody(response.bodyPrefix, for: Self.codeKey) {
            // UTF-8 without a BOM, scanned first: an ASCII one needs no UTF-8 check.
            guard usual.decodable else { return ("-1", response.bodyTruncated ? .truncated : .notDecodable) }
            text = response.bodyPrefix
            scan = usual.scan
        } else {
            switch pythonText(response.bodyPrefix, truncated: response.bodyTruncated) {
            case .failure(let why): return ("-1", why)
            case .success(let decoded): text = decoded
            }
            scan = parser.scanTopLevelLabels(utf8: text, for: Self.codeKey)
        }
        // A top-level `code` ends the search: validate the rest, build only that value.
        switch scan {
        case .rejected(let rejection):
            if case .failure(let why) = mapParse(.failure(rejection), truncated: response.bodyTruncated) { return ("-1", why) }
        case .labels(let labels):
            if labels.hasFirst {
                let code = labels.first.unsafelyUnwrapped
                return code.isNull ? ("", .notFound) : (code.text, .found)
            }
        case .notAnObject:
            break
        }
        switch mapParse(parser.parse(utf8: text), truncated: response.bodyTruncated) {
        case .failure(let why): return ("-1", why)
        case .success(let document):
            guard let value = FuzzyKeySearch.find(.code, in: document) else { return ("", .notFound) }
            return (value.pythonStr, .found)
        }
    }

    /// `innerCode` of a usual body (UTF-8 without a BOM) decided by its top-level scan alone, as
    /// `innerCode` decides it; nil when more is needed (another text, no top-level `code`).
    private func usualInnerCode(_ body: UnsafeBufferPointer<UInt8>, truncated: Bool) -> (label: String, outcome: BodyCodeOutcome)? {
        guard let usual = parser.scanUsualBody(body, for: Self.codeKey) else { return nil }
        guard usual.decodable else { return ("-1", truncated ? .truncated : .notDecodable) }
        switch usual.scan {
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
            let bytes = lentBody.assumingMemoryBound(to: UInt8.self)
            guard !bytes.isEmpty else { return ("-1", false, .empty) }
            if let scan = scanUndecodedBody(bytes, contentType: response.contentType),
                let decided = outgoingCode(scan: scan, truncated: response.bodyTruncated)
            {
                return decided
            }
            var kept = response
            kept.bodyPrefix = Array(lentBody)
            return outgoingCode(kept)
        }
        let body = response.bodyPrefix
        guard !body.isEmpty else { return ("-1", false, .empty) }
        let text: [UInt8]
        let scan: TopLevelLabelScan
        if let usual = scanUndecodedBody(body, contentType: response.contentType) {
            text = body
            scan = usual
        } else {
            text = BodyTextDecoding.requestsJSONText(body, contentType: response.contentType)
            scan = parser.scanTopLevelLabels(utf8: text, for: Self.codeKeys)
        }
        return outgoingCode(text: text, scan: scan, truncated: response.bodyTruncated)
    }

    /// `outgoingCode` of requests' text of a body and its scan.
    func outgoingCode(text: [UInt8], scan: TopLevelLabelScan, truncated: Bool) -> (label: String, isNumberZero: Bool, outcome: BodyCodeOutcome) {
        if let decided = outgoingCode(scan: scan, truncated: truncated) { return decided }
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

    // MARK: method_code

    /// Inbound `method_code` (§2): the first truthy of the `Method-Code` header and the key
    /// `method_code` in the request data (query arguments if any, else a non-empty form,
    /// else the body as JSON whatever its Content-Type); `""` when none.
    public func inboundMethodCode(_ request: HTTPRequestSummary) -> String {
        inboundMethodCode(request, shortcut: true)
    }

    /// `inboundMethodCode`; `shortcut` false (for the tests) parses every body, even one that
    /// provably has no matching name (`FuzzyKey.isProvablyAbsent(fromJSON:)`).
    @inline(__always)
    func inboundMethodCode(_ request: HTTPRequestSummary, shortcut: Bool) -> String {
        if let header = request.methodCode, !header.isEmpty { return header }
        if let query = request.query {
            switch RequestFields.firstMatch(.methodCode, inQuery: query) {
            case .value(let value): return value
            case .noMatch: return ""
            case .unparsable, .noFields: break
            }
        }
        let media = request.contentType.map { MediaType($0) }
        if let media, media.isURLEncodedForm || (media.isMultipartForm && media.parameters["boundary"] != nil) {
            // werkzeug consumes a form body: `request.data` is then empty, so no JSON fall-back.
            let fields = formFields(request, media: media) ?? []
            return FuzzyKeySearch.firstMatch(.methodCode, in: RequestFields.firstValues(fields)) ?? ""
        }
        if shortcut && FuzzyKey.methodCode.isProvablyAbsent(fromJSON: request.bodyPrefix) { return "" }
        guard case .success(let document) = parsePythonBytes(request.bodyPrefix, truncated: request.bodyTruncated),
            let value = FuzzyKeySearch.find(.methodCode, in: document), value.isTruthy
        else { return "" }
        return value.pythonStr
    }

    /// Outgoing `method_code` (§4) when no partner action applies: `Method-Code` searched
    /// through the headers, the query, a form body, then a JSON body (any depth), the last
    /// match winning (a later `null` clears it); falsy → `""`.
    ///
    /// On the wire a body counts as the reference's `json=` argument when its Content-Type is
    /// JSON (what requests sends), and as `data=` fields when it is a form.
    public func outgoingMethodCode(_ request: HTTPRequestSummary) -> String {
        outgoingMethodCode(request, shortcut: true)
    }

    /// `outgoingMethodCode`; `shortcut` false (for the tests) parses every JSON body, even one
    /// that provably has no matching name (`FuzzyKey.isProvablyAbsent(fromJSON:)`).
    @inline(__always)
    func outgoingMethodCode(_ request: HTTPRequestSummary, shortcut: Bool) -> String {
        var found: JSONValue? = request.methodCode.map(JSONValue.string)
        if let query = request.query, case .value(let value) = RequestFields.firstMatch(.methodCode, inQuery: query) {
            found = .string(value)
        }
        if let media = request.contentType.map { MediaType($0) } {
            if media.isURLEncodedForm || media.isMultipartForm {
                if let value = FuzzyKeySearch.firstMatch(.methodCode, in: formFields(request, media: media) ?? []) {
                    found = .string(value)
                }
            } else if media.isJSON, !(shortcut && FuzzyKey.methodCode.isProvablyAbsent(fromJSON: request.bodyPrefix)),
                case .success(let document) = parsePythonBytes(request.bodyPrefix, truncated: request.bodyTruncated)
            {
                FuzzyKeySearch.continueSearch(.methodCode, in: document, found: &found)
            }
        }
        guard let found, found.isTruthy else { return "" }
        return found.pythonStr
    }

    func formFields(_ request: HTTPRequestSummary, media: MediaType) -> [(String, String)]? {
        if media.isMultipartForm {
            return MultipartFormFields.parse(request.bodyPrefix, boundary: media.parameters["boundary"] ?? "")
        }
        return RequestFields.parseQuery(request.bodyPrefix)
    }

    // MARK: tcode

    /// `tcode` (§4): a truthy partner value; else the `T-Code` header when present (even
    /// empty); else the first label of the host name when it looks like a syscode; upper-cased.
    public static func tcode(request: HTTPRequestSummary, partner: PartnerTable.Entry?) -> String {
        if let partner, !partner.partner.isEmpty { return partner.partner }
        if let header = request.tCode { return header.uppercased() }
        guard let authority = request.host else { return "" }
        if let fast = asciiSyscodeLabel(authority: authority) { return fast }
        guard let host = hostname(authority: authority) else { return "" }
        let firstLabel = host.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return isSyscodeLike(firstLabel) ? firstLabel.uppercased() : ""
    }

    /// `tcode`'s host rule for an ASCII authority, read in place (this runs for every
    /// outgoing call): the upper-cased first label when it looks like a syscode, else `""`;
    /// nil for a non-ASCII authority, which takes the general path.
    static func asciiSyscodeLabel(authority: String) -> String? {
        // The outer optional: were the bytes contiguous; the inner one is the answer.
        if let answer = authority.utf8.withContiguousStorageIfAvailable({ asciiSyscodeLabel(authorityBytes: $0) }) {
            return answer
        }
        var contiguous = authority
        return contiguous.withUTF8 { asciiSyscodeLabel(authorityBytes: $0) }
    }

    private static func asciiSyscodeLabel(authorityBytes bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.isASCII else { return nil }
        // By index (this runs for every outgoing call): through the slices' generic searches it was
        // about 360 instructions for a usual host.
        let count = bytes.count
        // urlparse's hostname: after the last `@`; inside `[...]`, or up to the first `:`.
        var start = 0
        var i = count
        while i > 0 {
            i &-= 1
            if bytes[i] == UInt8(ascii: "@") {
                start = i &+ 1
                break
            }
        }
        var end = start
        if start < count && bytes[start] == UInt8(ascii: "[") {
            end = start &+ 1
            while end < count && bytes[end] != UInt8(ascii: "]") { end &+= 1 }
            guard end < count else { return "" }
            start &+= 1
        } else {
            while end < count && bytes[end] != UInt8(ascii: ":") { end &+= 1 }
        }
        var dot = start
        while dot < end && bytes[dot] != UInt8(ascii: ".") { dot &+= 1 }
        end = dot
        // is_syscode: 10 characters, a letter then 9 digits.
        guard end &- start == 10 else { return "" }
        let first = bytes[start] | 0x20
        guard first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z") else { return "" }
        for j in (start &+ 1)..<end where bytes[j] &- UInt8(ascii: "0") > 9 { return "" }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self).uppercased()
    }

    /// `urlparse(...).hostname`: userinfo and port removed, IPv6 brackets stripped, lower-cased.
    public static func hostname(authority: String) -> String? {
        var host = Substring(authority)
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        if host.first == "[" {
            guard let close = host.firstIndex(of: "]") else { return nil }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.firstIndex(of: ":") {
            host = host[..<colon]
        }
        return host.isEmpty ? nil : host.lowercased()
    }

    /// The reference's `is_syscode`: 10 characters, `isalpha()` then 9 `isdigit()`.
    public static func isSyscodeLike(_ text: String) -> Bool {
        let utf8 = text.utf8
        if text.utf8IsASCII {  // the usual ASCII host: no Unicode property lookups
            guard utf8.count == 10, let first = utf8.first, (first | 0x20) >= 0x61, (first | 0x20) <= 0x7A else { return false }
            return utf8.dropFirst().allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        }
        let scalars = text.unicodeScalars
        guard scalars.count == 10, let first = scalars.first, first.properties.isAlphabetic else { return false }
        return scalars.dropFirst().allSatisfy {
            $0.properties.numericType == .decimal || $0.properties.numericType == .digit
        }
    }

    // MARK: partner path

    /// `urlparse(url).path`: the path as sent, with `;params` of its last segment removed.
    public static func partnerPath(rawPath: String) -> String {
        guard rawPath.utf8.contains(UInt8(ascii: ";")) else { return rawPath }
        let searchFrom = rawPath.lastIndex(of: "/") ?? rawPath.startIndex
        guard let cut = rawPath[searchFrom...].firstIndex(of: ";") else { return rawPath }
        return String(rawPath[..<cut])
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
