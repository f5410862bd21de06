// How the reference turns body bytes into text before parsing JSON (json.loads(bytes) and requests' Response.json()).

/// Decodes a body into UTF-8 bytes the way the reference's two code paths do.
public enum BodyTextDecoding {
    /// `json.loads(bytes)` (inbound requests and responses, CPython `json.detect_encoding`):
    /// a UTF-32/16/8 BOM or the pattern of NUL bytes picks the codec; decoding is strict
    /// but for surrogates (`errors='surrogatepass'`), so invalid UTF-8 is not JSON. A UTF-8
    /// BOM is dropped.
    public static func pythonJSONBytes(_ body: [UInt8]) -> [UInt8]? {
        switch detectEncoding(body) {
        case .utf8BOM: return surrogatePassUTF8(Array(body.dropFirst(3)))
        case .utf8: return surrogatePassUTF8(body)
        case .utf16BOM: return decodeUTF16(body, bigEndian: body.starts(with: [0xFE, 0xFF]), skip: 2, strict: true)
        case .utf16(let big): return decodeUTF16(body, bigEndian: big, skip: 0, strict: true)
        case .utf32BOM: return decodeUTF32(body, bigEndian: body.starts(with: [0, 0, 0xFE, 0xFF]), skip: 4, strict: true)
        case .utf32(let big): return decodeUTF32(body, bigEndian: big, skip: 0, strict: true)
        }
    }

    /// requests `Response.json()` (outgoing calls): without a declared encoding, RFC 4627
    /// detection (`guess_json_utf`) and a strict decode; otherwise (or when that fails)
    /// `Response.text`: the `charset` parameter, else ISO-8859-1 for `text/*`, else UTF-8
    /// for `application/json`, decoded with replacement. A UTF-8 BOM is then kept and makes
    /// the text not JSON, as in Python. Unknown charsets and requests' `charset_normalizer`
    /// guess (no Content-Type, not UTF) are approximated by UTF-8 with replacement.
    public static func requestsJSONText(_ body: [UInt8], contentType: String?) -> [UInt8] {
        let declared = declaredEncoding(contentType)
        if declared == nil, body.count > 3, let guess = guessJSONUTF(body) {
            let decoded: [UInt8]?
            switch guess {
            case .utf8BOM: decoded = strictUTF8(Array(body.dropFirst(3)))
            case .utf8: decoded = strictUTF8(body)
            case .utf16BOM: decoded = decodeUTF16(body, bigEndian: body.starts(with: [0xFE, 0xFF]), skip: 2, strict: true)
            case .utf16(let big): decoded = decodeUTF16(body, bigEndian: big, skip: 0, strict: true)
            case .utf32BOM: decoded = decodeUTF32(body, bigEndian: body.starts(with: [0, 0, 0xFE, 0xFF]), skip: 4, strict: true)
            case .utf32(let big): decoded = decodeUTF32(body, bigEndian: big, skip: 0, strict: true)
            }
            if let decoded { return decoded }
        }
        switch (declared ?? "utf-8").lowercased() {
        case "iso-8859-1", "latin-1", "latin1", "iso8859-1", "l1", "cp819":
            var out: [UInt8] = []
            out.reserveCapacity(body.count)
            for b in body {
                if b < 0x80 {
                    out.append(b)
                } else {
                    out.append(0xC0 | b >> 6)
                    out.append(0x80 | b & 0x3F)
                }
            }
            return out
        case "utf-16": return decodeUTF16(body, bigEndian: body.starts(with: [0xFE, 0xFF]), skip: body.starts(with: [0xFE, 0xFF]) || body.starts(with: [0xFF, 0xFE]) ? 2 : 0, strict: false)!
        case "utf-16-le", "utf-16le": return decodeUTF16(body, bigEndian: false, skip: 0, strict: false)!
        case "utf-16-be", "utf-16be": return decodeUTF16(body, bigEndian: true, skip: 0, strict: false)!
        default:
            return strictUTF8(body) ?? Array(String(decoding: body, as: UTF8.self).utf8)
        }
    }

    /// When requests' `Response.json()` text (`requestsJSONText`) is the body itself, so a
    /// caller may scan the body without decoding it first.
    public enum RequestsTextIdentity: Sendable, Equatable {
        /// Whenever the body is well-formed UTF-8 (the strict UTF-8 decode gives it back).
        case whenValidUTF8
        /// Whenever every byte is ASCII (ISO-8859-1 maps each to itself).
        case whenASCII
        /// Not known without decoding (UTF-16 declared, or a UTF-16/32 guess).
        case unknown
    }

