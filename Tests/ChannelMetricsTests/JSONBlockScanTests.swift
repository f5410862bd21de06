import CJSONBlocks
import Testing

@testable import ChannelMetrics

/// The two-pass top-level scan in C (`TopLevelScanner.scanInBlocks` over `cejson_scan`)
/// against the byte-by-byte one and the recursive reference validator: when it says valid,
/// the byte-by-byte scan accepts the text with the same matches; when it says not an object,
/// so does the other; it is undecided only on text the other rejects (or nesting beyond its
/// 63 levels) — on every input: specials at every offset of a 64-byte block, nesting at the
/// bounds; and every classifier level (portable, SSE2, AVX2) gives the same outcome.
@Suite struct JSONBlockScanTests {
    typealias Outcome = TopLevelScanner.BlockScanOutcome

    /// A match as compared: the name, its ASCII range, its decoded text, where its value starts.
    struct Slot: Equatable {
        let name: String
        let asciiRange: Range<Int>?
        let decoded: String?
        let valueStart: Int
    }

    static func slots(_ matches: MatchSlots, _ count: Int, in bytes: UnsafeBufferPointer<UInt8>) -> [Slot?] {
        (0..<count).map { i in
            matches[i].map {
                Slot(name: MatchSlots.name(of: $0, in: bytes), asciiRange: $0.asciiRange, decoded: MatchSlots.decodedName(of: $0, in: bytes), valueStart: $0.valueStart)
            }
        }
    }

    /// The classifier levels this processor runs, the portable one first.
    static let levels: [Int32] = [CEJSON_LEVEL_PORTABLE, CEJSON_LEVEL_SSE2, CEJSON_LEVEL_AVX2, CEJSON_LEVEL_NEON].map { Int32($0) }
        .filter { cejson_level_available($0) != 0 }

    /// Whether the recursive reference validator accepts the whole text.
    static func referenceAccepts(_ buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) -> Bool {
        var reference = ReferenceCursor(bytes: buffer, maxDepth: maxDepth)
        reference.skipWhitespace()
        do throws(JSONRejection) {
            try reference.skipValue(depth: 0)
        } catch {
            return false
        }
        reference.skipWhitespace()
        return reference.position == buffer.count
    }

    /// What is wrong with the two-pass scan of `bytes`, or nil; and what it said.
    @discardableResult
    static func check(
        _ bytes: [UInt8], keys: [FuzzyKey] = [.code, .errorCode], maxDepth: Int = 512,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Outcome {
        bytes.withUnsafeBufferPointer { buffer in
            var fast = TopLevelScanner(bytes: buffer, maxDepth: maxDepth)
            var fastMatches = MatchSlots(count: keys.count)
            let outcome = fast.scanInBlocks(keys, into: &fastMatches, level: levels[0])
            let text = String(decoding: bytes, as: UTF8.self).debugDescription
            // Every level: the same outcome and matches as the portable one.
            for level in levels.dropFirst() {
                var other = TopLevelScanner(bytes: buffer, maxDepth: maxDepth)
                var otherMatches = MatchSlots(count: keys.count)
                let otherOutcome = other.scanInBlocks(keys, into: &otherMatches, level: level)
                #expect(otherOutcome == outcome, "level \(level): \(otherOutcome) vs \(outcome): \(text)", sourceLocation: sourceLocation)
                #expect(slots(otherMatches, keys.count, in: buffer) == slots(fastMatches, keys.count, in: buffer), "level \(level): \(text)", sourceLocation: sourceLocation)
            }
            var slow = TopLevelScanner(bytes: buffer, maxDepth: maxDepth)
            var slowMatches = MatchSlots(count: keys.count)
            let slowResult: Result<Bool, JSONRejection>
            do throws(JSONRejection) {
                slowResult = .success(try slow.scanByteByByte(keys, into: &slowMatches))
            } catch {
                slowResult = .failure(error)
            }
            switch (outcome, slowResult) {
            case (.valid, .success(true)):
                #expect(slots(fastMatches, keys.count, in: buffer) == slots(slowMatches, keys.count, in: buffer), "matches differ: \(text)", sourceLocation: sourceLocation)
                #expect(referenceAccepts(buffer, maxDepth: maxDepth), "the reference rejects: \(text)", sourceLocation: sourceLocation)
            case (.notAnObject, .success(false)), (.undecided, .success(false)):
                break  // (not an object, with an anomaly or nothing before its first token: left to the other scan)
            case (.undecided, .failure):
                #expect(!referenceAccepts(buffer, maxDepth: maxDepth), "the reference accepts: \(text)", sourceLocation: sourceLocation)
            case (.undecided, .success(true)):
                // Only nesting beyond the bit stack (63 levels) may be left to the other scan.
                #expect(nesting(bytes) > 63, "undecided on a valid object: \(text)", sourceLocation: sourceLocation)
            default:
                Issue.record("two-pass \(outcome) vs byte-by-byte \(slowResult): \(text)", sourceLocation: sourceLocation)
            }
            return outcome
        }
    }

    /// The deepest nesting of brackets outside strings (for valid text).
    static func nesting(_ bytes: [UInt8]) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for b in bytes {
            if inString {
                if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
                continue
            }
            switch b {
            case 0x22: inString = true
            case 0x7B, 0x5B:
                depth += 1
                deepest = max(deepest, depth)
            case 0x7D, 0x5D: depth -= 1
            default: break
            }
        }
        return deepest
    }

