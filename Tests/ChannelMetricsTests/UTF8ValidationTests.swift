import Testing

@testable import ChannelMetrics

/// The word-at-a-time validator against the standard library's strict UTF-8 decoder (what
/// `BodyTextDecoding.strictUTF8` used before): same verdict on every input, at every
/// position relative to the 8- and 32-byte words of the ASCII fast path.
@Suite struct UTF8ValidationTests {
    /// The previous implementation, kept as the reference.
    static func referenceIsValid(_ bytes: [UInt8]) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// Bytes around every boundary of Table 3-7.
    static let edgeBytes: [UInt8] = [
        0x00, 0x41, 0x7F, 0x80, 0x81, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF,
        0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF,
    ]

    static func check(_ bytes: [UInt8]) -> Bool {
        UTF8Validation.isValid(bytes) == referenceIsValid(bytes)
    }

    @Test func everyOneAndTwoByteSequence() {
        for first in 0...255 {
            for second in 0...255 {
                let pair = [UInt8(first), UInt8(second)]
                if !Self.check(pair) {
                    Issue.record("differs on \(pair)")
                    return
                }
            }
        }
    }

    /// Past the second byte only "continuation or not" matters (Table 3-7).
    static let laterBytes: [UInt8] = [0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xFF]

    @Test func leadsWithEdgeContinuations() {
        for lead in 0x80...0xFF {
            for b1 in Self.edgeBytes {
                for b2 in Self.laterBytes {
                    for b3 in Self.laterBytes {
                        let bytes = [UInt8(lead), b1, b2, b3]
                        for cut in 1...4 where !Self.check(Array(bytes.prefix(cut))) {
                            Issue.record("differs on \(bytes.prefix(cut))")
                            return
                        }
                    }
                }
            }
        }
    }

    static let characters: [[UInt8]] = [
        Array("é".utf8), Array("€".utf8), Array("😀".utf8), Array("\u{7FF}".utf8), Array("\u{800}".utf8), Array("\u{FFFF}".utf8),
        Array("\u{10000}".utf8), Array("\u{10FFFF}".utf8), Array("\u{D7FF}".utf8), Array("\u{E000}".utf8),
    ]
    static let invalid: [[UInt8]] = [
        [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
        [0xF0, 0x80, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF],
        [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC3, 0x41], [0xE2, 0x41, 0x82], [0xF0, 0x9F, 0x41, 0x80],
    ]

    /// Each character, valid or not, at every offset 0…70 in ASCII text of every length around
    /// it, so it straddles each word edge and sits in each tail.
    @Test func charactersAtEveryWordEdge() {
        for character in Self.characters + Self.invalid {
            for offset in 0...140 {  // every edge of the 64-, 32- and 8-byte rounds
                for after in [0, 1, 3, 7, 8, 9, 31, 33, 63, 65] {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: offset)
                    bytes += character
                    bytes += [UInt8](repeating: UInt8(ascii: "b"), count: after)
                    let valid = !Self.invalid.contains(character)
                    if UTF8Validation.isValid(bytes) != valid || !Self.check(bytes) {
                        Issue.record("\(character) at \(offset), \(after) after: expected \(valid)")
                        return
                    }
                }
            }
        }
    }

    @Test func randomMixtures() {
        var random = AdversarialInputTests.SeededGenerator(state: 0x0075_7466_38)
        let pieces = Self.characters + Self.invalid + [Array("plain ascii text, ".utf8), Array("x".utf8), [0x7F], [0x00]]
        var invalidSeen = 0
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0..<24, using: &random) {
                bytes += Int.random(in: 0..<4, using: &random) == 0
                    ? pieces.randomElement(using: &random)!
                    : Self.characters.randomElement(using: &random)! + Array("abc".utf8)
            }
            if !Self.referenceIsValid(bytes) { invalidSeen += 1 }
            if !Self.check(bytes) {
                Issue.record("differs on \(bytes)")
                return
            }
        }
        #expect(invalidSeen > 1000)
    }

    @Test func strictUTF8KeepsValidBytesAndRejectsInvalid() {
        let text = Array(#"{"code": "é😀", "pad": "0123456789abcdefghijklmnopqrstuvwxyz"}"#.utf8)
        #expect(BodyTextDecoding.strictUTF8(text) == text)
        #expect(BodyTextDecoding.strictUTF8([]) == [])
        #expect(BodyTextDecoding.strictUTF8(text + [0xED, 0xA0, 0x80]) == nil)
        #expect(BodyTextDecoding.pythonJSONBytes([0xEF, 0xBB, 0xBF] + text) == text)
        #expect(BodyTextDecoding.pythonJSONBytes([0xEF, 0xBB, 0xBF, 0xC0, 0x80]) == nil)
    }
}
