/// The path, query and authority of a request target (RFC 9112 §3.2), decoded as Flask's `request.path` is.

struct RequestTarget: Equatable {
    /// The target exactly as sent (ISO-8859-1), made from its parts for an origin-form target.
    var target: String { Self.target(stored: storedTarget, rawPath: rawPath, query: query) }
    /// The target as sent when it is not origin-form (absolute-form: it has an authority) or has a
    /// fragment, else nil: an origin-form target is its raw path and its query (see
    /// `target(stored:rawPath:query:)`).
    /// Most targets are origin-form and only the metrics read them, which need path and query alone:
    /// where every target differs (an id in the query), making the whole target's String too cost an
    /// allocation and a copy per request.
    var storedTarget: String?
    /// The path as sent, without the query (nor a fragment).
    var rawPath: String
    /// `rawPath` percent-decoded, the bytes then read as UTF-8 with U+FFFD for invalid sequences,
    /// its leading `/`s made one (`flaskPath`).
    var path: String
    /// The raw text after the first `?` up to a `#` (nil when there is none).
    var query: String?
    /// The authority of an absolute-form target (`http://host:port/...`).
    var authority: String?

    /// A placeholder with empty strings (no work, no allocation).
    init(empty: Void) {
        storedTarget = nil
        rawPath = ""
        path = ""
        query = nil
        authority = nil
    }

    init(_ text: String) {
        var bytes = [UInt8]()
        for scalar in text.unicodeScalars { bytes.append(UInt8(truncatingIfNeeded: scalar.value)) }
        self = bytes.withUnsafeBytes { RequestTarget(bytes: $0) }
    }

    /// Splits the target's bytes once; strings are made only for the parts. `paths` gives the path
    /// strings of a target with a query (recent ones reused), when there is such a cache.
    init(bytes: UnsafeRawBufferPointer, paths: SharedParserState? = nil) {
        self.init(empty: ())
        read(bytes, paths: paths)
    }

    /// Splits `bytes` into the fields, which hold what `init(empty:)` or `clear` leaves (empty strings,
    /// nil): stored in place without releasing them (see `EmptySlots.swift`). The owner of a head builds
    /// its target so, where a `RequestTarget` built and then stored was copied, assigned and destroyed
    /// (a retain or release per field each time).
    mutating func read(_ whole: UnsafeRawBufferPointer, paths: SharedParserState?) {
        // A raw `#` starts a fragment, which the reference's server drops with what follows, a `?`
        // too (waitress splits the target with `urlsplit`: `/a#f?x` is the path `/a`, no query).
        // Clients never send one; a target that has one keeps it whole in `storedTarget`.
        // One scan finds the first `?` and the first `#` (see `queryAndFragmentStarts`). A `?` never
        // comes before the path: neither a scheme nor an authority (which ends at the first `/`, `?`
        // or `#`) holds one.
        var bytes = whole
        let (firstQuestionMark, hash) = whole.queryAndFragmentStarts()
        if let hash {
            storedTarget.replaceNil(with: whole.latin1String())
            bytes = UnsafeRawBufferPointer(rebasing: whole[..<hash])
        }
        var pathStart = 0
        // absolute-form (RFC 9112 §3.2.2): scheme "://" authority path-abempty [ "?" query ]
        if bytes.first != 0x2F, let schemeEnd = Self.schemeEnd(bytes) {
            // The parts of an ASCII target are ASCII: checked once for them all.
            let isASCII = bytes.isASCII
            let authorityStart = schemeEnd + 3
            var authorityEnd = authorityStart
            while authorityEnd < bytes.count, bytes[authorityEnd] != 0x2F, bytes[authorityEnd] != 0x3F, bytes[authorityEnd] != 0x23 {
                authorityEnd += 1
            }
            let authorityBytes = UnsafeRawBufferPointer(rebasing: bytes[authorityStart..<authorityEnd])
            authority.replaceNil(with: isASCII ? authorityBytes.asciiString() : authorityBytes.latin1String())
            if case .none = storedTarget { storedTarget.replaceNil(with: isASCII ? bytes.asciiString() : bytes.latin1String()) }
            pathStart = authorityEnd
        }
        // (16 bytes at a time in line: a target is a few dozen bytes, where a call to memchr costs more.)
        let questionMark = firstQuestionMark
        let pathEnd = questionMark ?? bytes.count
        // An origin-form target's parts are checked for ASCII where their strings are made (the path's
        // in `pathStrings`): a check of the whole target read the path's bytes twice.
        if let questionMark {
            let queryBytes = UnsafeRawBufferPointer(rebasing: bytes[(questionMark + 1)...])
            query.replaceNil(with: queryBytes.isASCII ? queryBytes.asciiString() : queryBytes.latin1String())
        }
        let pathBytes = UnsafeRawBufferPointer(rebasing: bytes[pathStart..<pathEnd])
        if pathStart == 0 && questionMark == nil {
            rawPath.replaceEmpty(with: bytes.isASCII ? bytes.asciiString() : bytes.latin1String())
        } else if pathStart != 0 && pathBytes.isEmpty {
            // An absolute-form target with an empty path (its authority is set).
            rawPath.replaceEmpty(with: "/")
        } else {
            let strings = paths?.pathStrings(pathBytes) ?? Self.pathStrings(pathBytes)
            rawPath.replaceEmpty(with: strings.raw)
            let decoded = strings.decoded
            path.replaceEmpty(with: Self.isFlaskPath(raw: pathBytes) ? decoded : Self.flaskPath(decoded))
            return
        }
        let decoded = Self.percentDecoded(pathBytes) ?? rawPath
        path.replaceEmpty(with: Self.isFlaskPath(raw: pathBytes) ? decoded : Self.flaskPath(decoded))
    }

