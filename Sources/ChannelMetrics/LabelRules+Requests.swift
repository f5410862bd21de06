// The reference's label rules read from the request: method_code, tcode, the partner path (REFERENCE-BEHAVIOUR §2–§4, §6).

import HTTP1Observer

extension LabelRules {
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

    /// Flask's `MAX_FORM_PARTS` (1,000): werkzeug's multipart decoder raises RequestEntityTooLarge on
    /// the part after it. The reference's before-request hook reads `request.form` (no query
    /// argument), catches that, and stores no request data; its after-request hook then reads the
    /// missing data (unless a `Method-Code` header answered first), raises, and records nothing.
    /// Seen with the library: 1,000 parts recorded, 1,001 and 1,002 not, 1,001 with the header or
    /// with `?q=1` recorded.
    public static let maxFormParts = 1_000

    /// Whether the reference records nothing for this inbound request because its data cannot be
    /// read or searched: no truthy `Method-Code` header, no query argument, and a multipart body
    /// (with a boundary) of more than `maxFormParts` parts in its prefix, or with a field without a
    /// name before any `method_code` field.
    public func inboundRequestDataFails(_ request: HTTPRequestSummary) -> Bool {
        // Most requests have no Content-Type or a JSON one: one look at its first bytes.
        guard let contentType = request.contentType, contentType.utf8.count > 19,
            contentType.utf8.first.map({ $0 | 0x20 }) == UInt8(ascii: "m"),  // (spares the prefix's compare)
            contentType.utf8.prefix(9).lazy.map({ $0 | 0x20 }).elementsEqual("multipart".utf8)
        else { return false }
        if let header = request.methodCode, !header.isEmpty { return false }
        if let query = request.query {
            switch RequestFields.firstMatch(.methodCode, inQuery: query) {
            case .value, .noMatch: return false
            case .unparsable, .noFields: break
            }
        }
        let media = MediaType(contentType)
        guard media.isMultipartForm, let boundary = media.parameters["boundary"] else { return false }
        if MultipartFormFields.partCount(request.bodyPrefix, boundary: boundary, upTo: Self.maxFormParts) > Self.maxFormParts {
            return true
        }
        // A field without a name is werkzeug's key `None`: met before any `method_code` key, FuzzyGet's
        // `k.replace(...)` raises on it (seen with the library: nameless part first, nothing recorded).
        for item in MultipartFormFields.items(request.bodyPrefix, boundary: boundary) ?? [] {
            guard let name = item.name else { return true }
            if FuzzyKey.methodCode.matches(name) { return false }
        }
        return false
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
        if let media = request.contentType.map({ MediaType($0) }) {
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
