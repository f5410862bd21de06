/// The shared parser state's caches give what building anew gives, and share strings where they should.
import Testing

@testable import HTTP1Observer

/// The storage address of a string's UTF-8 (nil for a small string, kept in the value itself).
private func storage(_ text: String) -> UnsafeRawPointer? {
    text.count > 15 ? text.utf8.withContiguousStorageIfAvailable { UnsafeRawPointer($0.baseAddress) } ?? nil : nil
}

@Suite("Parser caches")
struct ParserCacheTests {
    static let targets = [
        "/api/v1/order/cancel?id=1", "/api/v1/order/cancel?id=2", "/api/v1/order/cancel", "/api/v1/refund?id=3",
        "/a%20b/c%ZZ?x=1", "/caf%C3%A9?q", "/caf\u{e9}/menu?day=1", "http://api.example.com:8080/v2/items?page=2",
        "http://api.example.com?x", "http://h/", "*", "/?", "/" + String(repeating: "p", count: 300) + "?id=9",
        "/api/v1/order/cancel?id=" + String(repeating: "7", count: 250),
    ]

    /// Targets asked for in random order, many times: the cached split (with its path cache) equals
    /// the split made anew, field by field.
    @Test func cachedTargetsEqualFreshOnes() {
        let shared = SharedParserState()
        var rng = SeededGenerator(seed: 0x7a)
        for _ in 0..<3_000 {
            let text = Self.targets.randomElement(using: &rng)!
            let bytes = text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
            bytes.withUnsafeBytes { raw in
                let fresh = RequestTarget(bytes: raw)
                #expect(shared.requestTarget(raw) == fresh, "\(text)")
                let slot = shared.cachedRequestTargetSlot(raw)
                if slot >= 0 { #expect(shared.cachedRequestTarget(slot) == fresh, "\(text)") }
            }
        }
    }

    /// Every part of a target is read as ISO-8859-1, whether the target is ASCII (checked once for all
    /// its parts) or not (each byte one scalar, `%XX` then decoded as UTF-8 in the path alone).
    @Test(arguments: [
        ([UInt8]("http://h.example:81/a%20b?q=1".utf8), "http://h.example:81/a%20b?q=1", "h.example:81", "/a%20b", "/a b", "q=1"),
        ([UInt8]("http://h".utf8) + [0xE9] + [UInt8](":81/caf".utf8) + [0xE9] + [UInt8]("?q=".utf8) + [0xE9],
            "http://h\u{E9}:81/caf\u{E9}?q=\u{E9}", "h\u{E9}:81", "/caf\u{E9}", "/caf\u{FFFD}", "q=\u{E9}"),
        ([UInt8]("/caf%C3%A9?x=".utf8) + [0xC3, 0xA9], "/caf%C3%A9?x=\u{C3}\u{A9}", nil, "/caf%C3%A9", "/caf\u{E9}", "x=\u{C3}\u{A9}"),
    ] as [([UInt8], String, String?, String, String, String?)])
    func targetPartsAreLatin1(bytes: [UInt8], target: String, authority: String?, rawPath: String, path: String, query: String?) {
        let split = bytes.withUnsafeBytes { RequestTarget(bytes: $0) }
        #expect(split.target == target && split.authority == authority && split.rawPath == rawPath)
        #expect(split.path == path && split.query == query)
    }

    /// A key of every length up to 40 bytes holds itself, and not the same bytes with any one byte changed
    /// (each place of the 16-byte steps and of the overlapping last words).
    @Test func cacheKeysCompareEveryByte() {
        let keys = CacheKeys(entries: 1)
        defer { keys.deallocate() }
        for length in 0...40 {
            let key = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            key.withUnsafeBytes { keys.set($0, at: 0) }
            #expect(key.withUnsafeBytes { keys.holds($0, at: 0) }, "length \(length)")
            for place in 0..<length {
                var other = key
                other[place] ^= 0x01
                #expect(!other.withUnsafeBytes { keys.holds($0, at: 0) }, "length \(length), byte \(place)")
            }
            if length > 0 { #expect(!Array(key.dropLast()).withUnsafeBytes { keys.holds($0, at: 0) }) }
        }
    }

    /// A target is cached the second time it comes in a row at its slot: the first time the head
    /// builds it (-1); a target met in between at another slot does not undo that.
    @Test func targetsAreCachedWhenMetTwice() {
        let shared = SharedParserState()
        func slot(_ text: String) -> Int { Array(text.utf8).withUnsafeBytes { shared.cachedRequestTargetSlot($0) } }
        #expect(slot("/api/v1/goods/detail?id=19") == -1)
        let cached = slot("/api/v1/goods/detail?id=19")
        #expect(cached >= 0)
        #expect(shared.cachedRequestTarget(cached) == RequestTarget("/api/v1/goods/detail?id=19"))
        #expect(slot("/api/v1/goods/detail?id=19") == cached)
        // Not ASCII, or too long: never cached.
        let latin1: [UInt8] = Array("/caf".utf8) + [0xE9]
        for _ in 0..<3 { #expect(latin1.withUnsafeBytes { shared.cachedRequestTargetSlot($0) } == -1) }
        let long = "/" + String(repeating: "p", count: 300)
        for _ in 0..<3 { #expect(slot(long) == -1) }
    }

    /// Two targets of one path and different queries share the path's strings (later label comparisons
    /// then find them equal at once); different paths do not.
    @Test func targetsOfOnePathSharePathStrings() {
        let shared = SharedParserState()
        func split(_ text: String) -> RequestTarget { Array(text.utf8).withUnsafeBytes { shared.requestTarget($0) } }
        let first = split("/api/v1/order/cancel?id=1")
        let second = split("/api/v1/order/cancel?id=2")
        let other = split("/api/v1/order/refund?id=2")
        #expect(first.rawPath == "/api/v1/order/cancel" && second.rawPath == first.rawPath && second.path == first.path)
        #expect(storage(first.rawPath) != nil && storage(second.rawPath) == storage(first.rawPath))
        #expect(storage(second.path) == storage(first.path))
        #expect(storage(other.rawPath) != storage(first.rawPath))
    }

    /// Header values of one field alternating among more values than the field has entries: every
    /// string equals the bytes read as ISO-8859-1, and a value asked for twice in a row is the same string.
    @Test func cachedValuesEqualFreshOnes() {
        let shared = SharedParserState()
        var rng = SeededGenerator(seed: 0x5a)
        let agents = (0..<12).map { "client-\($0)/\(String(repeating: "1.2.", count: $0 % 4 + 4))" } + ["caf\u{e9}-agent/1.0.0.0.0.0", ""]
        for _ in 0..<3_000 {
            let agent = agents.randomElement(using: &rng)!
            let bytes = agent.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
            bytes.withUnsafeBytes { raw in
                let value = shared.string(raw, slot: .userAgent)
                #expect(value == raw.latin1String(), "\(agent)")
                let again = shared.string(raw, slot: .userAgent)
                #expect(again == value)
                if agent.utf8.count == raw.count { #expect(storage(again) == storage(value), "\(agent)") }
            }
        }
    }

    /// Up to `RecentValues.ways` values cycling through one field: from the second round on, each is
    /// the String made the first time (no entry evicts another), whatever their hashes.
    @Test(arguments: [1, 2, 7, 8])
    func valuesCyclingThroughOneFieldAreKept(count: Int) {
        let shared = SharedParserState()
        let agents = (0..<count).map { "agent-\($0)/" + String(repeating: "x", count: 20 + $0) }
        var first: [UnsafeRawPointer?] = []
        for round in 0..<5 {
            for (i, agent) in agents.enumerated() {
                let value = Array(agent.utf8).withUnsafeBytes { shared.string($0, slot: .userAgent) }
                #expect(value == agent)
                if round == 0 { first.append(storage(value)) } else { #expect(storage(value) == first[i], "\(agent) round \(round)") }
            }
        }
    }

    /// Values of one length whose first and last eight bytes agree (one hash) and more of them than a
    /// field has entries, cycling with others through one field, and the same values in other fields:
    /// every string equals the bytes read as ISO-8859-1 (a hash met again is confirmed by the bytes).
    @Test func conflictingValuesEqualFreshOnes() {
        let shared = SharedParserState()
        var rng = SeededGenerator(seed: 0x3c)
        let sameHash = (0..<11).map { "Mozilla/5.0 (\(Character(UnicodeScalar(0x41 + $0)!))11; Linux) Gecko/1" }
        let others = ["a", "b", "", "text/plain", "caf\u{e9}", "application/json; charset=utf-8"]
        let values = sameHash + others + [String(repeating: "z", count: 300)]
        let slots: [SharedParserState.Slot] = [.userAgent, .host, .requestContentType]
        for step in 0..<5_000 {
            let text = step % 3 == 0 ? values[step / 3 % values.count] : values.randomElement(using: &rng)!
            let bytes = text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
            let slot = slots.randomElement(using: &rng)!
            bytes.withUnsafeBytes { raw in
                let value = shared.string(raw, slot: slot)
                #expect(value == raw.latin1String() && value == text, "\(text)")
            }
        }
    }

    /// The word-at-a-time ASCII test equals the byte loop: lengths 0…40, a high bit at each place or none.
    @Test func asciiTestEqualsByteLoop() {
        var rng = SeededGenerator(seed: 0x41)
        for length in 0...40 {
            for _ in 0..<50 {
                var bytes = (0..<length).map { _ in UInt8.random(in: 0...0x7F, using: &rng) }
                if length > 0 && Bool.random(using: &rng) { bytes[Int.random(in: 0..<length, using: &rng)] |= 0x80 }
                let expected = bytes.allSatisfy { $0 < 0x80 }
                #expect(bytes.withUnsafeBytes { $0.isASCII } == expected)
            }
        }
    }

    /// Strings of ASCII bytes made from their bits (at most 15 bytes) or decoded equal the decoded ones in
    /// every way a caller sees: lengths 0…40, any ASCII byte (NUL and DEL too), read from inside a larger buffer.
    @Test func asciiStringsEqualDecodedOnes() {
        #expect(SmallASCIIString.layoutHolds)
        var rng = SeededGenerator(seed: 0x53)
        for length in 0...40 {
            for _ in 0..<50 {
                let bytes = (0..<(length + 16)).map { _ in UInt8.random(in: 0...0x7F, using: &rng) }
                let offset = Int.random(in: 0...16, using: &rng)
                let part = Array(bytes[offset..<(offset + length)])
                let made = bytes.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + length)]).asciiString() }
                let decoded = String(decoding: part, as: UTF8.self)
                #expect(made == decoded)
                #expect(Array(made.utf8) == part)
                #expect(made.count == decoded.count && made.utf8.count == length && made.isEmpty == (length == 0))
                #expect(made.hashValue == decoded.hashValue)
                #expect(made + "?" == decoded + "?")
                #expect(made.unicodeScalars.map(\.value) == part.map(UInt32.init))
                if length <= SmallASCIIString.capacity {
                    #expect(String.sameBits(made, decoded), "a small string is the same bits however made")
                }
            }
        }
        let empty = [UInt8]().withUnsafeBytes { $0.asciiString() }
        #expect(String.sameBits(empty, ""))
        let literal = Array("HTTP/1.1".utf8).withUnsafeBytes { $0.asciiString() }
        #expect(String.sameBits(literal, "HTTP/1.1"))
    }

    /// An emitted body's buffer comes back empty with its capacity; one a sink kept a copy of leaves
    /// that copy untouched; one too large is not kept.
    @Test func reclaimedBodyBuffersComeBackEmptyAndLeaveCopiesAlone() {
        let state = SharedParserState()
        var body: [UInt8] = []
        body.reserveCapacity(300)
        body.append(contentsOf: [1, 2, 3])
        let capacity = body.capacity
        let address = body.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        state.reclaimBuffer(consume body)
        let spare = state.takeBuffer()
        #expect(spare.isEmpty)
        #expect(spare.capacity == capacity)
        #expect(spare.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } == address)
        #expect(state.takeBuffer().capacity == 0)

        var kept = spare
        kept.append(contentsOf: [7, 8, 9])
        let copy = kept
        state.reclaimBuffer(consume kept)
        #expect(copy == [7, 8, 9])
        let second = state.takeBuffer()
        #expect(second.isEmpty)
        #expect(second.capacity >= 3)

        state.reclaimBuffer([UInt8](repeating: 0, count: 64 * 1024))
        #expect(state.takeBuffer().capacity == 0)
    }
}

