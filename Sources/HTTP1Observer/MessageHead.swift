/// One parsed HTTP/1.1 message head (RFC 9112 §2-§5): start line and the header fields the observer needs.

/// What a head says about the body length (RFC 9112 §6.3).
enum ContentLengthField: Equatable {
    case absent
    case valid(Int)
    /// Not 1*DIGIT (negative, signed, empty, too large): Zeek http/261 style.
    case invalid
    /// Several values that differ.
    case conflicting
}

enum TransferEncodingField: Equatable {
    case absent
    /// The final coding is `chunked`.
    case chunked
    /// Present, but the final coding is not `chunked`.
    case other
}

/// The start line and the header fields one message head carries, read in one pass.
struct MessageHead {
    var isRequest: Bool
    var method = ""
    /// The request target (requests only), when it is not in the cache's slot `cachedTargetSlot`; else
    /// (and when a request line has none) empty strings. Not optional: built in place, its fields are
    /// swapped into the request one by one (see `RequestTarget.read`).
    var target = RequestTarget(empty: ())
    /// `target` may hold strings (it was built, and not all its strings were swapped out for empty ones):
    /// `reset` clears it only then (most heads have a cached target, or none).
    var targetMayOwnStrings = false
    /// The slot of the shared state's target cache that holds the request target (-1: none, see `target`).
    var cachedTargetSlot = -1
    var version = ""
    var status = 0
    var host: String?
    var userAgent: String?
    var methodCode: String?
    var tCode: String?
    var contentType: String?
    var contentEncoding: String?
    var contentLength = ContentLengthField.absent
    var transferEncoding = TransferEncodingField.absent
    var expectsContinue = false
    var hasUpgradeHeader = false
    /// A response's `Upgrade` names `h2c` (RFC 7540 §3.2): after its 101 the request is answered in HTTP/2.
    var upgradesToHTTP2 = false
    /// Tolerated oddities met in this head (obs-fold, bare LF, bad field lines).
    var anomalies: [HTTPParseAnomaly] = []
    /// A `User-Agent`, `Method-Code` or `T-Code` field came again after the kept one: a complete
    /// head then joins the repeats of the kept name (see `MessageHead+RepeatedFields.swift`).
    var repeatsLooseField = false

    /// `method == "HEAD"` / `"CONNECT"`, decided once from the bytes (a string comparison each time
    /// the observer asked cost a call).
    var methodIsHead = false
    var methodIsConnect = false

    var isHead: Bool { isRequest && methodIsHead }
    var isConnect: Bool { isRequest && methodIsConnect }

    init(isRequest: Bool) { self.isRequest = isRequest }

    /// The request target, wherever it is kept.
    func requestTarget(in cache: SharedParserState) -> RequestTarget {
        cachedTargetSlot >= 0 ? cache.cachedRequestTarget(cachedTargetSlot) : target
    }

    /// Makes the head as `init(isRequest:)` does, in place. The observer moved the strings out of the
    /// previous head (they are nil) and method / version are literals: only what is left is released,
    /// where assigning a new head destroyed every field (a release call each).
    mutating func reset(isRequest: Bool) {
        self.isRequest = isRequest
        // Compared by bits with the empty literal (two words) where `isEmpty` decoded the count.
        if !String.sameBits(method, "") { method = "" }
        if targetMayOwnStrings {
            target.clear()
            targetMayOwnStrings = false
        }
        cachedTargetSlot = -1
        // A response's version is one of these literals (small strings, no storage): not released.
        if !String.sameBits(version, "") { version.replaceEmpty(with: "", orSmallLiterals: ("HTTP/1.1", "HTTP/1.0")) }
        status = 0
        methodIsHead = false
        methodIsConnect = false
        if case .some = host { host = nil }
        if case .some = userAgent { userAgent = nil }
        if case .some = methodCode { methodCode = nil }
        if case .some = tCode { tCode = nil }
        if case .some = contentType { contentType = nil }
        if case .some = contentEncoding { contentEncoding = nil }
        contentLength = .absent
        transferEncoding = .absent
        expectsContinue = false
        hasUpgradeHeader = false
        repeatsLooseField = false
        upgradesToHTTP2 = false
        if !anomalies.isEmpty { anomalies.removeAll(keepingCapacity: true) }
    }
}

