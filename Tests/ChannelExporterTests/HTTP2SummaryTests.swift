@testable import ChannelExporter
import Testing

/// HTTP/2 connections (captures/scripts/make-http2-fixtures.sh) are named as such where the user
/// looks: the replay summary, its JSON and the self-metrics; not as HTTP/1 parse anomalies.
@Suite struct HTTP2SummaryTests {
    @Test func http2ConnectionsAreCountedByTheirOwnName() throws {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [18083, 18080]
        let pipeline = try Pipeline(configuration: config)
        let result = try ReplayRunner.run(files: [Fixtures.path("http/h2-prior-knowledge.pcap")], pipeline: pipeline)
        let text = ReplaySummary.text(result)
        #expect(text.split(separator: "\n").contains("http:          2 exchanges, 0 responses without request, 0 requests without response, 0 upgrades, 2 HTTP/2, 0 TLS and 0 other-protocol connections (not decoded)"), "\(text)")
        let json = ReplaySummary.json(result)
        #expect(json.contains("\"upgrades\":0,\"connect_tunnels\":0,\"http2_connections\":2,"), "\(json)")
        #expect(json.contains("\"http_anomalies\":{}"), "\(json)")
        let exposition = SelfMetrics.render(SelfMetricsInput(pipeline: result.statistics), metrics: nil, format: .prometheusText)
        #expect(exposition.contains("\n# TYPE channel_exporter_http2_connections_total counter\nchannel_exporter_http2_connections_total 2.0\n"), "\(exposition)")
        #expect(exposition.contains("channel_exporter_http_anomalies_total{reason=\"bad_request_line\"} 0.0"))
    }
}
