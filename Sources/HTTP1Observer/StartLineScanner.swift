/// Incremental plausibility check of an HTTP/1.x start line (RFC 9112 §3 request-line, §4 status-line).

/// Which start lines a direction accepts.
enum StartLineKind: UInt8 {
    case request
    case response
    /// Roles not known yet (the reassembler only guessed them): either kind.
    case either
}

/// Checks a start line one byte at a time, so garbage and body bytes met while
/// resynchronising are rejected at their first implausible byte instead of
/// being buffered up to the head limit.
///
/// Accepted shapes: `METHOD SP target SP HTTP/1.D [CR] LF` with METHOD of
/// A-Z, `-`, `_` (at most 24 bytes) and a target of visible bytes; and
/// `HTTP/1.D SP 3DIGIT (SP reason | [CR]) LF`.
struct StartLineScanner {
    enum Step: Equatable {
        case more
        case rejected
        case accepted(isRequest: Bool)
    }

    private enum Phase: UInt8 {
        /// Method, or the `HTTP/1.` of a status line (both may still match).
        case leading
        case target
        case requestVersion
        case requestLineEnd
        case statusVersionDigit
        case statusSpace
        case statusCode
        case reason
        case lineEndLF
    }

    private static let maxMethodLength = 24

    private var phase = Phase.leading
    private var matched: UInt8 = 0
    private var methodPossible = true
    private var statusPossible = true
    private var digits: UInt8 = 0
    private var isRequest = false
    let kind: StartLineKind

    init(kind: StartLineKind) {
        self.kind = kind
        methodPossible = kind != .response
        statusPossible = kind != .request
    }

    /// Byte `i` of `HTTP/1.`.
    @inline(__always)
    private static func versionByte(_ i: UInt8) -> UInt8 {
        // "HTTP/1." little-endian in one word: H T T P / 1 .
        UInt8(truncatingIfNeeded: (0x2E_31_2F_50_54_54_48 as UInt64) >> (UInt64(i) &* 8))
    }

    @inline(__always)
    private static func isMethodByte(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || b == 0x2D || b == 0x5F
    }

    @inline(__always)
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// The same check over a whole line (without its LF; a final CR is allowed), for the common case of
    /// a start line inside one delivery: nil when rejected, else whether it is a request line.
    /// Accepts exactly the lines `step` accepts. Always inlined into `nextEvent`, its one caller on
    /// the per-message path: out of line, +17 M instructions on keepalive.pcap (session 19).
    @inline(__always)
    static func classifyWholeLine(_ line: UnsafeRawBufferPointer, kind: StartLineKind) -> Bool? {
        var count = line.count
        if count > 0 && line[count - 1] == 0x0D { count -= 1 }
        // The shortest lines, `A / HTTP/1.1` and `HTTP/1.1 200`, have 12 bytes.
        guard count >= 12 else { return nil }
        if kind != .request && isStatusLine(line, count) { return false }
        if kind != .response { return requestLine(line, count) }
        return nil
    }

    private static func isStatusLine(_ line: UnsafeRawBufferPointer, _ count: Int) -> Bool {
        // `HTTP/1.` in one word (the line has at least 12 bytes).
        let version = UInt64(littleEndian: line.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard version & 0x00FF_FFFF_FFFF_FFFF == 0x002E_312F_5054_5448 else { return false }
        guard isDigit(line[7]), line[8] == 0x20, isDigit(line[9]), isDigit(line[10]), isDigit(line[11]) else { return false }
        if count == 12 { return true }
        guard line[12] == 0x20 else { return false }
        // The reason phrase, eight bytes at a time, the last eight overlapping the others (or the status
        // code, whose bytes pass): only a word with a control byte or DEL goes to the byte loop, which
        // allows HTAB.
        var i = 13
        if count >= 16 {
            while i &+ 8 < count {
                let word = UInt64(littleEndian: line.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                if targetEndLanes(word) & ~spaceLanes(word) != 0 { break }
                i &+= 8
            }
            if i &+ 8 >= count {
                let last = UInt64(littleEndian: line.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self))
                if targetEndLanes(last) & ~spaceLanes(last) == 0 { return true }
            }
        }
        while i < count {
            let b = line[i]
            if (b < 0x20 && b != 0x09) || b == 0x7F { return false }
            i &+= 1
        }
        return true
    }

    /// The high bit of each lane of `word` that is SP exactly (no borrow: `targetEndLanes` flags SP too,
    /// and a lane flagged by it and by this is a space, not a control byte).
    @inline(__always)
    private static func spaceLanes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let x = word ^ (ones &* 0x20)
        // Exact zero-byte test: a lane's high bit is set when the lane is zero, with no carry between lanes.
        return ~(((x & ~highs) &+ ~highs) | x) & highs
    }

