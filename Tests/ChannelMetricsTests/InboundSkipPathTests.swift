import HTTP1Observer
import Testing

@testable import ChannelMetrics

/// `skip_paths`: a request path is skipped when its UTF-8 bytes are a skip path's, as Python's
/// `request.path in (...)` compares code points (REFERENCE-BEHAVIOUR §2), never by `String ==`.
@Suite struct InboundSkipPathTests {
    typealias Dice = TopLevelKeyScanTests.Generator

    /// What the reference answers: some skip path has the same code points (the same UTF-8).
    static func referenceSkips(_ path: String, _ skipPaths: [String]) -> Bool {
        skipPaths.contains { $0.utf8.elementsEqual(path.utf8) }
    }

    static func rules(_ paths: [String]) -> InboundSkipRules { InboundSkipRules(statuses: [404], paths: paths) }

    /// "é" as one scalar (U+00E9) and as "e" + U+0301: canonically equivalent, two paths by bytes,
    /// whichever of them is configured and whichever is requested.
    @Test func precomposedAndDecomposedAccentsAreTwoPaths() {
        let precomposed = "/caf\u{e9}"
        let decomposed = "/cafe\u{301}"
        #expect(precomposed == decomposed)  // what the old `String ==` rule went by
        #expect(Self.rules([precomposed]).skipsPath(precomposed))
        #expect(!Self.rules([precomposed]).skipsPath(decomposed))
        #expect(Self.rules([decomposed]).skipsPath(decomposed))
        #expect(!Self.rules([decomposed]).skipsPath(precomposed))
        // Both configured: both skipped (a Set<String> would have kept one of them).
        let both = Self.rules([precomposed, decomposed])
        #expect(both.skipsPath(precomposed) && both.skipsPath(decomposed))
        // Among the usual ones, and in a list long enough that no length is alone.
        let usual = ["/healthcheck", "/metrics", precomposed]
        #expect(Self.rules(usual).skipsPath(precomposed) && !Self.rules(usual).skipsPath(decomposed))
        let long = (0..<30).map { "/caf\($0)" } + [decomposed]
        #expect(Self.rules(long).skipsPath(decomposed) && !Self.rules(long).skipsPath(precomposed))
    }

    /// Scalars canonically equal to ASCII: U+212A KELVIN SIGN is `K`, U+037E GREEK QUESTION MARK
    /// is `;`, U+1FEF is `` ` `` for `String ==`; none is skipped for the other, both ways round.
    @Test(arguments: [("/\u{212A}", "/K"), ("/a\u{37E}b", "/a;b"), ("/x\u{1FEF}", "/x`")])
    func scalarsEquivalentToASCIIAreNotTheASCIIPath(unusual: String, ascii: String) {
        #expect(unusual == ascii)  // what the old `String ==` rule went by
        #expect(!Self.rules([ascii]).skipsPath(unusual))
        #expect(!Self.rules([unusual]).skipsPath(ascii))
        #expect(Self.rules([ascii]).skipsPath(ascii) && Self.rules([unusual]).skipsPath(unusual))
        #expect(!Self.rules(["/healthcheck", "/metrics", ascii]).skipsPath(unusual))
        #expect(!Self.rules(["/healthcheck", "/metrics", unusual]).skipsPath(ascii))
    }

    /// ASCII paths of every length 0…40 against lists of 0, 1, 5 and 50 skip paths holding the
    /// path or not, and paths one byte away from it at every position (each 8-byte word and the
    /// last, overlapping one), one byte shorter and longer.
    @Test(arguments: [0, 1, 5, 50])
    func asciiPathsOneByteApart(listSize: Int) {
        var dice = Dice(state: UInt64(listSize) &+ 11)
        let alphabet = Array("/abcKz;`~ 09-_.".utf8) + [0x00, 0x7F]
        func randomPath(_ length: Int) -> [UInt8] { (0..<length).map { _ in alphabet[dice.next(alphabet.count)] } }
        var skipped = 0
        var kept = 0
        for length in 0...40 {
            let base = randomPath(length)
            var neighbours = (0..<length).map { position in
                var bytes = base
                // Up or down by one: the smallest difference, in either order.
                bytes[position] = bytes[position] == 0x7F || (bytes[position] != 0 && dice.next(2) == 0)
                    ? bytes[position] - 1 : bytes[position] + 1
                return bytes
            }
            neighbours.append(base + [UInt8(ascii: "/")])
            if length > 0 { neighbours.append(Array(base.dropLast())) }
            for holdsBase in [true, false] where listSize > 0 || !holdsBase {
                var list: [[UInt8]] = holdsBase ? [base] : []
                while list.count < listSize {
                    // Mostly neighbours of the path, the rest random paths of any length.
                    let other = dice.next(4) == 0 ? randomPath(dice.next(41)) : neighbours[dice.next(neighbours.count)]
                    if other != base { list.append(other) }
                }
                let skipPaths = list.map { String(decoding: $0, as: UTF8.self) }
                let rules = Self.rules(skipPaths)
                for bytes in [base] + neighbours {
                    let path = String(decoding: bytes, as: UTF8.self)
                    let expected = Self.referenceSkips(path, skipPaths)
                    #expect(rules.skipsPath(path) == expected, "\(path.debugDescription) in \(skipPaths)")
                    if expected { skipped += 1 } else { kept += 1 }
                }
                #expect(rules.skipsPath(String(decoding: base, as: UTF8.self)) == holdsBase)
            }
        }
        // Both answers were exercised.
        #expect(listSize == 0 ? skipped == 0 && kept == 942 : skipped > 40 && kept > 40, "\(skipped) \(kept)")
    }

