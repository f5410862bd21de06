import HTTP1Observer
import Testing

@testable import ChannelMetrics

/// The cache of recent bodies' codes must only ever answer the code read from the same bytes, by
/// the same rule, with the same cut flag and content type; and it must stay bounded.
@Suite struct RecentBodyCodesTests {
    typealias Dice = TopLevelKeyScanTests.Generator

    /// A body's identity: what its code is a function of.
    struct Identity: Hashable {
        var bytes: [UInt8]
        var rule: UInt8
        var truncated: Bool
        var contentType: String?
    }

    /// Bodies that share the sampled words (length, first, middle and last eight bytes) and differ
    /// elsewhere: one fingerprint for all of them.
    static func lookalikes(length: Int, count: Int) -> [[UInt8]] {
        (0..<count).map { n in
            var body = [UInt8](repeating: UInt8(ascii: "a"), count: length)
            body[9] = UInt8(truncatingIfNeeded: n)  // outside bytes 0..<8, the middle eight and the last eight
            return body
        }
    }

    static func randomBody(_ dice: inout Dice) -> [UInt8] {
        switch dice.next(4) {
        case 0: return lookalikes(length: 40, count: 6)[dice.next(6)]
        case 1: return Array("{\"code\":\(dice.next(8)),\"data\":\"\(String(repeating: "x", count: dice.next(3) * 7))\"}".utf8)
        case 2: return [UInt8](repeating: UInt8(ascii: "b"), count: 14 + dice.next(6))  // some too short to keep
        default: return Array(dice.object(depth: 0).utf8)
        }
    }

    /// Against a dictionary of identities: with one set every entry contends for two ways; lookalike
    /// bodies force equal fingerprints.
    @Test(arguments: [1, 16])
    func hitsAreExactlyTheBytesKept(setCount: Int) {
        var dice = Dice(state: UInt64(setCount) &+ 7)
        var cache = RecentBodyCodes(setCount: setCount, notedCount: 64)
        var truth: [Identity: BodyCode] = [:]
        var hits = 0
        var recent: [Identity] = []
        for step in 0..<40_000 {
            let identity: Identity
            if !recent.isEmpty && dice.next(3) != 0 {
                identity = recent[dice.next(recent.count)]
            } else {
                identity = Identity(
                    bytes: Self.randomBody(&dice), rule: dice.next(2) == 0 ? 1 : 2, truncated: dice.next(5) == 0,
                    contentType: [nil, "application/json", "application/json; charset=latin-1"][dice.next(3)])
                recent.append(identity)
                if recent.count > 12 { recent.removeFirst() }
            }
            let code = truth[identity] ?? BodyCode(label: "\(truth.count)", isNumberZero: step % 2 == 0, outcome: .found)
            truth[identity] = code
            identity.bytes.withUnsafeBytes { body in
                guard let key = RecentBodyCodes.Key(
                    body, rule: BodyCodeRule(rawValue: identity.rule)!, truncated: identity.truncated)
                else {
                    #expect(body.count < RecentBodyCodes.minimumBytes)
                    return
                }
                switch cache.lookup(key, body: body, contentType: identity.contentType) {
                case .hit(let found):
                    hits += 1
                    #expect(found == code, "step \(step)")
                case .miss(let keep):
                    if keep { cache.keep(code, for: key, body: body, contentType: identity.contentType) }
                }
            }
        }
        #expect(hits > 3_000)
        #expect(Int(cache.hits) == hits)
        #expect(cache.keptBytes <= setCount * 2 * RecentBodyCodes.maximumBytes)
    }

