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