    /// Random paths from pieces with canonically equivalent spellings, against lists of every
    /// size: the answer is always the bytes'.
    @Test func randomPathsAgreeWithTheBytes() {
        let pathPieces = [
            "/", "health", "check", "healthchec", "K", "\u{212A}", "metrics", "é", "e\u{301}", "/api", ";", "\u{37E}",
            "`", "\u{1FEF}", "0123456789abcdef",
        ]
        var dice = Dice(state: 5)
        func randomPath() -> String { (0..<dice.next(5)).map { _ in pathPieces[dice.next(pathPieces.count)] }.joined() }
        for listSize in [0, 1, 2, 3, 8, 9, 20, 200] {
            let usual = listSize > 0 ? ["/healthcheck", "/caf\u{e9}", "\u{212A}"] : []
            let paths = (0..<listSize).map { _ in randomPath() } + usual
            let statuses = Set((0..<listSize).map { _ in 100 + dice.next(500) })
            let rules = InboundSkipRules(statuses: statuses, paths: paths)
            for _ in 0..<2_000 {
                let path = randomPath()
                #expect(
                    rules.skipsPath(path) == Self.referenceSkips(path, paths), "\(path.debugDescription) in \(paths)")
                let status = 100 + dice.next(500)
                #expect(rules.skipsStatus(status) == statuses.contains(status))
            }
            for path in paths + ["/healthchec\u{212A}", "\u{212A}", "K", "/cafe\u{301}", "/caf\u{e9}", ""] {
                #expect(rules.skipsPath(path) == Self.referenceSkips(path, paths), "\(path.debugDescription)")
            }
        }
    }

    /// The order the lookup searches by is the unsigned lexicographic order of the bytes.
    @Test func byteOrderIsLexicographic() {
        var dice = Dice(state: 17)
        for _ in 0..<5_000 {
            let count = dice.next(40)
            let a = (0..<count).map { _ in UInt8(dice.next(3) == 0 ? 0xFF : dice.next(3)) }
            var b = a
            if count > 0 && dice.next(4) != 0 { b[dice.next(count)] = UInt8(dice.next(256)) }
            let order = a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.lexicographicOrder(comparedTo: y) } }
            #expect(order == (a == b ? 0 : (a.lexicographicallyPrecedes(b) ? -1 : 1)), "\(a) \(b)")
        }
    }

    /// A whole ChannelMetrics run: configured with the precomposed spelling, an exchange for it is
    /// skipped and one for the decomposed spelling is recorded, under its own bytes.
    @Test func aRunSkipsOnlyTheConfiguredBytes() {
        var configuration = Make.configuration()
        configuration.skipPaths = ["/healthcheck", "/caf\u{e9}"]
        configuration.innerBuckets = try! Buckets(milliseconds: [100])
        let metrics = ChannelMetrics(configuration: configuration)
        func exchange(_ target: String) -> HTTPExchange {
            Make.exchange(
                serverPort: 8080, request: Make.request(target: target, headers: [("User-Agent", "ua")]),
                response: Make.response(body: "{\"code\": 0}".bytes))
        }
        metrics.observe(exchange("/caf%C3%A9"))  // percent-decoded: U+00E9, skipped
        metrics.observe(exchange("/cafe%CC%81"))  // "e" + U+0301: recorded
        metrics.observe(exchange("/cafe\u{301}?x=1"))  // the same path with a query: recorded
        metrics.observe(exchange("/healthcheck"))
        let statistics = metrics.statistics()
        #expect(statistics.skipped == [.skippedPath: 2])
        #expect(statistics.recorded[.inbound] == 2)
        let counts = metrics.render(.prometheusText).split(separator: "\n")
            .filter { $0.hasPrefix("A123010101_inner_metrics_count") }
        let expected = """
            A123010101_inner_metrics_count{appid="A123",application="A123010101",code="0",f_code="ua",\
            http_status="200",method_code="",path="/cafe\u{301}",uri="/cafe\u{301}"} 2.0
            """
        #expect(counts.map { Array($0.utf8) } == [Array(expected.utf8)], "\(counts)")
    }
}
