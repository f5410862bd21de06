/// The head parser's path for common heads (RFC 9112 §2-§5 with no obs-fold and no malformed field line), 16 bytes at a time.

extension MessageHead {
    /// `parse` for a head whose every line is a plausible start line or a well-formed field line, and
    /// which ends inside `bytes`: the same head and outcome as `parseGeneral`, in one pass that finds each
    /// line's colon and end 16 bytes at a time (the general path scans each line twice, 8 bytes at a
    /// time). Nil for anything else (obs-fold, a line that is not a field, too many lines, a start line
    /// of an unusual shape, no end): the caller then parses the head with the general path, from the
    /// start, so that such heads are read exactly as they always were.
    ///
    /// `startLineLF`: the start line's LF when the caller found it already (not looked for again).
    static func parseCommon(
        _ bytes: UnsafeRawBufferPointer, isRequest: Bool, maxHeaderCount: Int, cache: SharedParserState,
        into head: inout MessageHead, startLineLF knownLF: Int? = nil
    ) -> ParseOutcome? {
        head.reset(isRequest: isRequest)
        guard let startLineLF = knownLF ?? bytes.firstIndex16(of: 0x0A, from: 0) else { return nil }
        var sawBareLF = false
        var lineEnd = startLineLF
        if startLineLF > 0 && bytes[startLineLF - 1] == 0x0D { lineEnd -= 1 } else { sawBareLF = true }
        let startLine = UnsafeRawBufferPointer(rebasing: bytes[0..<lineEnd])
        let startLineRead =
            isRequest ? head.readRequestLine(startLine, cache: cache) : head.readStatusLine(startLine)
        guard startLineRead else { return nil }

        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        var lineStart = startLineLF &+ 1
        var fieldLines = 0
        while true {
            guard lineStart < count else { return nil }
            let first = base.load(fromByteOffset: lineStart, as: UInt8.self)
            let colon: Int
            let lf: Int
            if first > 0x20 && lineStart &+ 16 <= count {
                // A field line (its first byte is no blank, CR or LF): its colon and, when the line is
                // short, its LF are among its first 16 bytes, read once for both.
                let block = (base + lineStart).loadUnaligned(as: SIMD16<UInt8>.self)
                let colonAt = Self.firstLane(block .== SIMD16(repeating: 0x3A))
                let lfAt = Self.firstLane(block .== SIMD16(repeating: 0x0A))
                if colonAt < lfAt {
                    colon = lineStart &+ colonAt
                    if lfAt < 16 {
                        lf = lineStart &+ lfAt
                    } else if lineStart &+ 32 <= count,
                        case let lfAfter = Self.firstLane(
                            (base + (lineStart &+ 16)).loadUnaligned(as: SIMD16<UInt8>.self) .== SIMD16(repeating: 0x0A)),
                        lfAfter < 16
                    {
                        // Most field lines end within their first 32 bytes: the next 16 read at once,
                        // without the search's loop.
                        lf = lineStart &+ 16 &+ lfAfter
                    } else {
                        guard let found = bytes.firstIndex16(of: 0x0A, from: lineStart &+ 16) else { return nil }
                        lf = found
                    }
                } else {
                    // An LF before any colon: not a field line (nor the empty line).
                    guard lfAt == 16, let hit = bytes.firstIndex16(of: 0x3A, or: 0x0A, from: lineStart &+ 16),
                        base.load(fromByteOffset: hit, as: UInt8.self) == 0x3A,
                        let found = bytes.firstIndex16(of: 0x0A, from: hit &+ 1)
                    else { return nil }
                    colon = hit
                    lf = found
                }
            } else {
                // The empty line ending the head.
                if first == 0x0A || (first == 0x0D && lineStart &+ 1 < count && base.load(fromByteOffset: lineStart &+ 1, as: UInt8.self) == 0x0A) {
                    // Too many lines: the general path counts them (and says so).
                    guard fieldLines <= maxHeaderCount else { return nil }
                    if first == 0x0A { sawBareLF = true }
                    if sawBareLF { head.anomalies.append(.bareLF) }
                    let end = first == 0x0A ? lineStart &+ 1 : lineStart &+ 2
                    if head.repeatsLooseField {
                        head.joinRepeatedLooseFields(UnsafeRawBufferPointer(rebasing: bytes[0..<end]), cache: cache)
                    }
                    return .complete(end: end)
                }
                // obs-fold, or a line starting with another control byte, or near the end of `bytes`:
                // the first colon or LF. A field line's name ends at its colon; a line without one
                // is not a field line.
                guard first != 0x20, first != 0x09, let hit = bytes.firstIndex16(of: 0x3A, or: 0x0A, from: lineStart),
                    base.load(fromByteOffset: hit, as: UInt8.self) == 0x3A,
                    let found = bytes.firstIndex16(of: 0x0A, from: hit &+ 1)
                else { return nil }
                colon = hit
                lf = found
            }
            // (The count is checked at the end: past the limit, the general path reads the head again.)
            fieldLines &+= 1
            // An empty name or whitespace before the colon: the general path.
            guard colon > lineStart else { return nil }
            let lastNameByte = base.load(fromByteOffset: colon &- 1, as: UInt8.self)
            guard lastNameByte != 0x20, lastNameByte != 0x09 else { return nil }
            var valueEnd = lf
            if base.load(fromByteOffset: lf &- 1, as: UInt8.self) == 0x0D { valueEnd &-= 1 } else { sawBareLF = true }
            if KnownField.mayBe(first: first, count: colon &- lineStart),
                let field = KnownField.classify(UnsafeRawBufferPointer(start: base + lineStart, count: colon &- lineStart))
            {
                // No obs-fold follows (the next line would send the head to the general path): the
                // value is whole.
                head.apply(
                    field, value: UnsafeRawBufferPointer(start: base + (colon &+ 1), count: valueEnd &- colon &- 1).trimmingOWS(),
                    cache: cache)
            }
            lineStart = lf &+ 1
        }
    }

