@testable import ChannelExporter
import Foundation
import Testing

/// A service behind HAProxy passing client addresses on with the PROXY protocol
/// (captures/scripts/make-proxy-protocol-fixture.sh: `send-proxy` and `send-proxy-v2` to nginx's
/// `proxy_protocol` listener): each header is skipped and counted, every request after it is read on
/// both hops, with no parse anomaly.
@Suite struct ProxyProtocolCaptureTests {
    /// The fixture replayed with nginx's port (18081) inbound.
    static func replay() throws -> (ReplayResult, Pipeline) {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [18081]
        let pipeline = try Pipeline(configuration: config)
        let result = try ReplayRunner.run(files: [Fixtures.path("http/proxy-protocol/proxy-protocol.pcap")], pipeline: pipeline)
        return (result, pipeline)
    }

    @Test func everyRequestBehindAProxyHeaderIsRead() throws {
        let (result, pipeline) = try Self.replay()
        let http = result.statistics.http
        let client = try String(contentsOfFile: Fixtures.path("http/proxy-protocol/proxy-protocol.client.jsonl"), encoding: .utf8)
        let calls = client.split(separator: "\n").count
        #expect(calls == 6)
        // Each call twice: client to HAProxy, HAProxy to nginx. Two connections through each of v1 and v2.
        #expect(http.exchangesComplete == 2 * calls)
        #expect(http.proxyProtocolHeaders == 4)
        #expect(http.anomalies.isEmpty, "\(http.anomalies)")
        let exposition = SelfMetrics.render(SelfMetricsInput(pipeline: result.statistics), metrics: nil, format: .prometheusText)
        #expect(exposition.contains("\nchannel_exporter_proxy_protocol_headers_total 4.0\n"), "\(exposition)")
        // The service's own API: nginx's six answers, inbound.
        let inner = pipeline.metrics.render(.prometheusText)
        #expect(inner.contains("A123010101_inner_metrics_count{") && inner.contains(#"path="/large.json""#))
    }
}
