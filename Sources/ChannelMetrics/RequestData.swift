// Query strings, urlencoded and multipart forms read as werkzeug/urllib read them.

/// The request fields the reference searches for `method_code`.
public enum RequestFields {
    /// `urllib.parse.parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")`
    /// over the bytes of a query string or urlencoded body: split on `&` (empty parts
    /// skipped), name and value split at the first `=`, `+` is a space, `%XX` decoded,
    /// then UTF-8 with every invalid byte kept as `%XX` (werkzeug 2.3+). nil when the
    /// bytes are not UTF-8 (werkzeug's strict `.decode()` fails there).
    public static func parseQuery(_ bytes: [UInt8]) -> [(String, String)]? {
        guard BodyTextDecoding.strictUTF8(bytes) != nil else { return nil }
        var pairs: [(String, String)] = []
        for part in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if let eq = part.firstIndex(of: UInt8(ascii: "=")) {
                pairs.append((unquotePlus(part[part.startIndex..<eq]), unquotePlus(part[(eq + 1)...])))
            } else {
                pairs.append((unquotePlus(part[...]), ""))
            }
        }
        return pairs
    }

    /// werkzeug `MultiDict.to_dict()`: the first value of each name, in first-seen order.
    public static func firstValues(_ pairs: [(String, String)]) -> [(String, String)] {
        var seen = Set<String>()
        return pairs.filter { seen.insert($0.0).inserted }
    }

    /// The bytes of a header-like string: latin-1 when every character fits in a byte
    /// (how HTTP/1.1 text reaches WSGI), else its UTF-8.
    public static func wireBytes(_ text: String) -> [UInt8] {
        if text.unicodeScalars.allSatisfy({ $0.value <= 0xFF }) {
            return text.unicodeScalars.map { UInt8($0.value) }
        }
        return Array(text.utf8)
    }

    static func unquotePlus(_ raw: ArraySlice<UInt8>) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i < raw.endIndex {
            let b = raw[i]
            if b == UInt8(ascii: "%"), i + 2 < raw.endIndex, let hi = hexValue(raw[i + 1]), let lo = hexValue(raw[i + 2]) {
                bytes.append(hi << 4 | lo)
                i += 3
            } else {
                bytes.append(b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
                i += 1
            }
        }
        return decodeKeepingInvalidAsPercent(bytes)
    }

    /// UTF-8 decoding where each byte outside a valid sequence becomes `%XX` (upper case).
    static func decodeKeepingInvalidAsPercent(_ bytes: [UInt8]) -> String {
        if BodyTextDecoding.strictUTF8(bytes) != nil { return String(decoding: bytes, as: UTF8.self) }
        var out = String.UnicodeScalarView()
        var i = 0
        while i < bytes.count {
            let length = validSequenceLength(bytes, at: i)
            if length > 0 {
                out.append(contentsOf: String(decoding: bytes[i..<(i + length)], as: UTF8.self).unicodeScalars)
                i += length
            } else {
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.append("%")
                out.append(hex[Int(bytes[i] >> 4)])
                out.append(hex[Int(bytes[i] & 0xF)])
                i += 1
            }
        }
        return String(out)
    }

    /// Length of the well-formed UTF-8 sequence starting at `i`, or 0.
    static func validSequenceLength(_ b: [UInt8], at i: Int) -> Int {
        let lead = b[i]
        if lead < 0x80 { return 1 }
        return b.withUnsafeBytes { UTF8Validation.sequenceLength($0.baseAddress!, at: i, count: $0.count, lead: lead) }
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// A Content-Type header split as werkzeug's `parse_options_header` does (simplified).
public struct MediaType: Sendable, Hashable {
    /// Lower-cased `type/subtype`.
    public var mimeType: String
    /// Parameter names lower-cased; values unquoted.
    public var parameters: [String: String]

    public init(_ header: String) {
        if Self.isPlainLowercaseASCII(header) {
            // The usual `application/json`: what `init(parsingInFull:)` would make of it.
            self.init(mimeType: header, parameters: [:])
        } else {
            self.init(parsingInFull: header)
        }
    }

    private init(mimeType: String, parameters: [String: String]) {
        self.mimeType = mimeType
        self.parameters = parameters
    }

    /// The general parse: `type/subtype` and `;`-separated parameters, trimmed and lower-cased.
    init(parsingInFull header: String) {
        let parts = header.split(separator: ";", omittingEmptySubsequences: false)
        mimeType = parts.first.map { String($0.trimmingSpaces()).lowercased() } ?? ""
        var parameters: [String: String] = [:]
        for part in parts.dropFirst() {
            guard let eq = part.firstIndex(of: "=") else { continue }
            let name = String(part[..<eq].trimmingSpaces()).lowercased()
            var value = part[part.index(after: eq)...].trimmingSpaces()
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
            if parameters[name] == nil { parameters[name] = String(value) }
        }
        self.parameters = parameters
    }

    /// ASCII with no `;`, no upper-case letter and no space or tab at either end: the
    /// header is its own lower-cased, trimmed type (every outgoing JSON call reads one).
    static func isPlainLowercaseASCII(_ header: String) -> Bool {
        let bytes = header.utf8
        guard let first = bytes.first, let last = bytes.last else { return false }
        @inline(__always) func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        if isSpace(first) || isSpace(last) { return false }
        return bytes.allSatisfy { $0 < 0x80 && $0 != UInt8(ascii: ";") && !($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) }
    }

    public var isURLEncodedForm: Bool {
        mimeType == "application/x-www-form-urlencoded" || mimeType == "application/x-url-encoded"
    }
    public var isMultipartForm: Bool { mimeType == "multipart/form-data" }
    /// `application/json` or a `+json` type: what `requests(json=...)` sends.
    public var isJSON: Bool { mimeType == "application/json" || mimeType.hasSuffix("+json") }
}

/// The non-file fields of a `multipart/form-data` body (RFC 7578), as werkzeug's
/// `request.form` holds them: parts with a `filename` go to `request.files` instead.
/// Parsing stops at the end of the (possibly truncated) prefix; values are UTF-8
/// with replacement.
public enum MultipartFormFields {
    public static func parse(_ body: [UInt8], boundary: String) -> [(String, String)] {
        (items(body, boundary: boundary) ?? []).compactMap { item in item.name.map { ($0, item.value) } }
    }

    /// The non-file parts in order, one without a `name` with a nil name (werkzeug keeps it under
    /// the key `None`); nil when a part has no Content-Disposition: werkzeug's decoder raises
    /// ValueError there, which its form parser turns into an empty form, earlier fields and all.
    static func items(_ body: [UInt8], boundary: String) -> [(name: String?, value: String)]? {
        let delimiter = Array(("--" + boundary).utf8)
        guard !boundary.isEmpty, var cursor = find(delimiter, in: body, from: 0) else { return [] }
        var items: [(name: String?, value: String)] = []
        while true {
            cursor += delimiter.count
            if cursor + 2 <= body.count, body[cursor] == UInt8(ascii: "-"), body[cursor + 1] == UInt8(ascii: "-") { break }
            guard let headersStart = find([0x0D, 0x0A], in: body, from: cursor) else { break }
            guard let headersEnd = find([0x0D, 0x0A, 0x0D, 0x0A], in: body, from: headersStart) else { break }
            let contentStart = headersEnd + 4
            let headerText = headersStart + 2 <= headersEnd ? String(decoding: body[(headersStart + 2)..<headersEnd], as: UTF8.self) : ""
            guard let (name, isFile) = disposition(headerText) else { return nil }
            guard let next = find([0x0D, 0x0A] + delimiter, in: body, from: headersEnd + 2) else { break }
            if !isFile {
                let value = contentStart <= next ? String(decoding: body[contentStart..<next], as: UTF8.self) : ""
                items.append((name, value))
            }
            cursor = next + 2
        }
        return items
    }

    /// How many parts werkzeug's decoder counts in `body` (fields and files: a part counts once
    /// the blank line ending its headers is read), counting no further than `limit + 1`.
    public static func partCount(_ body: [UInt8], boundary: String, upTo limit: Int) -> Int {
        let delimiter = Array(("--" + boundary).utf8)
        guard !boundary.isEmpty, var cursor = find(delimiter, in: body, from: 0) else { return 0 }
        var count = 0
        while count <= limit {
            cursor += delimiter.count
            if cursor + 2 <= body.count, body[cursor] == UInt8(ascii: "-"), body[cursor + 1] == UInt8(ascii: "-") { break }
            guard let headersEnd = find([0x0D, 0x0A, 0x0D, 0x0A], in: body, from: cursor) else { break }
            count += 1
            guard let next = find([0x0D, 0x0A] + delimiter, in: body, from: headersEnd + 2) else { break }
            cursor = next + 2
        }
        return count
    }

    /// `Content-Disposition: form-data; name="x"[; filename="y"]` → (name, has filename); the name nil
    /// when the header has none; nil without the header.
    static func disposition(_ headers: String) -> (String?, Bool)? {
        for line in headers.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":"),
                line[..<colon].trimmingSpaces().lowercased() == "content-disposition"
            else { continue }
            let media = MediaType(String(line[line.index(after: colon)...]))
            return (media.parameters["name"], media.parameters["filename"] != nil || media.parameters["filename*"] != nil)
        }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var i = start
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == needle[0] {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }
}