    /// Texts that end the first member's value at every offset 0…130 of the text, so that
    /// each special meets every position in a block and both sides of each block edge.
    static func atEveryOffset(_ value: String, then rest: String = #","code":1}"#) -> [[UInt8]] {
        (0...130).map { pad in Array(("{\"p\":\"" + String(repeating: "a", count: pad) + "\",\"k\":" + value + rest).utf8) }
    }

    static let values: [String] = [
        "0", "7", "-0", "12", "1234567", "12345678", "123456789012345678901", "01", "1.5", "1.", "1e5", "1E+5", "1e", "-",
        "-1", "-a", "1x", "1 ", "1\t", "1\n", " 1 ", "true", "false", "null", "NaN", "Infinity", "-Infinity", "tru", "truex",
        "nul", "fals", "Na", "Infinit", "-Infinit", "None", "\"\"", "\"s\"", "\"a\\\"b\"", "\"\\\\\"", "\"\\\\\\\"\"",
        "\"\\\\\\\\\"", "\"\\u00e9\"", "\"\\u00E9\\ud83d\\ude00\"", "\"\\u00g9\"", "\"\\u00\"", "\"\\x\"", "\"\\/\\b\\f\\n\\r\\t\"",
        "\"a\u{01}b\"", "\"a\u{1F}\"", "\"é😀\"", "\"\\\"", "\"unterminated", "[]", "{}", "[ ]", "{ }", "[1,2]", "[1,]", "[,1]",
        "{\"a\":1}", "{\"a\" : [true, {\"b\":null}]}", "{\"a\"}", "{\"a\":}", "{1:2}", "[1 2]", "[1]]", "[[1]", "{\"a\":1,}",
        "\"x\" \"y\"", "\u{0B}1", "1\u{0C}", "\u{00}", "]", "}", ":", ",", "\\", "\"\\", "\"\\u", "x",
        String(repeating: "9", count: 4300), String(repeating: "9", count: 4301), String(repeating: "9", count: 4301) + ".5",
        "\"" + String(repeating: "\\\\", count: 40) + "\"", "\"" + String(repeating: "\\\\", count: 40) + "\\\"\"",
        "[" + String(repeating: "1,", count: 60) + "1]", "\"" + String(repeating: "x", count: 150) + "\"",
        // Separators joined to the bytes around them (no token), or not; in the right place or not.
        "\"x\":1", "\"x\":\"y\"", "\"x\":{}", "\"x\":[", "\"x\":-", "\"x\":\\", "[\"a\":1]", "[\"a\":[]]", "{\"a\"1}", "{\"a\" :1}", "{\"a\": 1}", "{\"a\" : 1}", "{\"a\":\"b\":1}", "{\"a\"::1}", "{\"a\":,1}", "{\"a\":}", "{\"a\":]", "{\"a\":{\"b\":{\"c\":[\"d\"]}}}", "{\"a\":\"b\",\"c\":\"d\"}", "[\"a\",\"b\":\"c\"]", "{\"a\"\"b\"}",
        "[1,2,\"a\",3]", "[1:2]", "[\"a\":\"b\"]", "{\"a\":1,2}", "{\"a\",\"b\":1}", "{\"a\":1,\"b\":2,\"c\":\"d\"}", "[1e1,\"a\"]", "[\"a\",1]", "[1,]", "[0,0]", "[01,1]", "{\"a\":1:\"b\"}", "{\"a\":\"b\",}", "[\"a\"\"b\"]",
        // Brackets joined to the bytes around them (no token): errors all the same.
        "1]2", "\"a\"]\"b\"", "[1}2]", "{\"a\":1]2}", "[\"a\"[\"b\"]]", "{\"a\":\"b\"}\"c\"", "[1{2]", "[true]false]", "[1]2]",
        "{\"a\"}:1}", "{\"a\":1}\"b\":2}", "[\"a\"]]", "[1[2]]", "x{y", "{\"a\"{:1}", "[\"a\"}\"b\"]", "{\"a\":x]}",
        // Integers by the digit mask (one addition) across block edges, leading zeros, long runs.
        "[0,10,100,1000]", "[00]", "[0,01]", "-01", "[9,99,999,9999,99999,999999,9999999]", "{\"a\":0,\"b\":10}", "[0x]",
        "[10.5,0.5,0e1,00.5]", String(repeating: "1", count: 68), String(repeating: "1", count: 68) + "e2", "[" + String(repeating: "0", count: 70) + "]",
        "[\"a\",true,1,null,-1,false,\"b\",-0.5,NaN]", "{\"a\":true,\"b\":null,\"c\":-2}", "{\"a\":1:true}", "[1,x]", "[\"a\",\\]", "{\"a\":1,true}", "{\"a\",true}", "[true:1]", "[\"a\":-1]", "[true,false,null]", "[tru,1]", "[1.5,-2e3,\"x\"]", "[x,1]", "[\"a\"x,1]", "{\"a\"x:1}", "[1,,2]", "[,1]", "{,\"a\":1}", "[1:,2]",
    ]

