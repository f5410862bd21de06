import CJSONBlocks
import Testing

@testable import ChannelMetrics

/// The first pass of `cejson_scan` (json_scan_template.h): its token starts and first anomaly
/// against a byte-at-a-time definition at every level, the escape and parity bit tricks, and
/// the classifiers (portable, SSE2, AVX2) lane by lane.
@Suite struct JSONBlockTokenTests {
    // MARK: the token stream

    /// The token starts and first anomaly one byte at a time, as json_scan_template.h defines
    /// them (escapes found wherever a backslash is, in a string or not).
    static func referenceTokens(_ b: [UInt8]) -> (tokens: [Int], anomaly: Int?) {
        var tokens: [Int] = []
        var inString = false
        var previousIsScalar = false
        var escapeNext = false
        func isScalar(_ c: UInt8) -> Bool { c > 0x20 && ![0x7B, 0x7D, 0x5B, 0x5D, 0x3A, 0x2C].contains(c) }
        func isValidEscape(at i: Int) -> Bool {
            switch b[i] {
            case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: return true
            case 0x75:
                guard i + 4 < b.count else { return false }
                return b[(i + 1)...(i + 4)].allSatisfy { $0 >= 0x30 && $0 <= 0x39 || ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x66 }
            default: return false
            }
        }
        for i in b.indices {
            let c = b[i]
            let escaped = escapeNext
            escapeNext = !escaped && c == 0x5C
            if escaped, !isValidEscape(at: i) { return (tokens, i) }
            let isQuote = c == 0x22 && !escaped
            if inString {
                if isQuote { inString = false } else if c < 0x20 { return (tokens, i) }
                previousIsScalar = false
                continue
            }
            if isQuote {
                tokens.append(i)
                inString = true
                previousIsScalar = false
            } else if [0x7B, 0x7D, 0x5B, 0x5D, 0x3A, 0x2C].contains(c), i % 64 != 0, i % 64 != 63, i + 1 < b.count,
                isScalar(b[i - 1]), isScalar(b[i + 1])
            {
                // A joined structural byte (a separator; a bracket only in invalid text): a
                // byte neither blank nor structural before and after it, in its block.
                previousIsScalar = false
            } else if [0x7B, 0x7D, 0x5B, 0x5D, 0x3A, 0x2C].contains(c) {
                tokens.append(i)
                previousIsScalar = false
            } else if c <= 0x20 {
                if c < 0x20, c != 0x09, c != 0x0A, c != 0x0D { return (tokens, i) }
                previousIsScalar = false
            } else {
                if !previousIsScalar { tokens.append(i) }
                previousIsScalar = true
            }
        }
        // A backslash ending the text escapes the padding of a partial last block.
        if escapeNext, b.count % 64 != 0 { return (tokens, b.count) }
        return (tokens, nil)
    }

    static func streamTokens(_ b: [UInt8], level: Int32) -> (tokens: [Int], anomaly: Int?) {
        b.withUnsafeBufferPointer { buffer in
            var tokens = [Int](repeating: 0, count: b.count + 1)
            var anomaly = 0
            let n = tokens.withUnsafeMutableBufferPointer {
                cejson_token_starts(buffer.baseAddress, b.count, level, $0.baseAddress, $0.count, &anomaly)
            }
            return (Array(tokens.prefix(n)), anomaly == Int(bitPattern: UInt(UInt64.max)) ? nil : anomaly)
        }
    }

    static func expectSameTokens(_ b: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let expected = referenceTokens(b)
        // An anomaly drops the tokens of its whole block.
        let kept = expected.anomaly.map { anomaly in expected.tokens.filter { $0 < anomaly / 64 * 64 } } ?? expected.tokens
        for level in JSONBlockScanTests.levels {
            let got = streamTokens(b, level: level)
            #expect(got.tokens == kept && got.anomaly == expected.anomaly, "level \(level): \(String(decoding: b, as: UTF8.self).debugDescription)", sourceLocation: sourceLocation)
        }
    }

    /// Random bytes from JSON's significant ones, 0…300 long: the same token starts and anomaly.
    @Test func tokenStreamAgreesWithTheReference() {
        let alphabet: [UInt8] = Array("{}[]:,\"\\ \t\n\r0123456789.eE+-truefalsnNIy/bu".utf8) + [0x01, 0x0B, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xFF]
        var g = TopLevelKeyScanTests.Generator(state: 5)
        for _ in 0..<20_000 {
            let length = g.next(300)
            var bytes = (0..<length).map { _ in alphabet[g.next(alphabet.count)] }
            // Fewer specials in some, so that the stream runs long before an anomaly.
            if g.next(2) == 0 { bytes = bytes.map { $0 < 0x20 && $0 != 0x0A ? 0x20 : $0 } }
            if g.next(2) == 0 { bytes = bytes.map { $0 == 0x5C ? 0x61 : $0 } }
            Self.expectSameTokens(bytes)
        }
        for document in ["{\"a\":[1,2,{\"b\":\"c\\\"d\"}],\"e\":-1.5e3}", #"{"k":"\\\"","l":"\u0041"}"#] {
            for pad in 0...70 { Self.expectSameTokens(Array((String(repeating: " ", count: pad) + document).utf8)) }
        }
    }