    @Test func bodiesMetOnceAreNeverCopiedNorPushOutOnesThatRepeat() {
        var cache = RecentBodyCodes()
        func look(_ bytes: [UInt8], keepAs label: String) -> RecentBodyCodes.Lookup {
            bytes.withUnsafeBytes { body in
                let key = RecentBodyCodes.Key(body, rule: .inner, truncated: false)!
                let found = cache.lookup(key, body: body, contentType: nil)
                if case .miss(keep: true) = found {
                    cache.keep(BodyCode(label: label, isNumberZero: false, outcome: .found), for: key, body: body, contentType: nil)
                }
                return found
            }
        }
        for n in 0..<10_000 { #expect(look(Array("{\"code\":0,\"id\":\(n)}".utf8), keepAs: "x") == .miss(keep: false)) }
        #expect(cache.kept == 0 && cache.keptBytes == 0)
        let repeated = Array("{\"code\":40001,\"message\":\"invalid parameter\"}".utf8)
        #expect(look(repeated, keepAs: "40001") == .miss(keep: false))
        #expect(look(repeated, keepAs: "40001") == .miss(keep: true))
        #expect(cache.kept == 1 && cache.keptBytes == repeated.count)
        for n in 10_000..<20_000 { _ = look(Array("{\"code\":0,\"id\":\(n)}".utf8), keepAs: "x") }
        #expect(look(repeated, keepAs: "other") == .hit(BodyCode(label: "40001", isNumberZero: false, outcome: .found)))
        #expect(cache.kept == 1)
    }

    @Test func onlyBodiesWithinTheBoundsAreKept() {
        for (count, kept) in [(0, false), (15, false), (16, true), (RecentBodyCodes.maximumBytes, true), (RecentBodyCodes.maximumBytes + 1, false)] {
            let body = [UInt8](repeating: 0x20, count: count)
            let key = body.withUnsafeBytes { RecentBodyCodes.Key($0, rule: .outgoing, truncated: false) }
            #expect((key != nil) == kept, "\(count) bytes")
        }
    }

    @Test func lookalikesShareAFingerprintAndNeverACode() {
        let bodies = Self.lookalikes(length: 1000, count: 3)
        let keys = bodies.map { b in b.withUnsafeBytes { RecentBodyCodes.Key($0, rule: .inner, truncated: false)! } }
        #expect(keys[0] == keys[1] && keys[1] == keys[2])
        var cache = RecentBodyCodes()
        for round in 0..<6 {
            for (n, bytes) in bodies.enumerated() {
                bytes.withUnsafeBytes { body in
                    switch cache.lookup(keys[n], body: body, contentType: nil) {
                    case .hit(let code): #expect(code.label == "\(n)", "round \(round)")
                    case .miss(let keep):
                        if keep { cache.keep(BodyCode(label: "\(n)", isNumberZero: false, outcome: .found), for: keys[n], body: body, contentType: nil) }
                    }
                }
            }
        }
        // The cut flag and the rule are part of the key.
        bodies[0].withUnsafeBytes { body in
            #expect(RecentBodyCodes.Key(body, rule: .inner, truncated: true) != keys[0])
            #expect(RecentBodyCodes.Key(body, rule: .outgoing, truncated: false) != keys[0])
        }
    }

    /// Whole metrics, with and without the cache, over exchanges whose bodies repeat: the same
    /// exposition and the same counts, bodies read in place and from the summary.
    @Test(arguments: [false, true])
    func metricsAreTheSameWithAndWithoutTheCache(lent: Bool) {
        var dice = Dice(state: lent ? 11 : 12)
        let remembering = ChannelMetrics(configuration: Make.configuration(), remembersBodyCodes: true)
        let reading = ChannelMetrics(configuration: Make.configuration(), remembersBodyCodes: false)
        let bodies: [[UInt8]] = (0..<24).map { _ in Self.randomBody(&dice) } + [
            Array("{\"code\":0,\"message\":\"ok\"}".utf8), Array("{\"errorcode\":\"E1\",\"code\":null}".utf8),
            Array("{\"code\":\"caf\u{e9}\",\"data\":[1,2,3]}".utf8), Array("{\"code\":1} trailing".utf8),
            [0xFF, 0xFE] + Array("{\"code\":7,\"data\":\"0123456789\"}".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }),
        ]
        let contentTypes: [String?] = [nil, "application/json", "text/plain; charset=latin-1", "application/json; charset=utf-16"]
        for i in 0..<3_000 {
            var response = Make.response(
                status: [200, 400, 500][dice.next(3)], contentType: contentTypes[dice.next(4)],
                body: bodies[dice.next(bodies.count)], truncated: dice.next(6) == 0)
            if dice.next(10) == 0 { response.contentEncoding = ["gzip", "identity", ""][dice.next(3)] }
            let exchange = Make.exchange(
                serverPort: dice.next(2) == 0 ? 8080 : 443,
                request: Make.request(target: "/api/\(dice.next(4))", host: "b123456789.svc"),
                response: response, micros: Int64(1 + i % 900) * 1000)
            for metrics in [remembering, reading] {
                if lent {
                    var withoutBody = exchange
                    withoutBody.response?.bodyPrefix = []
                    response.bodyPrefix.withUnsafeBytes { metrics.observe(withoutBody, responseBody: $0) }
                } else {
                    metrics.observe(exchange)
                }
            }
        }
        #expect(remembering.render(.prometheusText) == reading.render(.prometheusText))
        #expect(remembering.statistics() == reading.statistics())
        #expect(remembering.recentBodyCodeCounts.hits > 300)
        #expect(reading.recentBodyCodeCounts == (0, 0))
    }
}
