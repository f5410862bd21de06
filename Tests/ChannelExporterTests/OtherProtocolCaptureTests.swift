@testable import ChannelExporter
import Foundation
import HTTP1Observer
import Testing

/// A service host's other connections (captures/scripts/make-other-protocols-fixture.sh: real Redis,
/// PostgreSQL, sshd and SMTP servers and their clients, beside plaintext HTTP): each is counted once
/// as another protocol, where the user looks, and is no HTTP/1 parse anomaly, and the HTTP text in a
/// Redis value or a mail makes no exchange; the HTTP calls are read as usual.
@Suite struct OtherProtocolCaptureTests {
    static let httpPort = 18080

    /// tshark's count of connections per server port (`other-protocols.expected.json`).
    static func connectionsByPort() throws -> [Int: Int] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("http/other-protocols/other-protocols.expected.json")))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: [String: Int]]
        return Dictionary(uniqueKeysWithValues: (object?["connections_by_port"] ?? [:]).map { (Int($0.key)!, $0.value) })
    }

    static func replay(_ fixture: String) throws -> (ReplayResult, [HTTPExchange], Pipeline) {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [UInt16(httpPort)]
        let log = CollectedExchanges()
        let pipeline = try Pipeline(configuration: config, exchangeLog: log)
        let result = try ReplayRunner.run(files: [Fixtures.path(fixture)], pipeline: pipeline)
        return (result, log.exchanges, pipeline)
    }

    @Test func eachConnectionOfAnotherProtocolIsCountedByThatName() throws {
        let byPort = try Self.connectionsByPort()
        let others = byPort.filter { $0.key != Self.httpPort }.values.reduce(0, +)
        // Redis, PostgreSQL, SSH and SMTP, all there.
        #expect(Set(byPort.keys) == [10022, 10025, 15432, 16379, 18080] && others >= 5)
        let (result, exchanges, pipeline) = try Self.replay("http/other-protocols/other-protocols.pcap")
        let http = result.statistics.http
        #expect(http.otherProtocolConnections == others)
        #expect(http.anomalies.isEmpty, "\(http.anomalies)")
        // The client log's two calls, and nothing from the cached request and response in Redis.
        let client = try String(contentsOfFile: Fixtures.path("http/other-protocols/other-protocols.client.jsonl"), encoding: .utf8)
        #expect(client.split(separator: "\n").count == 2)
        #expect(http.exchangesComplete == 2 && exchanges.count == 2)
        #expect(exchanges.allSatisfy { Int($0.server.port) == Self.httpPort })
        #expect(ReplaySummary.json(result).contains("\"tls_connections\":0,\"other_protocol_connections\":\(others),"))
        let exposition = SelfMetrics.render(SelfMetricsInput(pipeline: result.statistics), metrics: nil, format: .prometheusText)
        #expect(exposition.contains("\nchannel_exporter_other_protocol_connections_total \(others).0\n"), "\(exposition)")
        #expect(pipeline.metrics.render(.prometheusText).contains(#"path="/ok.json""#))
    }

    /// Without the SYNs (the exporter started while they were open), nothing shows where those
    /// connections begin: their bytes are searched for HTTP as before (bad lines, and the HTTP text
    /// in Redis is found), and the HTTP calls are still read.
    @Test func connectionsPickedUpMidStreamAreSearchedAsBefore() throws {
        let (result, exchanges, _) = try Self.replay("http/other-protocols/other-protocols-midstream.pcap")
        let http = result.statistics.http
        #expect(http.otherProtocolConnections == 0)
        #expect(http.count(of: .resync) > 0)
        #expect(http.exchangesComplete == 2)
        #expect(exchanges.filter { $0.completeness == .complete }.allSatisfy { Int($0.server.port) == Self.httpPort })
    }
}

/// Keeps every exchange the pipeline sees.
private final class CollectedExchanges: HTTPExchangeSink {
    var exchanges: [HTTPExchange] = []
    func observe(_ exchange: HTTPExchange) { exchanges.append(exchange) }
}