    /// Which bodies `requestsJSONText(body, contentType:)` returns unchanged, told from the
    /// Content-Type and the body's first four bytes; its branches in the same order.
    public static func requestsTextIdentity(_ body: [UInt8], contentType: String?) -> RequestsTextIdentity {
        body.withUnsafeBufferPointer { requestsTextIdentity($0, contentType: contentType) }
    }

    /// `requestsTextIdentity` of bytes where they lie (a body the HTTP observer lent).
    public static func requestsTextIdentity(_ body: UnsafeBufferPointer<UInt8>, contentType: String?) -> RequestsTextIdentity {
        guard let declared = declaredEncoding(contentType) else {
            // `guess_json_utf` for a body of more than 3 bytes: its usual first bytes (no BOM
            // can start with them, no NUL) guess UTF-8 without the sample it builds.
            guard body.count > 3 else { return .whenValidUTF8 }
            let usual = body[1] != 0 && body[2] != 0 && body[3] != 0
            switch body[0] {
            case 0x00, 0xEF, 0xFE, 0xFF: break
            default: if usual { return .whenValidUTF8 }
            }
            // UTF-8 or no guess: the strict decode, else the `utf-8` branch below; a BOM or
            // a UTF-16/32 guess decodes.
            // (`guess_json_utf` reads the first four bytes.)
            switch guessJSONUTF(Array(body.prefix(4))) {
            case .utf8?, nil: return .whenValidUTF8
            default: return .unknown
            }
        }
        // The application/json usual case, without lower-casing.
        if declared == "utf-8" { return .whenValidUTF8 }
        switch declared.lowercased() {
        case "iso-8859-1", "latin-1", "latin1", "iso8859-1", "l1", "cp819": return .whenASCII
        case "utf-16", "utf-16-le", "utf-16le", "utf-16-be", "utf-16be": return .unknown
        default: return .whenValidUTF8
        }
    }

    enum Detected: Equatable { case utf8, utf8BOM, utf16BOM, utf16(bigEndian: Bool), utf32BOM, utf32(bigEndian: Bool) }

    /// `detectEncoding` of bytes where they lie: it reads only the first four and whether there are
    /// 2, or at least 4.
    static func detectEncoding(_ b: UnsafeBufferPointer<UInt8>) -> Detected {
        if b.count >= 2, b[1] != 0 {
            switch b[0] {
            case 0x00, 0xEF, 0xFE, 0xFF: break
            default: return .utf8
            }
        }
        return detectEncoding(Array(b.prefix(4)))
    }

    /// CPython `json.detect_encoding`.
    static func detectEncoding(_ b: [UInt8]) -> Detected {
        // The usual body (`{`, `[`, a digit …): no BOM can start with its first byte and no NUL
        // in its first two bytes, so it is UTF-8 without the prefix tests below.
        if b.count >= 2, b[1] != 0 {
            switch b[0] {
            case 0x00, 0xEF, 0xFE, 0xFF: break
            default: return .utf8
            }
        }
        if b.starts(with: [0xFF, 0xFE, 0, 0]) || b.starts(with: [0, 0, 0xFE, 0xFF]) { return .utf32BOM }
        if b.starts(with: [0xFF, 0xFE]) || b.starts(with: [0xFE, 0xFF]) { return .utf16BOM }
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { return .utf8BOM }
        if b.count >= 4 {
            if b[0] == 0 { return b[1] != 0 ? .utf16(bigEndian: true) : .utf32(bigEndian: true) }
            if b[1] == 0 { return b[2] != 0 || b[3] != 0 ? .utf16(bigEndian: false) : .utf32(bigEndian: false) }
        } else if b.count == 2 {
            if b[0] == 0 { return .utf16(bigEndian: true) }
            if b[1] == 0 { return .utf16(bigEndian: false) }
        }
        return .utf8
    }

    /// requests `utils.guess_json_utf`.
    static func guessJSONUTF(_ data: [UInt8]) -> Detected? {
        let sample = Array(data.prefix(4))
        if sample == [0xFF, 0xFE, 0, 0] || sample == [0, 0, 0xFE, 0xFF] { return .utf32BOM }
        if sample.starts(with: [0xEF, 0xBB, 0xBF]) { return .utf8BOM }
        if sample.starts(with: [0xFF, 0xFE]) || sample.starts(with: [0xFE, 0xFF]) { return .utf16BOM }
        let nulls = sample.filter { $0 == 0 }.count
        if nulls == 0 { return .utf8 }
        if nulls == 2 {
            if sample[0] == 0 && sample[2] == 0 { return .utf16(bigEndian: true) }
            if sample[1] == 0 && sample[3] == 0 { return .utf16(bigEndian: false) }
        }
        if nulls == 3 {
            if sample[0] == 0 && sample[1] == 0 && sample[2] == 0 { return .utf32(bigEndian: true) }
            if sample[1] == 0 && sample[2] == 0 && sample[3] == 0 { return .utf32(bigEndian: false) }
        }
        return nil
    }