    /// The index of the first lane set in `lanes`, 16 when none is.
    @inline(__always)
    private static func firstLane(_ lanes: SIMDMask<SIMD16<Int8>>) -> Int {
        // Each lane is 0x00 or 0xFF: the lowest set bit of each 8-byte half marks its first lane
        // (`trailingZeroBitCount` of 0 is 64, 8 lanes).
        let halves = unsafeBitCast(lanes, to: SIMD2<UInt64>.self)
        return halves[0] != 0 ? halves[0].trailingZeroBitCount &>> 3 : 8 &+ halves[1].trailingZeroBitCount &>> 3
    }

    /// `parseStartLine` for `METHOD SP target SP HTTP/1.0|1.1` with a method of at most 7 bytes; false
    /// (nothing set that the general path would not set again) for other shapes.
    private mutating func readRequestLine(_ line: UnsafeRawBufferPointer, cache: SharedParserState) -> Bool {
        let count = line.count
        guard count >= 12 else { return false }
        let version = line.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        guard line[count - 9] == 0x20, let versionName = Self.commonVersion(version) else { return false }
        // The first space, among the first 8 bytes (the general path also finds the first one).
        let spaces = UInt64(littleEndian: line.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) ^ 0x2020_2020_2020_2020
        let zeroLanes = (spaces &- 0x0101_0101_0101_0101) & ~spaces & 0x8080_8080_8080_8080
        guard zeroLanes != 0 else { return false }
        let firstSpace = zeroLanes.trailingZeroBitCount >> 3
        // The last space is the one before the version (its 8 bytes hold none); a target is between.
        let lastSpace = count - 9
        guard firstSpace + 1 < lastSpace else { return false }
        let methodBytes = UnsafeRawBufferPointer(rebasing: line[0..<firstSpace])
        // `reset` left method and version empty (or the observer swapped empty ones in): stored without
        // releasing them (see `EmptySlots.swift`).
        method.replaceEmpty(with: Self.methodName(methodBytes))
        methodIsHead = Self.isHEAD(methodBytes)
        methodIsConnect = methodBytes.isCONNECT
        let targetBytes = UnsafeRawBufferPointer(rebasing: line[(firstSpace + 1)..<lastSpace])
        cachedTargetSlot = cache.cachedRequestTargetSlot(targetBytes)
        // `reset` left the target empty: built in place.
        if cachedTargetSlot < 0 {
            target.read(targetBytes, paths: cache)
            targetMayOwnStrings = true
        }
        self.version.replaceEmpty(with: versionName)
        return true
    }

    /// `parseStartLine` for `HTTP/1.0|1.1 SP 3DIGIT ...`; false for other shapes.
    private mutating func readStatusLine(_ line: UnsafeRawBufferPointer) -> Bool {
        guard line.count >= 12, let versionName = Self.commonVersion(line.loadUnaligned(as: UInt64.self)) else {
            return false
        }
        version.replaceEmpty(with: versionName)
        status = (Int(line[9] &- 0x30) * 10 + Int(line[10] &- 0x30)) * 10 + Int(line[11] &- 0x30)
        return true
    }

