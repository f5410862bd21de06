// Validating a JSON value without building it: `parseValue`'s grammar and rejections, no allocation.

extension Cursor {
    /// Validates one value as `parseValue(depth:)` would, allocating nothing, and moves past
    /// it; throws the rejection `parseValue` would (the first one in document order).
    mutating func skipValue(depth: Int) throws(JSONRejection) {
        if let rejection = validateValue(depth: depth) { throw rejection }
    }

    /// The loop behind `skipValue`: one function with the position in a local and the open
    /// containers in a bit stack, no recursion per container and no call per token.
    ///
    /// Measured (Benchmarks: `bench json`): it runs over every byte of every response body;
    /// the recursive descent with a call per token and the position kept in `self` ran at a
    /// few hundred MB/s on compact JSON.
    ///
    /// Reading past the end gives 0 (`byte(at:)`): a NUL is rejected wherever the validator
    /// looks at a byte (no token, and a raw control character inside a string), with the
    /// same rejection, `syntax`, as the end of the input there.
    mutating func validateValue(depth startDepth: Int) -> JSONRejection? {
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return .syntax }
        @inline(__always) func byte(at i: Int) -> UInt8 { i < count ? base[i] : 0 }
        @inline(__always) func skipWhitespace(_ i: inout Int) {
            while true {
                switch byte(at: i) {
                case 0x20, 0x09, 0x0A, 0x0D: i &+= 1
                default: return
                }
            }
        }

