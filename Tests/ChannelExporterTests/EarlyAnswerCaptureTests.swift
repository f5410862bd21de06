@testable import ChannelExporter
import Foundation
import HTTP1Observer
import Testing

/// Outgoing calls whose small JSON body reached the wire after the whole answer
/// (captures/http/early-answer/, cut from captures/parity/live-mixed-check.sh's own recording):
/// Python's http.client sends the head and the body apart, Nagle holds the body until the head is
/// acknowledged, and nginx's `return` (directly over TLS, and behind squid for an absolute-form call)
/// answered the head at once. The reference reads the `json=` the caller passed: `method_code` is in
/// the body, which must stay with its request.
@Suite struct EarlyAnswerCaptureTests {
    final class Collected: HTTPExchangeSink {
        var exchanges: [HTTPExchange] = []
        func observe(_ exchange: HTTPExchange) { exchanges.append(exchange) }
    }

    @Test func bodyAfterTheAnswerKeepsTheCallsMethodCode() throws {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.tls.keylogFiles = [Fixtures.path("http/early-answer/body-after-answer.keylog")]
        let collected = Collected()
        let pipeline = try Pipeline(configuration: config, exchangeLog: collected)
        let result = try ReplayRunner.run(files: [Fixtures.path("http/early-answer/body-after-answer.pcap")], pipeline: pipeline)
        let posts = collected.exchanges.filter { $0.request?.method == "POST" }
        #expect(posts.map { "\($0.request?.host ?? "-") \($0.request?.path ?? "-") \($0.response?.status ?? 0)" } == [
            "b123010101.svc.local /svc/post 200", "d002.youtu.realname.dzqd.cn:38087 /youtu/unlisted 200",
        ])
        #expect(posts.map { String(decoding: $0.request?.bodyPrefix ?? [], as: UTF8.self) } == [#"{"method_code": "MP"}"#, #"{"method_code": "MD"}"#])
        #expect(posts.allSatisfy { $0.request?.bodyTruncated == false && $0.completeness == .complete })
        // Timed as the answer found the request (its head), not from the body that came after it.
        #expect(posts.allSatisfy { $0.requestLastByte! < $0.responseFirstByte! })
        #expect(collected.exchanges.count == 4 && result.statistics.http.anomalies.isEmpty)
        let exposition = pipeline.metrics.render(.prometheusText)
        #expect(exposition.contains(#"method_code="MP",status="success",tcode="B123010101"} 1.0"#), "\(exposition)")
        #expect(exposition.contains(#"method_code="MD",status="error",tcode="1"} 1.0"#), "\(exposition)")
    }
}