    /// `cejson_escaped_bytes` against escapes found one byte at a time, carried over 3 blocks.
    @Test func escapedBytesAgreeWithASequentialScan() {
        var g = TopLevelKeyScanTests.Generator(state: 11)
        for round in 0..<20_000 {
            var bits = [Bool](repeating: false, count: 192)
            let density = [2, 3, 8, 64][round % 4]
            for i in bits.indices where g.next(density) != 0 { bits[i] = true }
            if round % 5 == 0 { for i in 60..<(60 + g.next(70)) { bits[i] = true } }  // a long run across an edge
            var expected = [Bool](repeating: false, count: 192)
            var escapeNext = false
            for i in bits.indices {
                if escapeNext {
                    expected[i] = true
                    escapeNext = false
                } else if bits[i] {
                    escapeNext = true
                }
            }
            var carry: UInt64 = 0
            var got = [Bool]()
            for block in 0..<3 {
                var mask: UInt64 = 0
                for i in 0..<64 where bits[block * 64 + i] { mask |= 1 << UInt64(i) }
                let escaped = cejson_escaped_bytes(mask, &carry)
                for i in 0..<64 { got.append(escaped >> UInt64(i) & 1 == 1) }
            }
            if got != expected {
                Issue.record("escapes differ for \(bits.map { $0 ? "\\" : "." }.joined())")
                return
            }
        }
    }

    @Test func prefixXor() {
        var g = TopLevelKeyScanTests.Generator(state: 3)
        for _ in 0..<2_000 {
            let x = UInt64(g.next(1 << 30)) << 34 ^ UInt64(g.next(1 << 30)) << 4 ^ UInt64(g.next(16))
            var parity: UInt64 = 0
            var expected: UInt64 = 0
            for i in 0..<64 {
                parity ^= x >> UInt64(i) & 1
                expected |= parity << UInt64(i)
            }
            #expect(cejson_prefix_xor(x) == expected)
        }
    }

    // MARK: the classifiers

    static func classes(_ c: cejson_classes) -> [UInt64] { [c.quote, c.op, c.scalar, c.rare == 0 ? 0 : 1, c.digit, c.quote_parity, c.high == 0 ? 0 : 1] }

    /// Every level's classifier agrees with `cejson_classify_bytewise` (the definition): the
    /// portable SWAR one (`cejson_classify_portable`), SSE2 (`cejson_classify`), AVX2 when the
    /// processor has it, NEON on arm64.
    static func expectSameClasses(_ block: [UInt8], _ what: @autoclosure () -> String) {
        block.withUnsafeBufferPointer { buffer in
            let p = buffer.baseAddress!
            let expected = Self.classes(cejson_classify_bytewise(p))
            let rareExpected = cejson_classify_rare_bytewise(p)
            let portable = cejson_classify_portable(p)
            let sse2 = cejson_classify(p)
            var avx2 = cejson_classify_bytewise(p)
            if cejson_has_avx2() != 0 { cejson_classify_avx2(p, &avx2) }
            var neon = cejson_classify_bytewise(p)
            if cejson_level_available(Int32(CEJSON_LEVEL_NEON)) != 0 { cejson_classify_neon(p, &neon) }
            var ok = Self.classes(portable) == expected && Self.classes(sse2) == expected && Self.classes(avx2) == expected
                && Self.classes(neon) == expected
            for rare in [cejson_classify_rare_portable(p), cejson_classify_rare(p)] {
                ok = ok && rare.backslash == rareExpected.backslash && rare.control == rareExpected.control
                    && rare.newline == rareExpected.newline
            }
            if !ok { Issue.record("\(what())") }
        }
    }

    /// Every byte value in every lane, whatever the other lanes hold.
    @Test func classifiersAgreeInEveryLane() {
        for neighbour: UInt8 in [0x61, 0x22, 0x5C, 0x00, 0x20, 0xFF, 0x7F, 0x80] {
            for lane in 0..<64 {
                for value in 0...255 {
                    var block = [UInt8](repeating: neighbour, count: 64)
                    block[lane] = UInt8(value)
                    Self.expectSameClasses(block, "lane \(lane) value \(value) neighbour \(neighbour)")
                }
            }
        }
    }

    /// Every pair of byte values side by side, both ways round, at every place in a word and
    /// across words: a carry or borrow from one byte into the next (the SWAR classifier's
    /// risk; AVX2's 16-bit shifts, which move bits across the two bytes of a lane) would show.
    @Test func classifiersAgreeForEveryPairOfNeighbours() {
        for a in 0...255 {
            for b in 0...255 {
                let block = (0..<64).map { UInt8($0 & 1 == 0 ? a : b) }
                Self.expectSameClasses(block, "bytes \(a), \(b) alternating")
            }
        }
    }

    /// The byte loop is the definition: checked here against the classes byte by byte.
    @Test func bytewiseClassifierIsTheDefinition() {
        for value in 0...255 {
            let block = [UInt8](repeating: UInt8(value), count: 64)
            let c = block.withUnsafeBufferPointer { cejson_classify_bytewise($0.baseAddress!) }
            let r = block.withUnsafeBufferPointer { cejson_classify_rare_bytewise($0.baseAddress!) }
            let all = UInt64.max
            let v = UInt8(value)
            #expect(c.quote == (v == 0x22 ? all : 0))
            #expect(c.op == ([0x7B, 0x7D, 0x5B, 0x5D, 0x3A, 0x2C].contains(v) ? all : 0))
            #expect(c.scalar == (v > 0x20 && ![0x7B, 0x7D, 0x5B, 0x5D, 0x3A, 0x2C].contains(v) ? all : 0))
            #expect(c.digit == (v >= 0x30 && v <= 0x39 ? all : 0))
            #expect(c.quote_parity == cejson_prefix_xor(c.quote))
            #expect((c.rare != 0) == (v == 0x5C || v < 0x20))
            #expect((c.high != 0) == (v >= 0x80))
            #expect(r.backslash == (v == 0x5C ? all : 0))
            #expect(r.control == (v < 0x20 ? all : 0))
            #expect(r.newline == ([0x09, 0x0A, 0x0D].contains(v) ? all : 0))
        }
    }
}