        var i = position
        var depth = startDepth
        // One bit per open container, innermost lowest: 1 = object, 0 = array.
        var kinds: UInt64 = 0
        var expectKey = false
        value: while true {
            if expectKey {
                skipWhitespace(&i)
                guard byte(at: i) == UInt8(ascii: "\"") else { return .syntax }
                i = skipString(from: i)
                guard i >= 0 else { return .syntax }
                skipWhitespace(&i)
                guard byte(at: i) == UInt8(ascii: ":") else { return .syntax }
                i &+= 1
                skipWhitespace(&i)
            }
            let first = byte(at: i)
            switch first {
            case UInt8(ascii: "\""):
                i = skipString(from: i)
                guard i >= 0 else { return .syntax }
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                i = Self.skipNumber(base, count: count, from: i)
                if i < 0 { return i == Self.integerTooLongMark ? .integerTooLong : .syntax }
            case UInt8(ascii: "-") where byte(at: i + 1) &- UInt8(ascii: "0") < 10:
                i = Self.skipNumber(base, count: count, from: i + 1)
                if i < 0 { return i == Self.integerTooLongMark ? .integerTooLong : .syntax }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < maxDepth else { return .tooDeep }
                let isObject = first == UInt8(ascii: "{")
                if depth - startDepth == 64 {
                    // The bit stack is full: the rest of this container in a nested call.
                    position = i
                    if let rejection = validateValue(depth: depth) { return rejection }
                    i = position
                    break
                }
                i += 1
                skipWhitespace(&i)
                if byte(at: i) == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    i += 1
                    break
                }
                depth += 1
                kinds = kinds << 1 | (isObject ? 1 : 0)
                expectKey = isObject
                continue value
            default:
                position = i
                guard skipLiteral() else { return .syntax }
                i = position
            }
            // After a value: close containers until a `,` leads to the next value.
            while depth > startDepth {
                skipWhitespace(&i)
                let isObject = kinds & 1 == 1
                switch byte(at: i) {
                case UInt8(ascii: ","):
                    i &+= 1
                    skipWhitespace(&i)
                    expectKey = isObject
                    continue value
                case isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"):
                    i &+= 1
                    depth &-= 1
                    kinds >>= 1
                default:
                    return .syntax
                }
            }
            position = i
            return nil
        }
    }

    /// `null`, `true`, `false`, `NaN`, `Infinity` or `-Infinity` at `position` (a `-` before
    /// a digit is a number, handled before).
    private mutating func skipLiteral() -> Bool {
        guard position < bytes.count else { return false }
        switch bytes[position] {
        case UInt8(ascii: "n"): return expect("null")
        case UInt8(ascii: "t"): return expect("true")
        case UInt8(ascii: "f"): return expect("false")
        case UInt8(ascii: "N"): return expect("NaN")
        case UInt8(ascii: "I"): return expect("Infinity")
        case UInt8(ascii: "-"): return expect("-Infinity")
        default: return false
        }
    }

    static let integerTooLongMark = -2

    /// Past the number whose first digit is at `start` (after any `-`: the grammar of
    /// `scanNumber`), or `integerTooLongMark` (more than CPython's 4300 integer digits).
    @inline(__always)
    static func skipNumber(_ base: UnsafePointer<UInt8>, count: Int, from start: Int) -> Int {
        @inline(__always) func isDigit(at i: Int) -> Bool { i < count && base[i] &- UInt8(ascii: "0") < 10 }
        var i = base[start] == UInt8(ascii: "0") ? start + 1 : skipDigits(base, count: count, from: start + 1)
        let integerDigits = i - start
        var isFloat = false
        if i + 1 < count, base[i] == UInt8(ascii: "."), isDigit(at: i + 1) {
            isFloat = true
            i = skipDigits(base, count: count, from: i + 2)
        }
        if i < count, base[i] | 0x20 == UInt8(ascii: "e") {  // e or E
            var probe = i + 1
            if probe < count, base[probe] == UInt8(ascii: "+") || base[probe] == UInt8(ascii: "-") { probe += 1 }
            if isDigit(at: probe) {
                isFloat = true
                i = skipDigits(base, count: count, from: probe + 1)
            }
        }
        if !isFloat, integerDigits > 4300 { return integerTooLongMark }
        return i
    }

    /// Past the ASCII digits from `start`, eight bytes at a time: numbers have a few digits
    /// of varying length, where a byte loop's exit is a mispredicted branch per number.
    @inline(__always)
    static func skipDigits(_ base: UnsafePointer<UInt8>, count: Int, from start: Int) -> Int {
        let raw = UnsafeRawPointer(base)
        let wordLimit = count &- 8
        var i = start
        while i <= wordLimit {
            let nonDigits = nonDigitBytes(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            if nonDigits != 0 { return i &+ nonDigits.trailingZeroBitCount &>> 3 }
            i &+= 8
        }
        while i < count, base[i] &- UInt8(ascii: "0") < 10 { i &+= 1 }
        return i
    }

    /// The high bit set in each byte of `word` that is not `0`…`9` (exact in every byte: no
    /// carry crosses a byte). A digit is 0x3X with X < 10.
    @inline(__always)
    static func nonDigitBytes(_ word: UInt64) -> UInt64 {
        let high: UInt64 = 0x8080_8080_8080_8080
        let highNibble = (word & 0xF0F0_F0F0_F0F0_F0F0) ^ 0x3030_3030_3030_3030  // 0 where it is 3
        let highNibbleIsNot3 = ((highNibble & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | highNibble
        let lowNibbleAbove9 = ((word & 0x0F0F_0F0F_0F0F_0F0F) &+ 0x0606_0606_0606_0606) << 3  // bit 4 → bit 7
        return (highNibbleIsNot3 | lowNibbleAbove9) & high
    }

    /// Past the string whose opening quote is at `start`, or -1: the grammar of `parseString`
    /// (escapes checked, raw control characters rejected), eight bytes at a time up to the
    /// first `"`, `\` or byte below 0x20.
    @inline(__always)
    mutating func skipString(from start: Int) -> Int {
        let count = bytes.count
        let raw = UnsafeRawPointer(bytes.baseAddress!)
        let wordLimit = count &- 8  // a word at i is in the buffer while i <= wordLimit
        var i = start &+ 1
        while true {
            while i <= wordLimit {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let special = Self.stringSpecialBytes(word)
                if special != 0 {
                    i &+= special.trailingZeroBitCount &>> 3
                    break
                }
                i &+= 8
            }
            guard i < count else { return -1 }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { return i &+ 1 }
            if b == UInt8(ascii: "\\") {
                i = skipEscape(from: i + 1)
                if i < 0 { return -1 }
                continue
            }
            if b < 0x20 { return -1 }
            i &+= 1
        }
    }

    /// Past the escape after a `\` at `start - 1` (as `parseEscape` reads it), or -1.
    private mutating func skipEscape(from start: Int) -> Int {
        position = start
        do {
            _ = try parseEscape()
            return position
        } catch {
            return -1
        }
    }

    /// The high bit set in each byte of `word` (first byte in the low bits) that is `"`, `\`
    /// or below 0x20 — exactly for the lowest such byte, which is the one used (above it a
    /// borrow can flag a byte falsely).
    @inline(__always)
    static func stringSpecialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let isQuote = (quote &- ones) & ~quote
        let isBackslash = (backslash &- ones) & ~backslash
        let isControl = (word &- ones &* 0x20) & ~word
        return (isQuote | isBackslash | isControl) & high
    }
}