    /// `METHOD SP target SP HTTP/1.D` over `line[0..<count]`; true when it is one.
    private static func requestLine(_ line: UnsafeRawBufferPointer, _ count: Int) -> Bool? {
        // A method of up to 7 bytes ends inside the first 8 (the line has at least 12): where its first
        // byte that is no method byte is, read at once; longer methods byte by byte.
        var i = methodEnd(UInt64(littleEndian: line.loadUnaligned(as: UInt64.self)))
        if i == 8 {
            while i < count && i <= maxMethodLength && isMethodByte(line[i]) { i += 1 }
        }
        guard i > 0, i <= maxMethodLength, i < count, line[i] == 0x20 else { return nil }
        i += 1
        let targetStart = i
        // Eight bytes at a time while none of them can end or break the target (a byte below 0x21,
        // or DEL); the byte loop below then decides exactly, from the first such byte (the lowest
        // flagged lane is exact: a borrow only flags lanes above a flagged one).
        while i + 8 <= count {
            let lanes = targetEndLanes(UInt64(littleEndian: line.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            if lanes != 0 {
                i += lanes.trailingZeroBitCount >> 3
                break
            }
            i += 8
        }
        while i < count {
            let b = line[i]
            if b == 0x20 { break }
            if b < 0x20 || b == 0x7F { return nil }
            i += 1
        }
        guard i > targetStart, count - i == 9 else { return nil }
        // `HTTP/1.` in one word (the 8 bytes after the space are in the line: `count - i == 9`).
        let version = UInt64(littleEndian: line.loadUnaligned(fromByteOffset: i + 1, as: UInt64.self))
        guard version & 0x00FF_FFFF_FFFF_FFFF == 0x002E_312F_5054_5448 else { return nil }
        return isDigit(line[i + 8]) ? true : nil
    }

    /// The index of the first byte of `word` (read little-endian) that is not a method byte (A-Z, `-`,
    /// `_`), 8 when all are. Every lane is tested exactly (no carry or borrow crosses a lane).
    @inline(__always)
    static func methodEnd(_ word: UInt64) -> Int {
        let highs: UInt64 = 0x8080_8080_8080_8080
        let lows = ~highs
        let ones: UInt64 = 0x0101_0101_0101_0101
        // Per lane, the low seven bits plus a constant sets the high bit exactly when they are at least
        // 0x80 minus that constant (at most 0x7F + 0x7F: no carry out of the lane).
        let seven = word & lows
        let atLeastA = (seven &+ ones &* (0x80 - 0x41)) & highs
        let aboveZ = (seven &+ ones &* (0x80 - 0x5B)) & highs
        let upper = atLeastA & ~aboveZ & ~word
        @inline(__always) func equal(_ byte: UInt64) -> UInt64 {
            let x = word ^ (ones &* byte)
            return ~(((x & lows) &+ lows) | x) & highs
        }
        let notMethod = ~(upper | equal(0x2D) | equal(0x5F)) & highs
        return notMethod.trailingZeroBitCount &>> 3
    }

    /// True when one of the 8 bytes of `word` may be SP, a control byte or DEL: no false negatives
    /// (bytes at or above 0x80 are never flagged, like in the byte loop; a borrow may flag more).
    @inline(__always)
    static func mayEndTarget(_ word: UInt64) -> Bool { targetEndLanes(word) != 0 }

    /// The high bit of each lane of `word` (read little-endian) flagged by `mayEndTarget`; the lowest
    /// flagged lane is the first byte below 0x21 or DEL exactly (lanes above it may be flagged by a borrow).
    @inline(__always)
    static func targetEndLanes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let below0x21 = (word &- ones &* 0x21) & ~word & highs
        let del = word ^ (ones &* 0x7F)
        let isDEL = (del &- ones) & ~del & highs
        return below0x21 | isDEL
    }

    /// True while the scanner reads the line's first token: a method, or a status line's `HTTP/1.`.
    var isInFirstToken: Bool { phase == .leading }

    /// True while the scanner reads a request target, which `skipTarget` can consume in bulk.
    var isInTarget: Bool { phase == .target }

    /// Consumes request-target bytes from `bytes[index...]` up to (not including) the SP after the
    /// target or the first byte that cannot be part of it; returns the new index.
    mutating func skipTarget(_ bytes: UnsafeRawBufferPointer, from index: Int) -> Int {
        var i = index
        while i < bytes.count {
            let b = bytes[i]
            if b <= 0x20 || b == 0x7F { break }
            i += 1
        }
        if i > index { digits = 1 }
        return i
    }

    /// Feeds one byte of the line.
    mutating func step(_ b: UInt8) -> Step {
        switch phase {
        case .leading:
            if statusPossible {
                if b == Self.versionByte(matched) {
                    matched += 1
                    if matched == 7 {
                        phase = .statusVersionDigit
                        return .more
                    }
                } else {
                    statusPossible = false
                }
            }
            if methodPossible {
                if b == 0x20 {
                    if digits == 0 { return .rejected }
                    phase = .target
                    digits = 0
                    return .more
                }
                if Self.isMethodByte(b) && digits < Self.maxMethodLength {
                    digits += 1
                } else {
                    methodPossible = false
                }
            }
            return methodPossible || statusPossible ? .more : .rejected
        case .target:
            if b == 0x20 {
                if digits == 0 { return .rejected }
                phase = .requestVersion
                matched = 0
                return .more
            }
            if b <= 0x20 || b == 0x7F { return .rejected }
            digits = 1
            return .more
        case .requestVersion:
            if matched < 7 {
                guard b == Self.versionByte(matched) else { return .rejected }
                matched += 1
                return .more
            }
            guard Self.isDigit(b) else { return .rejected }
            phase = .requestLineEnd
            return .more
        case .requestLineEnd:
            if b == 0x0D { phase = .lineEndLF; isRequest = true; return .more }
            if b == 0x0A { return .accepted(isRequest: true) }
            return .rejected
        case .statusVersionDigit:
            guard Self.isDigit(b) else { return .rejected }
            phase = .statusSpace
            return .more
        case .statusSpace:
            guard b == 0x20 else { return .rejected }
            phase = .statusCode
            digits = 0
            return .more
        case .statusCode:
            if digits < 3 {
                guard Self.isDigit(b) else { return .rejected }
                digits += 1
                return .more
            }
            if b == 0x20 { phase = .reason; return .more }
            if b == 0x0D { phase = .lineEndLF; isRequest = false; return .more }
            if b == 0x0A { return .accepted(isRequest: false) }
            return .rejected
        case .reason:
            if b == 0x0A { return .accepted(isRequest: false) }
            if b == 0x0D { phase = .lineEndLF; isRequest = false; return .more }
            // Reason phrases are HTAB / SP / VCHAR / obs-text; other controls mean this is not a status line.
            if (b < 0x20 && b != 0x09) || b == 0x7F { return .rejected }
            return .more
        case .lineEndLF:
            return b == 0x0A ? .accepted(isRequest: isRequest) : .rejected
        }
    }
}
