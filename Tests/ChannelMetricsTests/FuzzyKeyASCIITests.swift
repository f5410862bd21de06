import Testing

@testable import ChannelMetrics

/// `FuzzyKey.matches(ascii:)` reads an ASCII name's bytes without building its String; it must
/// answer as the scalar rule (`matches(_:)` on the String) for every ASCII name.
@Suite struct FuzzyKeyASCIITests {
    typealias Dice = TopLevelKeyScanTests.Generator

    static let keys = [
        FuzzyKey.code, .errorCode, .methodCode, FuzzyKey("a"), FuzzyKey("abcdefghijklmnop"), FuzzyKey("abcdefghijklmnopq"),
        FuzzyKey("a1"), FuzzyKey("x-y"), FuzzyKey(""), FuzzyKey("K"),
    ]

    @Test func asciiNamesAnswerAsTheScalarRule() {
        // Every ASCII byte appears, near-misses of the keys' letters most often.
        let pieces = ["c", "C", "o", "O", "d", "D", "e", "E", "-", "_", "error", "ERROR", "method", "Method", "abcdefgh", "ABCDEFGH", "ijklmnop", "q", "1", "@", "`", "{", "[", "\u{7F}", " "]
            + (0..<128).map { String(UnicodeScalar(UInt8($0))) }
        var dice = Dice(state: 5)
        var matched = 0
        for _ in 0..<50_000 {
            let name = (0..<dice.next(6)).map { _ in dice.next(3) == 0 ? pieces[25 + dice.next(128)] : pieces[dice.next(25)] }.joined()
            let bytes = Array(name.utf8)
            for key in Self.keys {
                let fast = bytes.withUnsafeBufferPointer { key.matches(ascii: $0) }
                #expect(fast == key.matches(name), "\(key.normalized) vs \(name.debugDescription)")
                if fast { matched += 1 }
            }
        }
        for (key, name) in [(FuzzyKey.code, "CoDe"), (.errorCode, "ERROR_CODE"), (.methodCode, "Method-Code"), (.methodCode, "METHODCODE")] {
            #expect(Array(name.utf8).withUnsafeBufferPointer { key.matches(ascii: $0) })
        }
        #expect(matched > 500)
    }
}
