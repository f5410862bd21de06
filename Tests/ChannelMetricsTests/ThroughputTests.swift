import ChannelMetrics
import Foundation
import Testing

/// Prints observation and render rates (no timed assertion). Run with
/// `CHANNEL_METRICS_BENCH=1 swift test -c release --filter ThroughputTests`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CHANNEL_METRICS_BENCH"] != nil))
struct ThroughputTests {
    @Test func observeAndRenderRates() {
        let metrics = ChannelMetrics(configuration: Make.configuration())
        let body = "{\"code\": 0, \"msg\": \"ok\", \"data\": {\"items\": [1, 2, 3], \"name\": \"x\"}}".bytes
        let inbound = (0..<100).map { i in
            Make.exchange(
                serverPort: 8080,
                request: Make.request(target: "/api/\(i % 20)?method_code=M\(i % 5)", headers: [("User-Agent", "python-requests/2.32")]),
                response: Make.response(body: body), micros: Int64(1000 * i))
        }
        let outgoing = (0..<100).map { i in
            Make.exchange(
                serverPort: 80,
                request: Make.request(method: "POST", target: "/youtu/api/facecompare", host: i % 2 == 0 ? "d002.youtu.realname.dzqd.cn:38087" : "b123456789.svc",
                                      headers: [("Content-Type", "application/json")], body: "{\"method_code\": \"x\"}".bytes),
                response: Make.response(body: body), micros: Int64(1000 * i))
        }
        let rounds = 2000
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<rounds {
                for e in inbound { metrics.observe(e) }
                for e in outgoing { metrics.observe(e) }
            }
        }
        let observations = Double(rounds * (inbound.count + outgoing.count))
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("ChannelMetrics: \(Int(observations / seconds)) exchanges/s (\(Int(observations)) in \(seconds) s)")

        let scan = ChannelMetrics(configuration: Make.configuration())
        for i in 0..<10_000 {
            scan.observe(Make.exchange(serverPort: 8080, request: Make.request(target: "/scan/\(i)"), response: Make.response(body: body)))
        }
        var text = ""
        let renderTime = clock.measure { text = scan.render(.prometheusText) }
        print("render of 10000 inner series: \(renderTime), \(text.utf8.count) bytes")
    }
}