    /// Whether the path `raw` decodes to is its own `flaskPath`: it begins with one `/` followed by
    /// neither `/` nor `%` (which may decode to one). Read on the raw bytes, where looking at the
    /// decoded String's first bytes cost about 80 instructions an exchange with its retain.
    @inline(__always)
    static func isFlaskPath(raw: UnsafeRawBufferPointer) -> Bool {
        guard raw.count >= 1, raw[0] == 0x2F else { return false }
        return raw.count == 1 || (raw[1] != 0x2F && raw[1] != 0x25)
    }

    /// Werkzeug's `request.path`: `"/" + path.lstrip("/")` of the decoded path, so `//api/x`,
    /// `/%2Fapi/x` and `api/x` are `/api/x` to the reference (and `//healthcheck` is skipped);
    /// clients that join a base URL ending in `/` with a path starting with one send `//`.
    /// The usual path (one `/`, then anything else) is returned as it is.
    @inline(__always)
    static func flaskPath(_ decoded: String) -> String {
        let utf8 = decoded.utf8
        var i = utf8.startIndex
        if i != utf8.endIndex && utf8[i] == 0x2F {
            let next = utf8.index(after: i)
            if next == utf8.endIndex || utf8[next] != 0x2F { return decoded }
        }
        while i != utf8.endIndex && utf8[i] == 0x2F { i = utf8.index(after: i) }
        return "/" + String(Substring(utf8[i...]))
    }

    /// Makes every field empty as `init(empty:)` does, releasing only those that hold something (after
    /// the owner swapped the strings out, they hold the empty ones swapped in).
    mutating func clear() {
        if case .some = storedTarget { storedTarget = nil }
        if !String.sameBits(rawPath, "") { rawPath = "" }
        if !String.sameBits(path, "") { path = "" }
        if case .some = query { query = nil }
        if case .some = authority { authority = nil }
    }

    /// The whole target: `stored` when there is one (absolute-form), else the raw path, then `?` and
    /// the query when there is one. Byte for byte the target as sent: each part is its bytes read as
    /// ISO-8859-1, and the path of an origin-form target ends at the first `?`.
    static func target(stored: String?, rawPath: String, query: String?) -> String {
        if let stored { return stored }
        guard let query else { return rawPath }
        // The UTF-8 of the parts laid side by side (on the stack), then one String made of it:
        // `rawPath + "?" + query` made an intermediate string and grew it again.
        let pathCount = rawPath.utf8.count
        let count = pathCount &+ 1 &+ query.utf8.count
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { buffer in
            _ = buffer.initialize(fromContentsOf: rawPath.utf8)
            buffer[pathCount] = 0x3F
            _ = UnsafeMutableBufferPointer(rebasing: buffer[(pathCount &+ 1)...]).initialize(fromContentsOf: query.utf8)
            return String(decoding: UnsafeBufferPointer(buffer), as: UTF8.self)
        }
    }

    /// The raw path `bytes` as ISO-8859-1, and percent-decoded (the same string when there is nothing
    /// to decode).
    static func pathStrings(_ bytes: UnsafeRawBufferPointer) -> (raw: String, decoded: String) {
        let raw = bytes.latin1String()
        return (raw, percentDecoded(bytes) ?? raw)
    }

    /// The index of `://` after a scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`), if the target starts with one.
    private static func schemeEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        while i < bytes.count && i < 16 {
            let b = bytes[i]
            let isAlpha = (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A
            if isAlpha || (i > 0 && ((b >= 0x30 && b <= 0x39) || b == 0x2B || b == 0x2D || b == 0x2E)) {
                i += 1
                continue
            }
            break
        }
        guard i > 0, i + 2 < bytes.count, bytes[i] == 0x3A, bytes[i + 1] == 0x2F, bytes[i + 2] == 0x2F else { return nil }
        return i
    }

    /// `%XX` escapes decoded (malformed escapes kept as they are, like werkzeug), then UTF-8 with
    /// replacement; nil when there is nothing to decode (no `%`, all ASCII): the path is the raw path.
    static func percentDecoded(_ bytes: UnsafeRawBufferPointer) -> String? {
        var needsWork = false
        for b in bytes where b == 0x25 || b >= 0x80 {
            needsWork = true
            break
        }
        if !needsWork { return nil }
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
