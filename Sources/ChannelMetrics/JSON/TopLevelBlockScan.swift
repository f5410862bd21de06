// The top-level key scan over the token starts of `JSONBlockTokens`: the second pass of
// simdjson's design (Langdale & Lemire 2019, §4), validating without building anything.

extension TopLevelScanner {
    /// What `scanInBlocks` could tell.
    enum BlockScanOutcome {
        /// The first token is not `{` (the text may or may not be JSON: nothing was validated).
        case notAnObject
        /// A valid document, a top-level object whose members are in the match slots.
        case valid
        /// Something it leaves to the byte-by-byte scan: an error, an anomaly of the token
        /// stream, nesting beyond 64 levels or the depth bound, a long number.
        case undecided
    }

    /// Validates the whole text and notes the top-level members matching `keys`, when the text
    /// is a valid object; otherwise says so or leaves it undecided (`scan` then starts over
    /// byte by byte: an invalid document is rare and its rejection must be the first one in
    /// document order, which the byte-by-byte validator finds).
    ///
    /// Why it is exact when it says `valid`: every byte outside strings is whitespace, a
    /// structural character, an opening quote, or part of a run starting at a token; strings
    /// are checked by the token stream (any anomaly ends it, and the text is then undecided);
    /// each run is checked here as a number or literal (`skipNumber`'s grammar, the literal's
    /// bytes) that must end where the run ends. The grammar between tokens is
    /// `validateValue`'s.
    mutating func scanInBlocks(_ keys: [FuzzyKey], into matches: inout MatchSlots) -> BlockScanOutcome {
        let count = cursor.bytes.count
        guard count > 0, let base = cursor.bytes.baseAddress else { return .undecided }
        let maxDepth = cursor.maxDepth
        var blocks = JSONBlocks(base: base, count: count)
        var stream = JSONBlockTokens()
        var p = stream.next(&blocks)
        guard p >= 0 else { return .undecided }
        guard base[p] == UInt8(ascii: "{") else { return .notAnObject }
        guard maxDepth >= 1 else { return .undecided }
        p = stream.next(&blocks)
        guard p >= 0 else { return .undecided }
        if base[p] == UInt8(ascii: "}") {
            return stream.next(&blocks) < 0 && blocks.anomaly == Int.max ? .valid : .undecided
        }
        // Open containers, the top-level object included; one bit each, innermost lowest:
        // 1 = object, 0 = array.
        var depth = 1
        var kinds: UInt64 = 1
        value: while true {
            if kinds & 1 != 0 {
                // A member: its name, `:`, then its value.
                guard base[p] == UInt8(ascii: "\"") else { return .undecided }
                let key = p
                var colon = stream.next(&blocks)
                guard colon >= 0 else { return .undecided }
                if base[colon &- 1] == UInt8(ascii: ":") {
                    // A joined colon (no token): the value is the token after the name. Only
                    // the name's bytes and whitespace are between them, and the byte before
                    // a value token is outside strings.
                    p = colon
                    colon &-= 1
                } else {
                    guard base[colon] == UInt8(ascii: ":") else { return .undecided }
                    p = stream.next(&blocks)
                    guard p >= 0 else { return .undecided }
                }
                if depth == 1, !noteMember(keyAt: key, colonAt: colon, valueAt: p, keys, into: &matches) { return .undecided }
            }
            let first = base[p]
            if first == UInt8(ascii: "\"") {
                // A string: its bytes were checked by the stream; it ends before the next token.
            } else if first &- UInt8(ascii: "0") < 10 {
                // The usual integer, from the block's digit mask; any other number byte by byte.
                if !stream.isShortInteger(at: p, first: first), !Self.isScalar(at: p, base, count) { return .undecided }
            } else if first | 0x20 == UInt8(ascii: "{") {  // `{` or `[`
                guard depth < maxDepth, depth < 64 else { return .undecided }
                let q = stream.next(&blocks)
                guard q >= 0 else { return .undecided }
                if base[q] != first &+ 2 {  // `}` is `{` + 2, `]` is `[` + 2: not empty
                    depth &+= 1
                    kinds = kinds &<< 1 | UInt64(first &>> 5 & 1)  // `{` 0x7B has bit 5, `[` 0x5B not
                    p = q
                    continue value
                }
            } else if !Self.isScalar(at: p, base, count) {
                return .undecided
            }
            // After a value: close containers until a `,` leads to the next value.
            while true {
                let q = stream.next(&blocks)
                guard q >= 0 else { return .undecided }
                let c = base[q]
                if base[q &- 1] == UInt8(ascii: ",") {
                    // A joined comma (no token): `q` is the next value or name.
                    p = q
                    continue value
                }
                if c == UInt8(ascii: ",") {
                    p = stream.next(&blocks)
                    guard p >= 0 else { return .undecided }
                    continue value
                }
                // `]` 0x5D in an array, `}` 0x7D in an object.
                guard c == UInt8(ascii: "]") | UInt8(truncatingIfNeeded: kinds & 1) &<< 5 else { return .undecided }
                depth &-= 1
                kinds &>>= 1
                if depth == 0 { break value }
            }
        }
        // Only whitespace after the top-level object, and no anomaly anywhere.
        return stream.next(&blocks) < 0 && blocks.anomaly == Int.max ? .valid : .undecided
    }

