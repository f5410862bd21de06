@testable import ChannelExporter
import Foundation
import Testing

/// HTTPS on a watched port (captures/scripts/make-tls-fixture.sh: nginx with TLS 1.2 and 1.3,
/// curl and Python clients, plaintext HTTP beside): each TLS connection is counted once as such,
/// where the user looks, and is no HTTP/1 parse anomaly; the plaintext calls are read as usual.
@Suite struct TLSCaptureTests {
    @Test(arguments: ["http/tls/tls.pcap", "http/tls/tls-midstream.pcap"])
    func tlsConnectionsAreCountedByTheirOwnName(fixture: String) throws {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [18080, 18443]
        let pipeline = try Pipeline(configuration: config)
        let result = try ReplayRunner.run(files: [Fixtures.path(fixture)], pipeline: pipeline)
        let http = result.statistics.http
        // The client log: 4 calls over TLS on 3 connections, 2 over HTTP on one.
        let client = try String(contentsOfFile: Fixtures.path("http/tls/tls.client.jsonl"), encoding: .utf8)
        #expect(client.split(separator: "\n").filter { $0.contains("https://") }.count == 4)
        #expect(http.tlsConnections == 3)
        #expect(http.exchangesComplete == 2)
        #expect(http.anomalies.isEmpty, "\(http.anomalies)")
        #expect(ReplaySummary.json(result).contains("\"http2_connections\":0,\"tls_connections\":3,"))
        let exposition = SelfMetrics.render(SelfMetricsInput(pipeline: result.statistics), metrics: nil, format: .prometheusText)
        #expect(exposition.contains("\nchannel_exporter_tls_connections_total 3.0\n"), "\(exposition)")
        let inner = pipeline.metrics.render(.prometheusText)
        #expect(inner.contains(#"path="/small.json""#) && inner.contains(#"path="/large.json""#))
    }
}
