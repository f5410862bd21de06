import HTTP1Observer
import Testing

@testable import ChannelMetrics

/// The cache of recent inbound inputs must only ever answer the series that the inputs' texts
/// were entered with: never one of other texts, whatever the sets collide on.
@Suite struct RecentInboundSeriesTests {
    typealias Dice = TopLevelKeyScanTests.Generator

    /// The texts of one observation's inputs (what decides its labels).
    struct Texts {
        var userAgent: String?
        var path: String
        var status: Int
        var code: String
        var methodCode: String

        /// Their bytes: a label's identity (a `String` key would merge canonically equivalent texts).
        var key: [[UInt8]] {
            [userAgent.map { Array($0.utf8) } ?? [0xFF], Array(path.utf8), Array(String(status).utf8), Array(code.utf8), Array(methodCode.utf8)]
        }
    }

    /// A text as a new String each time for long ones (another storage, the same bytes), or one of
    /// a few kept ones; some canonically equivalent (`é` and `e` + U+0301: other bytes).
    static func text(_ pool: [String], _ dice: inout Dice) -> String {
        let chosen = pool[dice.next(pool.count)]
        return dice.next(2) == 0 ? String(decoding: Array(chosen.utf8), as: UTF8.self) : chosen
    }

    static let paths = [
        "/api/v1/order", "/api/v1/order/cancel", "/api/v1/goods/detail", "/caf\u{e9}", "/cafe\u{301}", "",
        String(repeating: "/long", count: 9),
    ]
    static let agents = ["okhttp/4.9.3", "python-requests/2.31.0", "Apache-HttpClient/4.5.13 (Java/1.8.0_292)", "None"]
    static let codes = ["0", "40001", "", "-1", "a code longer than fifteen bytes"]

    static func randomTexts(_ dice: inout Dice) -> Texts {
        Texts(
            userAgent: dice.next(5) == 0 ? nil : text(agents, &dice), path: text(paths, &dice),
            status: [200, 400, 500][dice.next(3)], code: text(codes, &dice), methodCode: text(["", "m1", "pay.refund.query.v2"], &dice))
    }

    /// Against a dictionary of the texts: with one set every entry contends for two ways (forced
    /// collisions of every hash), with 256 as in use.
    @Test(arguments: [1, 4, 256])
    func hitsAreExactlyTheTextsEntered(setCount: Int) {
        var dice = Dice(state: UInt64(setCount))
        var cache = RecentInboundSeries(setCount: setCount)
        var truth: [[[UInt8]]: Int] = [:]
        var hits = 0
        var recent: [Texts] = []
        for step in 0..<30_000 {
            // Often one of the last few (the same strings, as consecutive exchanges repeat).
            let texts = !recent.isEmpty && dice.next(2) == 0 ? recent[dice.next(recent.count)] : Self.randomTexts(&dice)
            recent.append(texts)
            if recent.count > 3 { recent.removeFirst() }
            let inputs = InboundLabelInputs(
                userAgent: texts.userAgent, path: texts.path, status: texts.status, code: texts.code,
                methodCode: texts.methodCode)
            let series = truth[texts.key] ?? truth.count
            truth[texts.key] = series
            if let found = cache.lookup(
                inputs, userAgent: texts.userAgent, path: texts.path, code: texts.code, methodCode: texts.methodCode)
            {
                hits += 1
                #expect(found.series == series, "step \(step): \(texts)")
                #expect(found.cut == UInt64(series % 3))
            } else {
                cache.insert(
                    inputs, userAgent: texts.userAgent, path: texts.path, code: texts.code, methodCode: texts.methodCode,
                    series: series, cut: UInt64(series % 3))
            }
        }
        #expect(hits > 1_000)  // the cache was used, not only filled
    }

    /// Long texts of one length and first and last bytes (the same fingerprint), made and dropped
    /// one after another: another text is never a hit.
    @Test func droppedStringsNeverMatchLaterOnes() {
        var cache = RecentInboundSeries(setCount: 1)
        for i in 0..<5_000 {
            let path = "/orders/" + String(repeating: "0", count: 20 - String(i).count) + String(i) + "/details/"
            let inputs = InboundLabelInputs(userAgent: nil, path: path, status: 200, code: "0", methodCode: "")
            #expect(cache.lookup(inputs, userAgent: nil, path: path, code: "0", methodCode: "") == nil, "\(path)")
            cache.insert(inputs, userAgent: nil, path: path, code: "0", methodCode: "", series: i, cut: 0)
            #expect(cache.lookup(inputs, userAgent: nil, path: path, code: "0", methodCode: "")?.series == i)
        }
    }

    /// Whole observations: interleaved label sets (as many connections give) recorded through the
    /// cache give the counts of each set's texts, series in first-observed order.
    @Test(arguments: [3, 10_000])
    func observationsRecordEachLabelSetOnce(maxSeries: Int) {
        var dice = Dice(state: 77)
        let metrics = ChannelMetrics(configuration: Make.configuration(maxSeries: maxSeries))
        var order: [[String]] = []
        var counts: [[[UInt8]]: Int] = [:]
        for _ in 0..<4_000 {
            let agent = dice.next(6) == 0 ? nil : Self.text(Self.agents, &dice)
            let path = Self.text(Self.paths.filter { !$0.isEmpty }, &dice)
            let code = ["0", "40001", "7"][dice.next(3)]
            let status = [200, 500][dice.next(2)]
            let request = Make.request(target: path, headers: agent.map { [("User-Agent", $0)] } ?? [])
            let response = Make.response(status: status, body: Array("{\"code\":\(code)}".utf8))
            metrics.observe(Make.exchange(serverPort: 8080, request: request, response: response))
            let labels = [LabelRules.fCode(userAgent: agent), request.path, String(status), code]
            let key = labels.map { Array($0.utf8) }
            if counts[key] == nil {
                guard order.count < maxSeries else { continue }
                order.append(labels)
            }
            counts[key, default: 0] += 1
        }
        let family = metrics.familiesCopy().inner
        #expect(family.seriesCount == order.count)
        let dictionaries = family.table.labelDictionaries()
        for (series, labels) in order.enumerated() {
            let found = dictionaries[series]
            let values = [found["f_code"]!, found["path"]!, found["http_status"]!, found["code"]!, found["uri"]!]
            #expect(values.map { Array($0.utf8) } == (labels + [labels[1]]).map { Array($0.utf8) })
            #expect(found["method_code"] == "")
            let total = family.counts[(series * (family.bounds.count + 1))..<((series + 1) * (family.bounds.count + 1))].reduce(0, +)
            #expect(total == UInt64(counts[labels.map { Array($0.utf8) }]!), "\(labels)")
        }
    }
}
