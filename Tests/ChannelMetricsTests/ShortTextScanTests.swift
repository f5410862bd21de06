import CJSONBlocks
import Testing

@testable import ChannelMetrics

/// The short text's first pass (`fill_short`: a text of at most `CEJSON_SHORT_TEXT` bytes read
/// from a padded copy, all its blocks at once) against the long text's (`fill`, the last block
/// apart), and `cejson_scan_keys` (the top-level names matched where the grammar finds them)
/// against `cejson_scan`'s members handed back and matched one after the other, at every
/// level: on valid, invalid, nested, escaped, non-ASCII and cut texts of every length up to the
/// short text's and past it.
///
/// A text followed by whitespace is the same text to both passes (the last block is read as if
/// spaces followed), so a short text and the same text made long by spaces must give the same
/// token starts, anomaly, outcome and matches.
@Suite struct ShortTextScanTests {
    typealias Generator = TopLevelKeyScanTests.Generator

    static let shortText = Int(CEJSON_SHORT_TEXT)

    /// The outcome and matches of `cejson_scan_keys` at `level`.
    static func scanKeys(
        _ bytes: [UInt8], keys: [FuzzyKey], maxDepth: Int, level: Int32
    ) -> (outcome: Int32, matches: [cejson_match]) {
        bytes.withUnsafeBufferPointer { buffer in
            var search = TopLevelKeySet(keys).search
            let outcome = withUnsafeTemporaryAllocation(of: cejson_scanner.self, capacity: 1) { scanner in
                cejson_scan_keys(scanner.baseAddress!, buffer.baseAddress, buffer.count, maxDepth, level, &search)
            }
            return (outcome, Array([search.matches.0, search.matches.1].prefix(keys.count)))
        }
    }

    /// What is wrong with `bytes` (at most `shortText` long) read short and long, at every level.
    static func check(_ bytes: [UInt8], keys: [FuzzyKey] = [.code, .errorCode], maxDepth: Int = 512, sourceLocation: SourceLocation = #_sourceLocation) {
        precondition(bytes.count <= shortText)
        let long = bytes + [UInt8](repeating: 0x20, count: 2 * shortText + 1)
        let text = String(decoding: bytes, as: UTF8.self).debugDescription
        // A text of whole blocks ending in an escape's backslash: the escaped byte is past the
        // text, no anomaly of it (JSONBlockTokenTests.referenceTokens); made long, it is a space.
        let trailingBackslashes = bytes.reversed().prefix { $0 == 0x5C }.count
        let escapesPastTheEnd = bytes.count % 64 == 0 && trailingBackslashes % 2 == 1
        for level in JSONBlockScanTests.levels {
            let short = JSONBlockTokenTests.streamTokens(bytes, level: level)
            let padded = JSONBlockTokenTests.streamTokens(long, level: level)
            #expect(short.tokens == padded.tokens, "level \(level): \(text)", sourceLocation: sourceLocation)
            #expect((short.anomaly ?? (escapesPastTheEnd ? bytes.count : nil)) == padded.anomaly, "level \(level): \(text)", sourceLocation: sourceLocation)
            let shortScan = scanKeys(bytes, keys: keys, maxDepth: maxDepth, level: level)
            let longScan = scanKeys(long, keys: keys, maxDepth: maxDepth, level: level)
            #expect(shortScan.outcome == longScan.outcome, "level \(level): \(text)", sourceLocation: sourceLocation)
            #expect(shortScan.matches.map(\.summary) == longScan.matches.map(\.summary), "level \(level): \(text)", sourceLocation: sourceLocation)
            checkAgainstMembers(bytes, keys: keys, maxDepth: maxDepth, level: level, sourceLocation: sourceLocation)
        }
    }

