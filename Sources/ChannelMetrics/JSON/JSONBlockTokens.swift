// The token starts of JSON text found 64 bytes at a time: the first pass of simdjson
// (Langdale & Lemire, "Parsing Gigabytes of JSON per Second", 2019, §3.1).

import CJSONBlocks

/// The start of every token of JSON text, in order, from bitmasks of 64-byte blocks: each
/// `{ } [ ] : ,` outside strings, each opening quote, and the first byte of each run of other
/// bytes outside strings (a number, a literal, or garbage the second pass rejects) — except
/// a *joined separator*: a `:` or `,` whose block holds a byte neither blank nor structural
/// just before it (the end of a string, number or literal) and just after it (the first
/// byte of the token after it: a quote, a number, a literal, or garbage).
/// Where the scanner expects `:` or `,` and finds another token, it checks the byte before
/// that token (outside strings: only whitespace or a joined separator can be there, and it
/// must be the one expected); a joined one anywhere else puts a value or name where the
/// scanner expects `:`, `,` or a closing bracket, which it rejects.
///
/// Why: a validator that finds each token from the end of the one before waits, per
/// string, for a load and a bit scan that depend on the previous token (about 12 cycles).
/// Here the masks of a block are computed without looking at its tokens, so the second
/// pass (`TopLevelScanner.scanInBlocks`) only branches on the byte at each start.
///
/// Exact up to its first anomaly: in-string is the parity of the unescaped quotes, escapes
/// are found as simdjson does (runs of backslashes, odd ones escape) and each escape is
/// checked as `parseEscape` reads it. An anomaly — a control byte in a string, a control
/// byte other than `\t \n \r` outside one, an escape `parseEscape` rejects — ends the stream
/// (`next` gives -1, `JSONBlocks.anomaly` says where): the caller then leaves the text to the
/// byte-by-byte validator, which finds the exact rejection.
struct JSONBlockTokens {
    /// The token starts of the current block not given yet, bit i for byte `blockStart + i`
    /// (in registers: the `JSONBlocks` which the out-of-line `readBlock` writes is apart, not
    /// a member, else this struct lives in memory and the mask is stored per token, measured).
    private var tokens: UInt64 = 0
    private var blockStart = 0
    /// The digits `0`…`9` of the current block, and the bytes that end a number or literal
    /// (whitespace, structural characters, quotes; the padding after the text).
    private var digits: UInt64 = 0
    private var delimiters: UInt64 = 0

    /// The next token start of the text `blocks` reads, or -1 at its end or first anomaly.
    @inline(__always)
    mutating func next(_ blocks: inout JSONBlocks) -> Int {
        while tokens == 0 {
            guard blocks.hasBlock else { return -1 }
            blockStart = blocks.nextBlock
            tokens = blocks.readBlock()
            digits = blocks.digits
            delimiters = blocks.delimiters
        }
        let p = blockStart &+ tokens.trailingZeroBitCount
        tokens &= tokens &- 1
        return p
    }

    /// Whether the token at `p` (the last one given, a digit `first`) is an integer — digits,
    /// no leading zero — followed by a delimiter in this block: a number `validateValue`
    /// takes whole (fewer than 64 digits). False leaves it to the byte-by-byte check.
    @inline(__always)
    func isShortInteger(at p: Int, first: UInt8) -> Bool {
        let offset = UInt64(truncatingIfNeeded: p &- blockStart)
        let length = (~digits &>> offset).trailingZeroBitCount  // the digits shifted in above make the end 64
        let end = Int(offset) &+ length
        return end < 64 && (delimiters &>> UInt64(truncatingIfNeeded: end)) & 1 != 0 && (first != UInt8(ascii: "0") || length == 1)
    }
}

/// The classification of the blocks of `JSONBlockTokens`, one after the other, with what
/// a block passes to the next.
struct JSONBlocks {
    let base: UnsafePointer<UInt8>
    let count: Int
    /// The start of the next block to classify.
    private(set) var nextBlock: Int
    /// All ones when the block before ended inside a string.
    private var inStringCarry: UInt64 = 0
    /// 1 when the last byte of the block before was a scalar byte (not a quote).
    private var scalarCarry: UInt64 = 0
    /// 1 when the first byte of the next block is escaped by a backslash of the block before.
    private var escapeCarry: UInt64 = 0
    /// Where the first anomaly is (the stream ends there), or `Int.max`.
    private(set) var anomaly = Int.max
    /// The digits and delimiters of the block read last (see `JSONBlockTokens`).
    private(set) var digits: UInt64 = 0
    private(set) var delimiters: UInt64 = 0

    /// The blocks of the text `base[start..<count]`, `start` outside any string.
    init(base: UnsafePointer<UInt8>, count: Int, from start: Int = 0) {
        self.base = base
        self.count = count
        nextBlock = start
    }

    /// Whether a block is left (false after an anomaly).
    var hasBlock: Bool { nextBlock < count }

