import Testing

@testable import ChannelMetrics

/// The word-at-a-time validator (`Cursor.skipValue`) against the recursive one it replaced,
/// kept here as the reference: same rejection, same end position, on every input —
/// specials and escapes at every 8-byte word edge, number edge cases, nesting across the
/// 64-level bit stack and the depth bound, random damaged documents.
@Suite struct JSONSkippingTests {
    /// What validating `text` gives: the rejection, or where the value ended.
    enum Outcome: Equatable {
        case rejected(JSONRejection)
        case ended(at: Int)
    }

    static func fast(_ bytes: [UInt8], maxDepth: Int = 512, depth: Int = 0) -> Outcome {
        bytes.withUnsafeBufferPointer { buffer in
            var cursor = Cursor(bytes: buffer, maxDepth: maxDepth)
            do throws(JSONRejection) {
                try cursor.skipValue(depth: depth)
                return .ended(at: cursor.position)
            } catch {
                return .rejected(error)
            }
        }
    }

    static func reference(_ bytes: [UInt8], maxDepth: Int = 512, depth: Int = 0) -> Outcome {
        bytes.withUnsafeBufferPointer { buffer in
            var cursor = ReferenceCursor(bytes: buffer, maxDepth: maxDepth)
            do throws(JSONRejection) {
                try cursor.skipValue(depth: depth)
                return .ended(at: cursor.position)
            } catch {
                return .rejected(error)
            }
        }
    }

    static func expectSame(_ text: [UInt8], maxDepth: Int = 512, depth: Int = 0, sourceLocation: SourceLocation = #_sourceLocation) {
        let expected = reference(text, maxDepth: maxDepth, depth: depth)
        let got = fast(text, maxDepth: maxDepth, depth: depth)
        #expect(got == expected, "\(String(decoding: text, as: UTF8.self).debugDescription)", sourceLocation: sourceLocation)
    }

