/// An origin-form target is not kept whole but made from its raw path and query: it reads the same, byte for byte.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct TargetStorageTests {
    /// Origin-form targets keep no whole string; absolute-form ones and those with a fragment do. Either way the target read back
    /// is the bytes as sent, read as ISO-8859-1 (its UTF-8 compared, not only its characters).
    @Test(arguments: [
        ([UInt8]("/api/v1/order?id=12345".utf8), false),
        ([UInt8]("/plain/path".utf8), false),
        ([UInt8]("/?".utf8), false),
        ([UInt8]("/a?b?c#d".utf8), true),  // a fragment: kept whole (the parts end at `#`)
        ([UInt8]("/x#frag?y".utf8), true),
        ([UInt8]("*".utf8), false),
        ([UInt8]("h.example:443".utf8), false),
        ([UInt8]("/caf".utf8) + [0xE9] + [UInt8]("?q=".utf8) + [0xE9], false),
        ([UInt8]("/menu/caf".utf8) + [0xE9, 0xFF] + [UInt8]("/today?q=".utf8) + [0xE9] + [UInt8]("&day=monday".utf8), false),
        ([UInt8](("/" + String(repeating: "p", count: 300) + "?id=" + String(repeating: "9", count: 300)).utf8), false),
        ([UInt8]("http://h.example:81/a%20b?q=1".utf8), true),
        ([UInt8]("http://h.example?x".utf8), true),
        ([UInt8]("http://h".utf8) + [0xE9] + [UInt8]("/p".utf8), true),
    ] as [([UInt8], Bool)])
    func targetReadsAsSent(bytes: [UInt8], keptWhole: Bool) {
        let expected = String(bytes.map { Character(Unicode.Scalar($0)) })
        let split = bytes.withUnsafeBytes { RequestTarget(bytes: $0) }
        #expect((split.storedTarget != nil) == keptWhole)
        #expect(Array(split.target.utf8) == Array(expected.utf8))
        // An ASCII target (not too long) met twice in a row is cached: the entry is the same split.
        guard bytes.allSatisfy({ $0 < 0x80 }), bytes.count <= CacheKeys.maxLength else { return }
        let shared = SharedParserState()
        let slot = bytes.withUnsafeBytes { raw in
            _ = shared.cachedRequestTargetSlot(raw)
            return shared.cachedRequestTargetSlot(raw)
        }
        #expect(slot >= 0)
        if slot >= 0 { #expect(shared.cachedRequestTarget(slot) == split) }
    }

    /// A summary built by the observer (target made from its parts) equals and hashes as one built
    /// through the public initializer with the whole target; setting the target keeps it whole.
    @Test func summaryTargetEqualityIgnoresStorage() {
        let made = HTTPRequestSummary(
            method: "GET", storedTarget: nil, rawPath: "/a", path: "/a", query: "id=1", version: "HTTP/1.1", host: nil,
            userAgent: nil, methodCode: nil, tCode: nil, contentType: nil, bodyPrefix: [], bodyLength: 0,
            bodyTruncated: false)
        var given = HTTPRequestSummary(
            method: "GET", target: "/a?id=1", rawPath: "/a", path: "/a", query: "id=1", version: "HTTP/1.1", host: nil,
            userAgent: nil, methodCode: nil, tCode: nil, contentType: nil, bodyPrefix: [], bodyLength: 0,
            bodyTruncated: false)
        #expect(made.target == "/a?id=1" && made == given && made.hashValue == given.hashValue)
        given.target = "/other"
        #expect(given.target == "/other" && given.rawPath == "/a" && made != given)
        var noQuery = made
        noQuery.query = nil
        #expect(noQuery.target == "/a")
    }

    /// Requests on one connection, origin-form and absolute-form alternating, cached and not: each
    /// exchange's target is its own (a whole target kept for one never shows in the next).
    @Test func alternatingFormsKeepTheirTargets() {
        var steps: [Step] = []
        let targets = [
            "http://p.example/x?1", "/y?2", "/y?2", "/y?2", "http://p.example/x?1", "http://p.example/x?1",
            "http://p.example/x?1", "/z", "/y?3",
        ]
        for (i, target) in targets.enumerated() {
            steps.append(.request("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n", at: Int64(1000 * (i + 1))))
            steps.append(.response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: Int64(1000 * (i + 1) + 100)))
        }
        let result = runSplitInvariant(steps + Step.endBoth(at: 99_000))
        #expect(result.exchanges.compactMap { $0.request?.target } == targets)
    }
}