    /// The token starts of the block at `nextBlock` (bit i for byte `nextBlock + i`, before
    /// the call), the last one as if followed by spaces (the last 64 bytes of the text,
    /// shifted, or a padded copy of a text shorter than 64); 0 from an anomaly on.
    @inline(never)
    mutating func readBlock() -> UInt64 {
        let start = nextBlock
        nextBlock = start &+ 64
        let length = count &- start
        if length >= 64 { return blockTokens(base + start, at: start, dropping: 0) }
        if count >= 64 {
            // The last 64 bytes, the ones before `start` (read with the block before) dropped.
            return blockTokens(base + (count &- 64), at: start, dropping: UInt64(truncatingIfNeeded: 64 &- length))
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { block in
            let padded = block.baseAddress!
            padded.initialize(repeating: 0x20, count: 64)
            padded.update(from: base + start, count: count &- start)
            return blockTokens(padded, at: start, dropping: 0)
        }
    }

    /// The token starts of the 64 bytes at `p` less its first `dropped` (0…63) ones, text
    /// position `start` on, as if spaces followed; updates the carries.
    @inline(__always)
    private mutating func blockTokens(_ p: UnsafePointer<UInt8>, at start: Int, dropping dropped: UInt64) -> UInt64 {
        var classes = cejson_classes()
        cejson_classify_block(p, &classes)
        let padding = ~(UInt64.max &>> dropped)  // the high bits past the text
        var quote = classes.quote &>> dropped
        // The classifier's parity holds for the whole block without escaped quotes.
        var quoteParity = dropped == 0 ? classes.quote_parity : Self.prefixXor(quote)
        let op = classes.op &>> dropped
        let blank = classes.blank &>> dropped | padding
        var control: UInt64 = 0
        var newline: UInt64 = 0
        var anomalies: UInt64 = 0
        if classes.rare | escapeCarry != 0 {
            let rare = cejson_classify_rare(p)
            control = rare.control &>> dropped
            newline = rare.newline &>> dropped
            let backslash = rare.backslash &>> dropped
            if backslash | escapeCarry != 0 {
                let escaped = Self.escapedBytes(backslash, carry: &escapeCarry)
                quote &= ~escaped
                quoteParity = Self.prefixXor(quote)
                anomalies = invalidEscapes(escaped, at: start)
            }
        }
        // Opening quote and the string's bytes: 1; closing quote and outside: 0.
        let inString = quoteParity ^ inStringCarry
        inStringCarry = UInt64(bitPattern: Int64(bitPattern: inString) &>> 63)
        // Any control byte in a string; outside, those that are not whitespace.
        anomalies |= control & (inString | ~newline)
        let scalar = ~(op | blank)
        let nonQuoteScalar = scalar & ~quote
        let follows = nonQuoteScalar &<< 1 | scalarCarry
        scalarCarry = nonQuoteScalar &>> 63
        let outside = ~(inString | quote)
        digits = classes.digit &>> dropped
        delimiters = op | blank | classes.quote &>> dropped
        if anomalies != 0 {
            anomaly = start &+ anomalies.trailingZeroBitCount
            nextBlock = count
            return 0
        }
        // A `:` or `,` between two bytes neither blank nor structural, in this block, is no
        // token: outside strings it ends a string or a number or literal and the byte after
        // starts one (the usual `"name":"value"`, `"name":12,"name":true`); the scanner finds
        // it at the byte before the token after. (In a string it is no token anyway.)
        let joined = classes.separator &>> dropped & scalar &<< 1 & scalar &>> 1
        return (((op | (scalar & ~follows)) & outside) | (quote & inString)) & ~joined
    }

    /// The bytes escaped by a backslash (the byte after each backslash that starts an escape:
    /// in a run of n backslashes, the 1st, 3rd, …), given the block's backslashes and the
    /// carry from the block before (simdjson's `find_escaped_branchless`).
    @inline(__always)
    static func escapedBytes(_ backslashes: UInt64, carry: inout UInt64) -> UInt64 {
        let evenBits: UInt64 = 0x5555_5555_5555_5555
        let backslash = backslashes & ~carry  // an escaped backslash starts nothing
        let followsEscape = backslash &<< 1 | carry
        // The runs that start on an odd bit, added to the runs: a run's carry lands past its end.
        let oddRunStarts = backslash & ~evenBits & ~followsEscape
        let (runsStartingOnEvenBits, overflow) = oddRunStarts.addingReportingOverflow(backslash)
        carry = overflow ? 1 : 0
        let invert = runsStartingOnEvenBits &<< 1
        return (evenBits ^ invert) & followsEscape
    }

    /// The bits of `escaped` (for block position `start`) whose escape `parseEscape` rejects:
    /// not one of `" \ / b f n r t u`, or `u` without four hex digits after it, or past the end.
    private func invalidEscapes(_ escaped: UInt64, at start: Int) -> UInt64 {
        var bits = escaped
        var invalid: UInt64 = 0
        while bits != 0 {
            let offset = bits.trailingZeroBitCount
            bits &= bits &- 1
            if !isValidEscape(at: start &+ offset) { invalid |= 1 &<< UInt64(offset) }
        }
        return invalid
    }

    private func isValidEscape(at i: Int) -> Bool {
        guard i < count else { return false }
        switch base[i] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return true
        case UInt8(ascii: "u"):
            guard i &+ 4 < count else { return false }
            for k in 1...4 {
                let b = base[i &+ k]
                let isHex = b &- UInt8(ascii: "0") < 10 || (b | 0x20) &- UInt8(ascii: "a") < 6
                if !isHex { return false }
            }
            return true
        default:
            return false
        }
    }

    /// Bit i = the parity of bits 0…i of `x`.
    @inline(__always)
    static func prefixXor(_ x: UInt64) -> UInt64 {
        var x = x
        x ^= x &<< 1
        x ^= x &<< 2
        x ^= x &<< 4
        x ^= x &<< 8
        x ^= x &<< 16
        x ^= x &<< 32
        return x
    }
}
