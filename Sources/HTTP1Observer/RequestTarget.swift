/// The path, query and authority of a request target (RFC 9112 §3.2), decoded as Flask's `request.path` is.

struct RequestTarget: Equatable {
    /// The path as sent, without the query.
    var rawPath: String
    /// `rawPath` percent-decoded, the bytes then read as UTF-8 with U+FFFD for invalid sequences.
    var path: String
    /// The raw text after the first `?` (nil when there is none).
    var query: String?
    /// The authority of an absolute-form target (`http://host:port/...`).
    var authority: String?

    init(_ target: String) {
        var rest = Substring(target)
        authority = nil
        // absolute-form (RFC 9112 §3.2.2): scheme "://" authority path-abempty [ "?" query ]
        if let schemeEnd = rest.firstRange(of: "://"),
            rest[rest.startIndex..<schemeEnd.lowerBound].allSatisfy({ $0.isLetter || $0 == "+" || $0 == "-" || $0 == "." }),
            !rest[rest.startIndex..<schemeEnd.lowerBound].isEmpty
        {
            let afterScheme = rest[schemeEnd.upperBound...]
            let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? afterScheme.endIndex
            authority = String(afterScheme[afterScheme.startIndex..<authorityEnd])
            rest = afterScheme[authorityEnd...]
        }
        if let questionMark = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: questionMark)...])
            rest = rest[rest.startIndex..<questionMark]
        } else {
            query = nil
        }
        if authority != nil && rest.isEmpty { rest = "/" }
        rawPath = String(rest)
        path = Self.percentDecoded(rawPath)
    }

    /// `%XX` escapes decoded (malformed escapes kept as they are, like werkzeug), then UTF-8 with replacement.
    /// The target's bytes arrive as ISO-8859-1 scalars; they are turned back into bytes first.
    static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.unicodeScalars.count)
        var needsWork = false
        for scalar in text.unicodeScalars {
            let value = UInt8(truncatingIfNeeded: scalar.value)
            if value == 0x25 || value >= 0x80 { needsWork = true }
            bytes.append(value)
        }
        if !needsWork { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x25, i + 2 < bytes.count, let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }
}