extension MessageHead {
    enum ParseOutcome: Equatable {
        /// The head ends with the LF at `end - 1`.
        case complete(end: Int)
        case tooManyHeaders
        /// No empty line in `bytes`: the head goes on past them.
        case incomplete
    }

    /// Parses a head into `head` (reused: no head is built or copied per message): `bytes` runs
    /// from the start line's first byte, through the LF of the empty line when the head is
    /// complete (bytes after it are not read). The start line was already checked by
    /// `StartLineScanner`, so its shape is known to be right.
    /// `startLineLF`: the index of the start line's LF in `bytes` when the caller knows it.
    static func parse(
        _ bytes: UnsafeRawBufferPointer, isRequest: Bool, maxHeaderCount: Int, cache: SharedParserState,
        into head: inout MessageHead, startLineLF: Int? = nil
    ) -> ParseOutcome {
        if cache.usesCommonHeadPath,
            let outcome = parseCommon(
                bytes, isRequest: isRequest, maxHeaderCount: maxHeaderCount, cache: cache, into: &head,
                startLineLF: startLineLF)
        {
            return outcome
        }
        return parseGeneral(bytes, isRequest: isRequest, maxHeaderCount: maxHeaderCount, cache: cache, into: &head)
    }

    /// `parse` line by line for every head: obs-fold, field lines that are not fields, heads that do not end here.
    static func parseGeneral(
        _ bytes: UnsafeRawBufferPointer, isRequest: Bool, maxHeaderCount: Int, cache: SharedParserState,
        into head: inout MessageHead
    ) -> ParseOutcome {
        head.reset(isRequest: isRequest)
        var sawBareLF = false
        var sawFold = false
        var lineStart = 0
        var isStartLine = true
        var fieldLines = 0
        var sawEnd = false
        // The field whose value may still be continued by obs-fold lines.
        var pendingField: KnownField?
        var pendingValue: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
        // Its value as it stands after the colon, blanks and all (what obs-fold lines are appended to).
        var pendingRaw: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
        var foldedValue: [UInt8]?

        func finishPending(_ head: inout MessageHead) {
            guard let field = pendingField else { return }
            if let folded = foldedValue {
                folded.withUnsafeBytes { head.apply(field, value: $0.trimmingOWS(), cache: cache) }
            } else {
                head.apply(field, value: pendingValue, cache: cache)
            }
            pendingField = nil
            foldedValue = nil
        }

        while lineStart < bytes.count {
            guard let lf = bytes.firstIndexNearby(of: 0x0A, from: lineStart) else { break }
            var lineEnd = lf
            if lineEnd > lineStart && bytes[lineEnd - 1] == 0x0D {
                lineEnd -= 1
            } else {
                sawBareLF = true
            }
            let line = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<lineEnd])
            lineStart = lf + 1
            if isStartLine {
                isStartLine = false
                head.parseStartLine(line, cache: cache)
                continue
            }
            if line.isEmpty {
                sawEnd = true
                break
            }
            fieldLines += 1
            if fieldLines > maxHeaderCount { return .tooManyHeaders }
            let first = line[0]
            if first == 0x20 || first == 0x09 {
                // obs-fold (RFC 9112 §5.2): the line continues the previous field value. It is appended
                // as it is, its leading blanks kept (only the CRLF goes), and the whole value trimmed:
                // what waitress, the reference's server in captures/parity, makes of it (scenario
                // `edges`: `fold-a` + `   fold-b` is `fold-a   fold-b`), as do Werkzeug's own server
                // and gunicorn before 22; RFC 9112 allows one or more SP in its place.
                sawFold = true
                guard pendingField != nil else { continue }
                if foldedValue == nil { foldedValue = Array(pendingRaw) }
                foldedValue!.append(contentsOf: line)
                continue
            }
            finishPending(&head)
            guard let colon = line.firstIndexNearby(of: 0x3A, from: 0), colon > 0 else {
                head.anomalies.append(.badHeaderLine)
                continue
            }
            let lastNameByte = line[colon - 1]
            if lastNameByte == 0x20 || lastNameByte == 0x09 {
                // RFC 9112 §5.1: no whitespace between name and colon; such a line is not a field.
                head.anomalies.append(.badHeaderLine)
                continue
            }
            let name = UnsafeRawBufferPointer(rebasing: line[0..<colon])
            guard let field = KnownField.classify(name) else { continue }
            pendingField = field
            pendingRaw = UnsafeRawBufferPointer(rebasing: line[(colon + 1)...])
            pendingValue = pendingRaw.trimmingOWS()
        }
        finishPending(&head)
        if sawFold { head.anomalies.append(.obsFold) }
        if sawBareLF { head.anomalies.append(.bareLF) }
        if sawEnd && head.repeatsLooseField {
            head.joinRepeatedLooseFields(UnsafeRawBufferPointer(rebasing: bytes[0..<lineStart]), cache: cache)
        }
        return sawEnd ? .complete(end: lineStart) : .incomplete
    }

    private mutating func parseStartLine(_ line: UnsafeRawBufferPointer, cache: SharedParserState) {
        if isRequest {
            // METHOD SP target SP HTTP/1.D
            let firstSpace = line.firstIndexNearby(of: 0x20, from: 0) ?? line.count
            let lastSpace = line.lastIndex(of: 0x20) ?? line.count
            let methodBytes = UnsafeRawBufferPointer(rebasing: line[0..<firstSpace])
            method = Self.methodName(methodBytes)
            // Exactly when `methodName` gives the "HEAD" literal, and when the bytes are "CONNECT" (the only
            // bytes whose decoded string is "CONNECT").
            methodIsHead = Self.isHEAD(methodBytes)
            methodIsConnect = methodBytes.isCONNECT
            if firstSpace < lastSpace {
                target = cache.requestTarget(UnsafeRawBufferPointer(rebasing: line[(firstSpace + 1)..<lastSpace]))
                targetMayOwnStrings = true
                version = Self.versionName(UnsafeRawBufferPointer(rebasing: line[(lastSpace + 1)...]))
            }
        } else {
            // HTTP/1.D SP 3DIGIT [SP reason]
            version = Self.versionName(UnsafeRawBufferPointer(rebasing: line[0..<min(8, line.count)]))
            var code = 0
            if line.count >= 12 {
                for i in 9..<12 { code = code * 10 + Int(line[i] &- 0x30) }
            }
            status = code
        }
    }

    /// Common methods as literals (no string building per request).
    /// The literals for the first byte in upper case and the others in either (`equalsIgnoringCase` with
    /// the lower-case name, and the first byte exactly), compared as one word: the bytes little-endian,
    /// with the case bit (0x20) set in all but the first.
    static func methodName(_ bytes: UnsafeRawBufferPointer) -> String {
        switch bytes.count {
        case 3:
            let word = (UInt32(UInt16(littleEndian: bytes.loadUnaligned(as: UInt16.self))) | UInt32(bytes[2]) << 16) | 0x20_2000
            if word == 0x74_6547 /* Get */ { return "GET" }
            if word == 0x74_7550 /* Put */ { return "PUT" }
        case 4:
            let word = UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)) | 0x2020_2000
            if word == 0x7473_6F50 /* Post */ { return "POST" }
            if word == isHEADWord { return "HEAD" }
        default: break
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `HEAD` as `methodName` tells it (see `isHEAD`).
    private static var isHEADWord: UInt32 { 0x6461_6548 /* Head */ }

    /// `methodName` gives the "HEAD" literal for `bytes`.
    @inline(__always)
    static func isHEAD(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count == 4 && UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)) | 0x2020_2000 == isHEADWord
    }

    private static func versionName(_ bytes: UnsafeRawBufferPointer) -> String {
        if bytes.count == 8 && bytes[7] == 0x31 && bytes[6] == 0x2E { return "HTTP/1.1" }
        if bytes.count == 8 && bytes[7] == 0x30 && bytes[6] == 0x2E { return "HTTP/1.0" }
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func apply(_ field: KnownField, value: UnsafeRawBufferPointer, cache: SharedParserState) {
        // The first field of a name is kept (a repeat of the same name is joined later, see
        // `repeatsLooseField`). Stored over nil without releasing it (see `EmptySlots.swift`):
        // an assignment released the nil through a runtime call.
        switch field {
        case .host: if case .none = host { host.replaceNil(with: cache.string(value, slot: .host)) }
        case .userAgent:
            if case .none = userAgent { userAgent.replaceNil(with: cache.string(value, slot: .userAgent)) } else { repeatsLooseField = true }
        case .methodCode:
            if case .none = methodCode { methodCode.replaceNil(with: cache.string(value, slot: .methodCode)) } else { repeatsLooseField = true }
        case .tCode: if case .none = tCode { tCode.replaceNil(with: cache.string(value, slot: .tCode)) } else { repeatsLooseField = true }
        case .contentType:
            if case .none = contentType {
                contentType.replaceNil(with: cache.string(value, slot: isRequest ? .requestContentType : .responseContentType))
            }
        case .contentEncoding:
            if case .none = contentEncoding {
                contentEncoding.replaceNil(with: cache.string(value, slot: .contentEncoding))
            }
        case .expect: if value.equalsIgnoringCase("100-continue") { expectsContinue = true }
        case .upgrade:
            hasUpgradeHeader = true
            if !isRequest && Self.listsH2C(value) { upgradesToHTTP2 = true }
        case .contentLength: mergeContentLength(value)
        case .transferEncoding:
            // The last field's final coding decides (RFC 9112 §6.1: chunked must be the final coding).
            var lastToken = value
            if let comma = value.lastIndex(of: 0x2C) {
                lastToken = UnsafeRawBufferPointer(rebasing: value[(comma + 1)...]).trimmingOWS()
            }
            transferEncoding = lastToken.equalsIgnoringCase("chunked") ? .chunked : .other
        }
    }

    /// An `Upgrade` list (RFC 9110 §7.8: protocol names, comma-separated) with the token `h2c`.
    private static func listsH2C(_ value: UnsafeRawBufferPointer) -> Bool {
        var start = 0
        while start <= value.count {
            let end = value[start...].firstIndex(of: 0x2C) ?? value.count
            if UnsafeRawBufferPointer(rebasing: value[start..<end]).trimmingOWS().equalsIgnoringCase("h2c") { return true }
            start = end + 1
        }
        return false
    }

    /// RFC 9112 §6.3 item 5: a list of identical values is that value; differing values conflict;
    /// anything but 1*DIGIT is invalid.
    private mutating func mergeContentLength(_ value: UnsafeRawBufferPointer) {
        if contentLength == .invalid { return }
        // The common value, one number: read at once (the list loop below gives the same for it).
        if !value.isEmpty && value.count <= 18 {
            // At most 18 digits: below 10^18, no overflow to check.
            var length = 0
            var digitsOnly = true
            for b in value {
                let digit = b &- 0x30
                guard digit < 10 else {
                    digitsOnly = false
                    break
                }
                length = length &* 10 &+ Int(digit)
            }
            if digitsOnly {
                switch contentLength {
                case .absent: contentLength = .valid(length)
                case .valid(let previous) where previous != length: contentLength = .conflicting
                default: break
                }
                return
            }
        }
        var start = 0
        while start <= value.count {
            let comma = value.firstIndex(of: 0x2C, from: start) ?? value.count
            let element = UnsafeRawBufferPointer(rebasing: value[start..<comma]).trimmingOWS()
            start = comma + 1
            guard !element.isEmpty, element.count <= 18 else { contentLength = .invalid; return }
            var length = 0
            for b in element {
                guard b >= 0x30 && b <= 0x39 else { contentLength = .invalid; return }
                length = length * 10 + Int(b - 0x30)
            }
            switch contentLength {
            case .absent: contentLength = .valid(length)
            case .valid(let previous) where previous != length: contentLength = .conflicting
            default: break
            }
        }
    }
}
