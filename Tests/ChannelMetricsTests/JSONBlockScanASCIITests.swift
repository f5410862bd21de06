import CJSONBlocks
import Testing

@testable import ChannelMetrics

/// The block scan's ASCII flag (it reads every byte of a valid text) and the inner-code rule
/// that skips the strict UTF-8 check of an ASCII body on it: the same label and outcome as
/// checking first, for ASCII, UTF-8 and not-UTF-8 bodies, a high byte at every place.
@Suite struct JSONBlockScanASCIITests {
    /// Whether the block scan of `bytes` with `level` is valid and says the text is ASCII.
    static func asciiFlag(_ bytes: [UInt8], level: Int32) -> (valid: Bool, ascii: Bool) {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = TopLevelScanner(bytes: buffer, maxDepth: 512)
            var matches = MatchSlots(count: 1)
            let outcome = scanner.scanInBlocks([.code], into: &matches, level: level)
            return (outcome == .valid, scanner.textIsASCII)
        }
    }

    /// A valid object of `length` bytes (at least 12) whose string spans most of it.
    static func object(length: Int) -> [UInt8] {
        Array(("{\"p\":\"" + String(repeating: "a", count: length - 12) + "\",\"code\":7}").utf8)
    }

    /// Every length around one and two blocks (padded, full and shifted last blocks), one high
    /// byte at every place of the string, on every level: the flag is set only without it.
    @Test(arguments: JSONBlockScanTests.levels)
    func flagSeesEveryHighByte(_ level: Int32) {
        for length in [12, 13, 63, 64, 65, 100, 127, 128, 129, 140] {
            var bytes = Self.object(length: length)
            #expect(Self.asciiFlag(bytes, level: level) == (true, true), "length \(length)")
            for place in 6..<(length - 12 + 6) {
                for high: UInt8 in [0x80, 0xC3, 0xFF] {
                    bytes[place] = high
                    #expect(Self.asciiFlag(bytes, level: level) == (true, false), "length \(length), place \(place)")
                }
                bytes[place] = 0x7F
                #expect(Self.asciiFlag(bytes, level: level) == (true, true))
                bytes[place] = UInt8(ascii: "a")
            }
        }
    }

    /// `innerCode` as it was: the strict UTF-8 check of `json.loads`' decoding first, then the scan.
    static func innerCodeCheckingFirst(_ rules: LabelRules, _ body: [UInt8], truncated: Bool) -> (String, BodyCodeOutcome) {
        guard !body.isEmpty else { return ("-1", .empty) }
        guard BodyTextDecoding.pythonJSONBytes(body) != nil else { return ("-1", truncated ? .truncated : .notDecodable) }
        return rules.innerCode(Make.response(body: body, truncated: truncated))
    }

    @Test func innerCodeAgreesWithCheckingUTF8First() {
        let rules = LabelRules()
        let inserts: [[UInt8]] = [
            [], [0xC3, 0xA9], [0xE6, 0x97, 0xA5], [0xF0, 0x9F, 0x98, 0x80],  // UTF-8
            [0xFF], [0xC3], [0xC0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE6, 0x97],  // not UTF-8
            [0xED, 0xA0, 0x80],  // a surrogate: passes (`surrogatepass`)
        ]
        let tails = [",\"code\":7}", ",\"code\":7,}", ",\"code\":\"x\"}", ",\"other\":1}", ",\"code\":7"]
        for pad in [0, 1, 50, 57, 58, 59, 63, 64, 120] {
            for insert in inserts {
                for tail in tails {
                    let body = Array(("{\"p\":\"" + String(repeating: "a", count: pad)).utf8) + insert + Array(("\"" + tail).utf8)
                    for truncated in [false, true] {
                        let got = rules.innerCode(Make.response(body: body, truncated: truncated))
                        let want = Self.innerCodeCheckingFirst(rules, body, truncated: truncated)
                        #expect(got == want, "pad \(pad), insert \(insert), tail \(tail), truncated \(truncated)")
                    }
                }
            }
        }
        // Bodies that are not the usual one (a BOM, UTF-16, one byte, none) or not an object.
        let others: [[UInt8]] = [
            [0xEF, 0xBB, 0xBF] + Array("{\"code\":1}".utf8), [0xEF, 0xBB, 0xBF, 0xFF], Array("{\u{0}\"".utf8),
            [0xFF, 0xFE] + Array("{\"code\":1}".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }),
            Array("7".utf8), [0xFF], [], Array("[\"é\"]".utf8), [0x5B, 0x22, 0xFF, 0x22, 0x5D], Array("{\"code\":\"é\"}".utf8),
        ]
        for body in others {
            #expect(rules.innerCode(Make.response(body: body)) == Self.innerCodeCheckingFirst(rules, body, truncated: false), "\(body)")
        }
        #expect(rules.innerCode(Make.response(body: Array("{\"code\":\"é\"}".utf8))) == ("é", .found))
        #expect(rules.innerCode(Make.response(body: [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])) == ("-1", .notDecodable))
    }
}
