/// Stores that skip releasing an old value owning nothing keep the new value and still release an old one that owns something.
import Testing

@testable import HTTP1Observer

private final class Token {}

@Suite("Stores over empty slots")
struct EmptySlotsTests {
    /// Over the shared empty array the new array is stored as it is; over an array owning storage the
    /// old one is released (its elements go), as an assignment does.
    @Test func arrayStores() {
        var bytes: [UInt8] = []
        bytes.replaceEmpty(with: [1, 2, 3])
        #expect(bytes == [1, 2, 3])
        var emptied: [UInt8] = [9]
        emptied.removeAll()
        emptied.replaceEmpty(with: [4])
        #expect(emptied == [4])

        weak var old: Token?
        var tokens: [Token] = []
        do {
            let first = Token()
            old = first
            tokens.replaceEmpty(with: [first])
        }
        #expect(old != nil && tokens.count == 1)
        let second = Token()
        tokens.replaceEmpty(with: [second])
        #expect(old == nil)
        #expect(tokens.count == 1 && tokens[0] === second)
    }

    /// The same for strings (the empty literal skipped, a stored one released) and optionals.
    @Test func stringAndOptionalStores() {
        var text = ""
        text.replaceEmpty(with: String(repeating: "x", count: 40))
        #expect(text == String(repeating: "x", count: 40))
        text.replaceEmpty(with: "short")
        #expect(text == "short")
        weak var old: Token?
        var slot: Token?
        do {
            let first = Token()
            old = first
            slot.replaceNil(with: first)
        }
        #expect(old != nil)
        slot.replaceNil(with: Token())
        #expect(old == nil && slot != nil)
    }
}