    /// The literal `versionName` gives for exactly `HTTP/1.1` or `HTTP/1.0` (8 bytes as read in memory).
    @inline(__always)
    private static func commonVersion(_ word: UInt64) -> String? {
        switch UInt64(littleEndian: word) {
        case 0x312E_312F_5054_5448: return "HTTP/1.1"
        case 0x302E_312F_5054_5448: return "HTTP/1.0"
        default: return nil
        }
    }
}

extension KnownField {
    /// False only where `classify` gives nil for a name of `count` bytes beginning with `first`: the
    /// exact names beginning with `c`, `h`, `e` have one length each (`content-type`, `-length`,
    /// `-encoding`; `host`; `expect`); names beginning with `t`, `u`, `m`, `-` (or CR, which `classify`
    /// compares in full too) may be loose names of any length; `_` and DEL are let through.
    @inline(__always)
    static func mayBe(first: UInt8, count: Int) -> Bool {
        switch first | 0x20 {
        case 0x63 /* c */: return count == 12 || count == 14 || count == 16
        case 0x68 /* h */: return count == 4
        case 0x65 /* e */: return count == 6
        case 0x74 /* t */, 0x75 /* u */, 0x6D /* m */, 0x2D /* - or CR */, 0x7F /* _ or DEL */: return true
        default: return false
        }
    }
}

extension UnsafeRawBufferPointer {
    /// The bytes are exactly `CONNECT`.
    var isCONNECT: Bool {
        count == 7 && loadUnaligned(fromByteOffset: 0, as: UInt32.self) == UInt32(littleEndian: 0x4E4E_4F43)
            && loadUnaligned(fromByteOffset: 3, as: UInt32.self) == UInt32(littleEndian: 0x5443_454E)
    }

    /// Index of the first `byte` at or after `start`: `firstIndex16(of:or:from:)` with one byte.
    @inline(__always)
    func firstIndex16(of byte: UInt8, from start: Int) -> Int? {
        firstIndex16(of: byte, or: byte, from: start)
    }

    /// Index of the first byte equal to `a` or `b` at or after `start`, 16 bytes at a time (SSE2
    /// compares): a head line's colon and end lie within a few dozen bytes, where a call to memchr
    /// costs more than the scan. In a compare's result each lane is 0x00 or 0xFF, so the lowest set
    /// bit of each 8-byte half marks its first hit exactly.
    @inline(__always)
    func firstIndex16(of a: UInt8, or b: UInt8, from start: Int) -> Int? {
        guard let base = baseAddress, start < count else { return nil }
        let patternA = SIMD16<UInt8>(repeating: a)
        let patternB = SIMD16<UInt8>(repeating: b)
        // (Wrapping arithmetic: `start < count`, and indices stay below `count`; an overflow check per
        // step cost a branch.)
        var i = start
        while i &+ 16 <= count {
            let block = (base + i).loadUnaligned(as: SIMD16<UInt8>.self)
            let hits = unsafeBitCast((block .== patternA) .| (block .== patternB), to: SIMD2<UInt64>.self)
            if hits[0] != 0 { return i &+ hits[0].trailingZeroBitCount &>> 3 }
            if hits[1] != 0 { return i &+ 8 &+ hits[1].trailingZeroBitCount &>> 3 }
            i &+= 16
        }
        guard i < count else { return nil }
        if count >= 16 {
            // The last 16 bytes, without the `skip` of them already looked at.
            // (Its own masks here rather than `firstSetLane`'s: with that helper the common path
            // took 9 more instructions an exchange on k1m-small, in code the compiler laid out anew.)
            let last = count &- 16
            let block = (base + last).loadUnaligned(as: SIMD16<UInt8>.self)
            let hits = unsafeBitCast((block .== patternA) .| (block .== patternB), to: SIMD2<UInt64>.self)
            // 1...15 bytes, looked at already.
            let skip = i &- last
            var low = hits[0]
            var high = hits[1]
            if skip >= 8 {
                low = 0
                high &= ~0 &<< UInt64(truncatingIfNeeded: (skip &- 8) &* 8)
            } else {
                low &= ~0 &<< UInt64(truncatingIfNeeded: skip &* 8)
            }
            if low != 0 { return last &+ low.trailingZeroBitCount &>> 3 }
            if high != 0 { return last &+ 8 &+ high.trailingZeroBitCount &>> 3 }
            return nil
        }
        while i < count {
            let byte = self[i]
            if byte == a || byte == b { return i }
            i += 1
        }
        return nil
    }
}