    @Test(arguments: values)
    func valuesAtEveryBlockOffset(_ value: String) {
        for text in Self.atEveryOffset(value) { Self.check(text) }
        for text in Self.atEveryOffset(value, then: "}") { Self.check(text) }
        for text in Self.atEveryOffset(value, then: "") { Self.check(text) }  // cut
        for text in Self.atEveryOffset(value, then: " ,\"code\" : \"c\" } \n") { Self.check(text) }
    }

    /// Valid values at every offset are decided (not left to the other scan).
    @Test func validValuesAreDecided() {
        for value in ["{\"a\":{\"b\":[\"c\",{\"d\":-1}]},\"e\":\"f\"}", "[1,\"a\",2,3,\"b\",\"c\"]", "{\"a\":1,\"b\":\"c\",\"d\":22}", "[\"a\",true,1,null,-1,false]", "{\"a\":true,\"b\":null,\"c\":-2}", "0", "-12.5e3", "true", "\"a\\\"b\\\\\"", "\"\\u00e9\"", "{\"a\":[1,{}]}", "\"é\"", "NaN", "-Infinity"] {
            for text in Self.atEveryOffset(value) { #expect(Self.check(text) == .valid, "\(value)") }
        }
    }

    /// Runs of 1…70 backslashes (then a quote, a letter or the end) starting at every offset:
    /// which quotes are escaped decides where strings end.
    @Test func backslashRunsAcrossBlockEdges() {
        for run in [1, 2, 3, 4, 5, 62, 63, 64, 65, 66, 70] {
            for pad in 0...70 {
                let head = "{\"p\":\"" + String(repeating: "a", count: pad) + String(repeating: "\\", count: run)
                for tail in ["\"}", "\"\"}", "n\"}", "u0041\"}", "\",\"code\":2}", "\"", ""] {
                    Self.check(Array((head + tail).utf8))
                }
            }
        }
    }

    /// Whitespace and layout: pretty-printed documents (newlines, tabs) at every offset.
    @Test func prettyPrintedDocuments() {
        for pad in 0...70 {
            let text = "{\n\t\"p\": \"" + String(repeating: "a", count: pad) + "\",\r\n  \"code\" : [ 1 ,\t2 ] ,\n  \"x\": { \"y\" : null }\n}\n"
            #expect(Self.check(Array(text.utf8)) == .valid)
        }
        for text in ["{}", " {} ", "{ }", "\t{\n}\r\n", "{}x", "{} {}", "{}\"", "{} \u{0B}", "[]", "1", "\"s\"", "", " ", "\u{01}{}", "{\"code\":1}"] {
            Self.check(Array(text.utf8))
        }
    }

    /// Short texts of every length around the block size (the padded and the full block).
    @Test func lengthsAroundTheBlockSize() {
        for length in 0...140 {
            let filler = max(0, length - 12)
            let text = "{\"code\":\"" + String(repeating: "z", count: filler) + "\"}"
            Self.check(Array(text.utf8))
            Self.check(Array(text.utf8).dropLast())
            Self.check(Array(text.utf8) + [0x20])
        }
    }

    /// The last block at every length up to three blocks: read shifted (a text of 64 bytes or
    /// more: the bytes read with the block before dropped) or from a padded copy (shorter), a
    /// member's value ending at the text's end, one byte before it, past a nested object, or cut.
    @Test func lastBlockAtEveryLength() {
        for length in 1...200 {
            for value in ["7", "10", "0", "\"s\"", "{\"b\":[0]}", "-1.5", "true", "1x"] {
                let head = "{\"p\":\"" + String(repeating: "a", count: max(0, length - 16)) + "\",\"code\":" + value
                for tail in ["}", "} ", "", "]}", ",\"x\":1}", "}}"] {
                    let outcome = Self.check(Array((head + tail).utf8))
                    if value != "1x" && tail.hasPrefix("}") && tail != "}}" { #expect(outcome == .valid, "\(head + tail)") }
                }
            }
        }
    }

    /// The random documents of `TopLevelKeyScanTests`, damaged and cut: the outcomes agree,
    /// and every undamaged object is decided as valid (the fast path is the one taken).
    @Test func randomDocuments() {
        var g = TopLevelKeyScanTests.Generator(state: 99)
        var decided = 0
        for i in 0..<20_000 {
            let bytes = g.damagedDocument(i)
            let maxDepth = [2, 3, 8, 512][g.next(4)]
            if Self.check(bytes, maxDepth: maxDepth) == .valid { decided += 1 }
        }
        #expect(decided > 5_000)
    }

    /// Nesting around the 63-level bit stack and the depth bound.
    @Test func nesting() {
        for levels in [1, 2, 62, 63, 64, 65, 100] {
            let open = String(repeating: "[", count: levels - 1)
            let close = String(repeating: "]", count: levels - 1)
            for maxDepth in [levels - 1, levels, levels + 1, 512] {
                Self.check(Array(("{\"a\":" + open + "1" + close + "}").utf8), maxDepth: maxDepth)
                Self.check(Array(("{\"a\":" + open + "1" + close).utf8), maxDepth: maxDepth)
                Self.check(Array(("{\"a\":" + open + "{}" + close + "}").utf8), maxDepth: maxDepth)
                // Objects in objects, and objects and arrays in turn, with members after each.
                let objects = String(repeating: "{\"a\":", count: levels - 1) + "1" + String(repeating: ",\"code\":2}", count: levels - 1)
                Self.check(Array(("{\"a\":" + objects + ",\"code\":3}").utf8), maxDepth: maxDepth)
                let mixed = (0..<(levels - 1)).map { $0 % 2 == 0 ? "[" : "{\"b\":" }.joined() + "null"
                    + (0..<(levels - 1)).reversed().map { $0 % 2 == 0 ? ",0]" : "}" }.joined()
                Self.check(Array(("{\"code\":" + mixed + "}").utf8), maxDepth: maxDepth)
            }
        }
    }

    /// Each number and literal followed by every byte value, at both ends of a block: a run
    /// ends only at a delimiter (whitespace, a structural character or a quote).
    @Test func scalarsFollowedByEveryByte() {
        for scalar in ["0", "7", "12", "-3", "1.5", "1e5", "true", "false", "null", "NaN", "Infinity", "-Infinity"] {
            for value in 0...255 {
                for pad in [0, 50, 60] {
                    let head = Array(("{\"p\":\"" + String(repeating: "a", count: pad) + "\",\"code\":" + scalar).utf8)
                    Self.check(head + [UInt8(value)] + Array(" }".utf8))
                    Self.check(head + [UInt8(value)] + Array("}".utf8))
                }
            }
        }
    }
}