    /// `cejson_scan_keys` against `cejson_scan`'s members noted by `TopLevelScanner.scanInBlocks`
    /// (which decodes a name that is not plain where `cejson_scan_keys` says `CEJSON_NOT_PLAIN`).
    static func checkAgainstMembers(
        _ bytes: [UInt8], keys: [FuzzyKey], maxDepth: Int, level: Int32, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let text = String(decoding: bytes, as: UTF8.self).debugDescription
        let (outcome, matches) = scanKeys(bytes, keys: keys, maxDepth: maxDepth, level: level)
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = TopLevelScanner(bytes: buffer, maxDepth: maxDepth)
            var slots = MatchSlots(count: keys.count)
            let members = scanner.scanInBlocks(keys, into: &slots, level: level)
            switch (outcome, members) {
            case (Int32(CEJSON_VALID), .valid):
                for (i, match) in matches.enumerated() {
                    let slot = slots[i]
                    #expect((match.name_end != 0) == (slot != nil), "key \(i), level \(level): \(text)", sourceLocation: sourceLocation)
                    if let slot, match.name_end != 0 {
                        #expect(slot.range == (match.name_start + 1)..<match.name_end, "key \(i), level \(level): \(text)", sourceLocation: sourceLocation)
                        #expect(slot.valueStart == match.value_start, "key \(i), level \(level): \(text)", sourceLocation: sourceLocation)
                    }
                }
            case (Int32(CEJSON_UNDECIDED), .undecided), (Int32(CEJSON_NOT_AN_OBJECT), .notAnObject):
                break
            case (Int32(CEJSON_NOT_PLAIN), .valid), (Int32(CEJSON_NOT_PLAIN), .undecided):
                break
            default:
                Issue.record("keys \(outcome) vs members \(members), level \(level): \(text)", sourceLocation: sourceLocation)
            }
        }
    }

    /// Random documents (objects and values, nested, with escapes, non-ASCII names and strings,
    /// names matching `code` in every spelling), damaged and cut, of up to `CEJSON_SHORT_TEXT`
    /// bytes; and random bytes from JSON's significant ones.
    @Test func randomTextsUpToTheShortLength() {
        var g = Generator(state: 128)
        var valid = 0
        for i in 0..<4_000 {
            let document = g.damagedDocument(i, damageDraw: 3, byteLimit: 256)
            let cut = document.count > Self.shortText ? Array(document.prefix(g.next(Self.shortText + 1))) : document
            Self.check(cut, maxDepth: [1, 2, 8, 512][g.next(4)])
            if case (Int32(CEJSON_VALID), _) = Self.scanKeys(cut, keys: [.code], maxDepth: 512, level: cejson_best_level()) { valid += 1 }
        }
        #expect(valid > 500)
        let alphabet: [UInt8] = Array("{}[]:,\"\\ \t\n\r0123456789.eE+-truefalsnNIy/bu".utf8) + [0x01, 0x1F, 0x80, 0xC3, 0xA9, 0xFF]
        for _ in 0..<4_000 {
            Self.check((0..<g.next(Self.shortText + 1)).map { _ in alphabet[g.next(alphabet.count)] })
        }
    }

    /// Objects of every length 0…`CEJSON_SHORT_TEXT` (the shapes of `UsualBodyScanTests`, k1m-small's
    /// bodies among them), cut at every length and with an escape, a control byte or a
    /// non-ASCII byte at every place of some of them.
    @Test func everyLengthAndEveryPlace() {
        for length in 0...Self.shortText {
            for shape in 0..<8 {
                let body = UsualBodyScanTests.object(length: length, shape: shape)
                Self.check(body)
                if length % 17 == 0 {
                    for place in body.indices {
                        for byte: UInt8 in [0x5C, 0x01, 0xC3, 0x22] {
                            var damaged = body
                            damaged[place] = byte
                            Self.check(damaged)
                        }
                    }
                }
            }
        }
        let benchmark = Array(#"{"code":0,"message":"ok","data":{"id":11,"status":"PAID","amount":660146,"traceId":"8ad615354c4dbbc6"}}"#.utf8)
        for cut in 0...benchmark.count { Self.check(Array(benchmark.prefix(cut))) }
    }

    /// A backslash or an escape at the end of a short text and at the block edge, nesting up
    /// to and beyond the depth bound, and names that are not plain before and after `code`.
    @Test func edges() {
        for text in [
            #"{"a":"\"#, #"{"a":"\u00"#, #"{"a":"\u0041"}"#, #"{"c\u006fde":1,"code":2}"#, #"{"code":1,"c\u006fde":2}"#,
            "{\"code\":\"é\",\"é\":1}", "{\"é\":1,\"code\":2}", "[{\"code\":1}]", "{\"code\":[[[[1]]]]}", "  {\"code\" : 7 }  ",
        ] {
            for maxDepth in [0, 1, 2, 3, 512] { Self.check(Array(text.utf8), maxDepth: maxDepth) }
        }
        for length in [62, 63, 64, 65, 126, 127, 128] {
            let head = Array(#"{"code":1,"m":""#.utf8)
            let fill = [UInt8](repeating: 0x78, count: max(0, length - head.count - 3))
            Self.check(head + fill + Array(#"\""#.utf8))
            Self.check(head + fill + Array("\\".utf8))
            Self.check(head + fill + Array("\"}".utf8))
        }
    }
}

/// `cejson_scan_keys`' names as long as the key, compared by words (4…16 bytes) or bytes (fewer):
/// for keys of every length 1…16, each name of that length with one byte changed (its case, a
/// neighbour of a letter's range: `@ [ \` {`, `-`, `_`, a digit) at every place, matched as
/// `FuzzyKey.matches` (the byte-by-byte scan) matches it.
@Suite struct KeyWordCompareTests {
    @Test func namesAsLongAsTheKey() {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var matched = 0
        for length in 1...16 {
            let key = Array(letters[0..<length].map { $0 }.shuffledDeterministically(seed: length))
            let fuzzy = FuzzyKey(String(decoding: key, as: UTF8.self))
            #expect(fuzzy.blockKey != nil)
            var names: [[UInt8]] = [key, key.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }]
            for place in 0..<length {
                for byte: UInt8 in [0x40, 0x5B, 0x60, 0x7B, 0x2D, 0x5F, 0x30, key[place] ^ 0x20, key[place] &+ 1] {
                    var name = key
                    name[place] = byte
                    names.append(name)
                }
            }
            for name in names {
                let text = Array("{\"".utf8) + name + Array("\":1}".utf8)
                guard !name.contains(0x22) && !name.contains(0x5C) else { continue }
                let (outcome, matches) = ShortTextScanTests.scanKeys(text, keys: [fuzzy], maxDepth: 512, level: cejson_best_level())
                #expect(outcome == CEJSON_VALID)
                let expected = name.withUnsafeBufferPointer { fuzzy.matches(ascii: $0) }
                #expect((matches[0].name_end != 0) == expected, "\(String(decoding: name, as: UTF8.self)) for \(fuzzy.normalized)")
                if expected { matched += 1 }
            }
        }
        #expect(matched >= 2 * 16)
    }
}

extension Array {
    /// The elements in an order drawn from `seed` (the same on every run).
    func shuffledDeterministically(seed: Int) -> [Element] {
        var g = TopLevelKeyScanTests.Generator(state: UInt64(seed))
        var copy = self
        for i in stride(from: copy.count - 1, to: 0, by: -1) { copy.swapAt(i, g.next(i + 1)) }
        return copy
    }
}

extension cejson_match {
    /// The match's places (an imported C struct is not Equatable).
    var summary: [Int] { [name_start, name_end, value_start] }
}