    /// requests `get_encoding_from_headers`.
    static func declaredEncoding(_ contentType: String?) -> String? {
        guard let contentType, !contentType.isEmpty else { return nil }
        // The common case, without splitting or lower-casing.
        if contentType == "application/json" { return "utf-8" }
        let parts = contentType.split(separator: ";", omittingEmptySubsequences: false)
        for param in parts.dropFirst() {
            let trimmed = param.trimmingSpaces()
            guard let eq = trimmed.firstIndex(of: "=") else { continue }
            let name = trimmed[..<eq].trimmingSpaces().lowercased()
            if name == "charset" {
                var value = Substring(trimmed[trimmed.index(after: eq)...].trimmingSpaces())
                value = value.drop(while: { $0 == "'" || $0 == "\"" })
                while let last = value.last, last == "'" || last == "\"" { value = value.dropLast() }
                return String(value)
            }
        }
        let mediaType = parts[0].trimmingSpaces().lowercased()
        if mediaType.utf8.containsSequence("text".utf8) { return "ISO-8859-1" }
        if mediaType.utf8.containsSequence("application/json".utf8) { return "utf-8" }
        return nil
    }

    /// `bytes` itself when it is well-formed UTF-8 (no copy), else nil.
    static func strictUTF8(_ bytes: [UInt8]) -> [UInt8]? {
        UTF8Validation.isValid(bytes) ? bytes : nil
    }

    /// `bytes` itself when Python's `utf-8` codec with `errors='surrogatepass'` decodes it (no
    /// copy), else nil. The parser reads a surrogate's three bytes inside a string as U+FFFD each
    /// (`String(decoding:)`), which only a label holding one would show.
    static func surrogatePassUTF8(_ bytes: [UInt8]) -> [UInt8]? {
        UTF8Validation.isValid(bytes, surrogates: true) ? bytes : nil
    }

    static func decodeUTF16(_ bytes: [UInt8], bigEndian: Bool, skip: Int, strict: Bool) -> [UInt8]? {
        var units: [UInt16] = []
        var i = skip
        while i + 1 < bytes.count {
            units.append(bigEndian ? UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]) : UInt16(bytes[i + 1]) << 8 | UInt16(bytes[i]))
            i += 2
        }
        if i < bytes.count && strict { return nil }
        var out: [UInt8] = []
        let hadError = transcode(units.makeIterator(), from: UTF16.self, to: UTF8.self, stoppingOnError: strict) {
            out.append($0)
        }
        // Not strict: errors were replaced (U+FFFD), as requests decodes with `errors="replace"`.
        return hadError && strict ? nil : out
    }

    static func decodeUTF32(_ bytes: [UInt8], bigEndian: Bool, skip: Int, strict: Bool) -> [UInt8]? {
        var units: [UInt32] = []
        var i = skip
        while i + 3 < bytes.count {
            let b = bytes[i..<(i + 4)].map(UInt32.init)
            units.append(bigEndian ? b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3] : b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0])
            i += 4
        }
        if i < bytes.count && strict { return nil }
        var out: [UInt8] = []
        let hadError = transcode(units.makeIterator(), from: UTF32.self, to: UTF8.self, stoppingOnError: strict) {
            out.append($0)
        }
        // Not strict: errors were replaced (U+FFFD), as requests decodes with `errors="replace"`.
        return hadError && strict ? nil : out
    }
}

extension Collection where Element == UInt8 {
    /// Substring search without Foundation (whose `contains` goes through CFString).
    func containsSequence<Needle: Collection>(_ needle: Needle) -> Bool where Needle.Element == UInt8 {
        guard let first = needle.first else { return true }
        var start = startIndex
        while let i = self[start...].firstIndex(of: first) {
            if self[i...].starts(with: needle) { return true }
            start = index(after: i)
        }
        return false
    }
}

extension StringProtocol {
    /// Drops leading and trailing spaces and tabs (no Foundation).
    func trimmingSpaces() -> SubSequence {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return slice
    }
}