    /// Whether the run of bytes at `p` (outside strings, not a quote or structural character)
    /// is a number or literal that ends where the run ends (`validateValue`'s grammar).
    @inline(never)
    static func isScalar(at p: Int, _ base: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        @inline(__always) func runEnds(at i: Int) -> Bool { i >= count || isDelimiter(base[i]) }
        @inline(__always) func word32(at i: Int) -> UInt32 {
            UInt32(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt32.self))
        }
        switch base[p] {
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            let end = Cursor.skipNumber(base, count: count, from: p)
            return end >= 0 && runEnds(at: end)
        case UInt8(ascii: "-"):
            if p &+ 1 < count, base[p &+ 1] &- UInt8(ascii: "0") < 10 {
                let end = Cursor.skipNumber(base, count: count, from: p &+ 1)
                return end >= 0 && runEnds(at: end)
            }
            return p &+ 9 <= count && word32(at: p &+ 1) == infi && word32(at: p &+ 5) == nity && runEnds(at: p &+ 9)
        case UInt8(ascii: "t"): return p &+ 4 <= count && word32(at: p) == `true` && runEnds(at: p &+ 4)
        case UInt8(ascii: "f"): return p &+ 5 <= count && word32(at: p &+ 1) == alse && runEnds(at: p &+ 5)
        case UInt8(ascii: "n"): return p &+ 4 <= count && word32(at: p) == null && runEnds(at: p &+ 4)
        case UInt8(ascii: "N"):
            return p &+ 3 <= count && base[p &+ 1] == UInt8(ascii: "a") && base[p &+ 2] == UInt8(ascii: "N") && runEnds(at: p &+ 3)
        case UInt8(ascii: "I"): return p &+ 8 <= count && word32(at: p) == infi && word32(at: p &+ 4) == nity && runEnds(at: p &+ 8)
        default: return false
        }
    }

    /// The member of the top-level object whose name starts at `key`, `:` is at `colon` and
    /// value at `value`: noted in `matches` as `scan` does; false when the name is not a valid
    /// string. Only whitespace is between the name's closing quote and the colon (a byte
    /// there would be a token), and the stream checked its bytes: the name is found from
    /// the colon back, and read as `scanKey` would (as bytes when ASCII without escapes).
    @inline(never)
    private mutating func noteMember(
        keyAt key: Int, colonAt colon: Int, valueAt value: Int, _ keys: [FuzzyKey], into matches: inout MatchSlots
    ) -> Bool {
        let bytes = cursor.bytes
        guard let base = bytes.baseAddress else { return false }
        var end = colon &- 1
        while end > key, base[end] != UInt8(ascii: "\"") { end &-= 1 }
        guard end > key else { return false }
        var plain = true
        for i in (key &+ 1)..<end where base[i] >= 0x80 || base[i] == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain {
            matches.note(Key(bytes: bytes, asciiRange: (key &+ 1)..<end, decoded: nil), valueAt: value, for: keys)
            return true
        }
        cursor.position = key
        guard let name = try? scanKey() else { return false }
        matches.note(name, valueAt: value, for: keys)
        return true
    }

    /// Literal bytes as little-endian words (tested against the text): `true`, `null`,
    /// `alse` (of `false`), `Infi` and `nity` (of `Infinity`).
    static let `true`: UInt32 = 0x6575_7274
    static let null: UInt32 = 0x6C6C_756E
    static let alse: UInt32 = 0x6573_6C61
    static let infi: UInt32 = 0x6966_6E49
    static let nity: UInt32 = 0x7974_696E

    /// Whitespace, `,` `:` `[` `]` `{` `}` or `"`: a byte that ends a number or literal.
    @inline(__always)
    static func isDelimiter(_ b: UInt8) -> Bool {
        let below64: UInt64 = 1 << 0x09 | 1 << 0x0A | 1 << 0x0D | 1 << 0x20 | 1 << 0x22 | 1 << 0x2C | 1 << 0x3A
        let below128: UInt64 = 1 << (0x5B - 64) | 1 << (0x5D - 64) | 1 << (0x7B - 64) | 1 << (0x7D - 64)
        let bits = b < 64 ? below64 : (b < 128 ? below128 : 0)
        return (bits &>> UInt64(b & 63)) & 1 != 0
    }
}