    /// Inside a string: each byte that ends the word loop, and ordinary ones, at offsets
    /// 0…24 of the content, followed by text and maybe the closing quote.
    @Test(arguments: [
        [0x22], [0x5C, 0x22], [0x5C, 0x5C], [0x5C, 0x6E], [0x5C, 0x78], [0x5C], [0x00], [0x01], [0x0A], [0x1F], [0x20], [0x7F],
        Array("é".utf8), Array("😀".utf8), [0x21], [0x23], [0x5B], [0x5D], [0x5C, 0x75, 0x30, 0x30, 0x65, 0x39],
        [0x5C, 0x75, 0x30, 0x30, 0x65], Array(#"\ud83d\ude00"#.utf8), Array(#"\ud800\u0041"#.utf8), Array(#"\ud800\uZZZZ"#.utf8),
        Array(#"\ud800\u"#.utf8), Array(#"\uDBFF\uDFFF"#.utf8), Array(#"\u+123"#.utf8), Array(#"\/\b\f\r\t"#.utf8),
    ] as [[UInt8]])
    func specialsAtEveryOffsetInAString(_ special: [UInt8]) {
        for offset in 0...24 {
            for after in [0, 1, 6, 7, 8, 9, 17] {
                let content = [UInt8](repeating: UInt8(ascii: "a"), count: offset) + special
                    + [UInt8](repeating: UInt8(ascii: "b"), count: after)
                Self.expectSame([0x22] + content + [0x22])
                Self.expectSame([0x22] + content)  // unterminated
                Self.expectSame([0x22] + content + [0x22, 0x2C, 0x31])  // a value follows
                Self.expectSame(Array(#"{"k":"#.utf8) + [0x22] + content + Array(#"","x":1}"#.utf8))
            }
        }
    }

    /// `stringSpecialBytes` flags exactly the first special byte of a word, in every lane.
    @Test func specialByteMaskFindsTheFirstInEveryLane() {
        for lane in 0..<8 {
            for value in 0...255 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[lane] = UInt8(value)
                for laterLane in lane..<8 {
                    var withLater = bytes
                    if laterLane > lane { withLater[laterLane] = 0x00 }  // a second special above it
                    let word = withLater.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                    let mask = Cursor.stringSpecialBytes(word)
                    let isSpecial = value == 0x22 || value == 0x5C || value < 0x20
                    let expectedLane = isSpecial ? lane : (laterLane > lane ? laterLane : 8)
                    let lowest = mask == 0 ? 8 : mask.trailingZeroBitCount >> 3
                    if lowest != expectedLane {
                        Issue.record("lane \(lane) value \(value) later \(laterLane): got \(lowest)")
                        return
                    }
                }
            }
        }
    }

    /// `nonDigitBytes` is exact in every lane, for every byte value, whatever its neighbours.
    @Test func nonDigitMaskIsExactInEveryLane() {
        for lane in 0..<8 {
            for value in 0...255 {
                for neighbour: UInt8 in [0x30, 0x39, 0x00, 0xFF, 0x2F, 0x3A] {
                    var bytes = [UInt8](repeating: neighbour, count: 8)
                    bytes[lane] = UInt8(value)
                    let word = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                    let mask = Cursor.nonDigitBytes(word)
                    for l in 0..<8 {
                        let flagged = (mask >> (8 * UInt64(l) + 7)) & 1 == 1
                        let isDigit = bytes[l] >= 0x30 && bytes[l] <= 0x39
                        if flagged == isDigit {
                            Issue.record("lane \(l) of \(bytes): flagged \(flagged)")
                            return
                        }
                    }
                }
            }
        }
    }

    /// Digit runs of every length 0…20 ending at every offset, then each possible next byte.
    @Test func digitRunsOfEveryLength() {
        for prefix in 0...9 {
            for digits in 1...20 {
                for next in ["", ",", ".5", "e5", "E+1", "x", "/", ":", "]"] {
                    let number = String(repeating: "1", count: digits)
                    let text = "[" + String(repeating: "0,", count: prefix) + number + next + "]"
                    Self.expectSame(Array(text.utf8))
                    Self.expectSame(Array(("[1." + number + next + "]").utf8))
                    Self.expectSame(Array(("[1e" + number + next + "]").utf8))
                    Self.expectSame(Array(("-" + number + next).utf8))
                }
            }
        }
    }

    static let numbers: [String] = {
        let long4300 = String(repeating: "7", count: 4300)
        let long4301 = String(repeating: "7", count: 4301)
        return [
            "0", "-0", "01", "-01", "00", "1", "12345678901234567890", "1.", "1.5", "1.e5", "1e", "1e+", "1e-", "1E5", "1e+5", "1e-5",
            "1.5e5", "1.5E-05", "-", "-a", "--1", "-.5", ".5", "0.0", "0e0", "0x1", "1.5.5", "1e5e5", "-Infinity", "-Infinit", "-inf",
            "-NaN", long4300, "-" + long4300, long4301, "-" + long4301, long4301 + ".5", long4301 + "e5", long4301 + ".", long4301 + "e",
            long4301 + "E+", "1" + String(repeating: "0", count: 5000) + ".0",
        ]
    }()

    @Test func numbersAloneAndInContainers() {
        for number in Self.numbers {
            Self.expectSame(Array(number.utf8))
            Self.expectSame(Array("[\(number)]".utf8))
            Self.expectSame(Array("[\(number),\(number)]".utf8))
            Self.expectSame(Array("{\"a\": \(number) }".utf8))
            Self.expectSame(Array("[\(number)x]".utf8))
        }
    }

    /// The scanner `parse` uses, against the previous one.
    @Test func scanNumberAgreesWithTheReference() {
        for number in Self.numbers {
            for suffix in ["", ",", "]", " ", "x", "."] {
                let bytes = Array((number + suffix).utf8)
                let (fast, fastEnd) = bytes.withUnsafeBufferPointer { buffer -> (Result<Bool, JSONRejection>, Int) in
                    var cursor = Cursor(bytes: buffer, maxDepth: 8)
                    do throws(JSONRejection) {
                        let scanned = try cursor.scanNumber()
                        return (.success(scanned.isFloat), cursor.position)
                    } catch {
                        return (.failure(error), -1)
                    }
                }
                let (slow, slowEnd) = bytes.withUnsafeBufferPointer { buffer -> (Result<Bool, JSONRejection>, Int) in
                    var cursor = ReferenceCursor(bytes: buffer, maxDepth: 8)
                    do throws(JSONRejection) {
                        let scanned = try cursor.scanNumber()
                        return (.success(scanned.isFloat), cursor.position)
                    } catch {
                        return (.failure(error), -1)
                    }
                }
                #expect(fast == slow && fastEnd == slowEnd, "\(number + suffix)")
            }
        }
    }

    static let literals = ["null", "true", "false", "NaN", "Infinity", "-Infinity", "nul", "tru", "fals", "Na", "Infinit", "nulls", "n", "N", "I", "-I", "None"]

    @Test func literalsAloneAndInContainers() {
        for literal in Self.literals {
            Self.expectSame(Array(literal.utf8))
            Self.expectSame(Array("[\(literal)]".utf8))
            Self.expectSame(Array("{\"a\":\(literal),\"b\":\(literal)}".utf8))
        }
    }

    /// Nesting around the 64 levels of the bit stack and at the depth bound, objects and
    /// arrays mixed, each level closed, left open, or broken inside.
    @Test func nestingAcrossTheBitStackAndTheBound() {
        for levels in [1, 2, 63, 64, 65, 66, 127, 128, 129, 130, 200] {
            var open = ""
            var close = ""
            for level in 0..<levels {
                if level % 3 == 1 {
                    open += "{\"k\": "
                    close = "}" + close
                } else {
                    open += "[0, "
                    close = "]" + close
                }
            }
            for inner in ["1", "[]", "{}", "\"s\"", "x", "1e", "{\"a\":[1,{\"b\":2}]}", String(repeating: "9", count: 4400)] {
                let whole = Array((open + inner + close).utf8)
                for maxDepth in [levels - 1, levels, levels + 1, levels + 2, 512] {
                    for depth in [0, 1] {
                        Self.expectSame(whole, maxDepth: maxDepth, depth: depth)
                        Self.expectSame(Array(whole.dropLast()), maxDepth: maxDepth, depth: depth)
                        Self.expectSame(whole + Array(" ,1".utf8), maxDepth: maxDepth, depth: depth)
                    }
                }
            }
        }
    }

    @Test(arguments: [
        "", " ", "{", "[", "}", "]", "{}", "[]", "{ }", "[ ]", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "[1,]", "[,1]", "{,}",
        "{1:2}", "{\"a\":1 \"b\":2}", "[1 2]", " \t\n\r[ \t\n\r1 \t\n\r, \t\n\r2 \t\n\r] ", "[\u{0B}1]", "[1\u{0C}]", "{\"a\"\u{00}:1}",
        "[1]]", "[[1]", "{\"a\":{\"b\":[]}}", "{\"a\":[}", "[{]", "[\"\\u00\"]", "\"\\", "\"\\u", "[\"a\"\u{00}]",
    ])
    func smallDocuments(_ text: String) {
        Self.expectSame(Array(text.utf8))
        Self.expectSame(Array(text.utf8), maxDepth: 1)
    }

    /// The generator of `TopLevelKeyScanTests`, damaged and cut at random: the two agree.
    @Test func randomDamagedDocuments() {
        var g = TopLevelKeyScanTests.Generator(state: 7)
        for i in 0..<20_000 {
            let bytes = g.damagedDocument(i)
            let maxDepth = [2, 3, 8, 512][g.next(4)]
            if Self.fast(bytes, maxDepth: maxDepth) != Self.reference(bytes, maxDepth: maxDepth) {
                Issue.record("differs on \(String(decoding: bytes, as: UTF8.self).debugDescription), maxDepth \(maxDepth)")
                return
            }
        }
    }
}
