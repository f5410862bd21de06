/// The HTTP/2 fixtures (nginx with prior knowledge, curl's h2c upgrade to lighttpd) through decoding, reassembly and the HTTP observer.
import Foundation
import PacketDecoding
import Testing

@testable import HTTP1Observer

/// The recorded fixtures (captures/scripts/make-http2-fixtures.sh): HTTP/2 connections counted as
/// such and nothing else; the HTTP/1.1 connection beside them read as usual.
@Suite struct HTTP2FixtureTests {
    struct ClientEntry: Decodable { var method: String; var url: String; var status: Int }

    static func clientLog(_ name: String) throws -> [ClientEntry] {
        let text = try String(contentsOfFile: httpCapturesDirectory + "/\(name).client.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(ClientEntry.self, from: Data($0.utf8)) }
    }


    /// nginx with prior knowledge on 18083 (nghttp's three requests on one connection, curl's POST on
    /// a second), curl in HTTP/1.1 on 18080.
    @Test func priorKnowledgeToNginx() throws {
        let run = try replayCapture(httpCapturesDirectory + "/h2-prior-knowledge.pcap").run
        let log = try Self.clientLog("h2-prior-knowledge")
        #expect(log.count >= 4)
        let http2Ports = Set(log.compactMap { URL(string: $0.url)?.port }.filter { $0 == 18083 })
        #expect(!http2Ports.isEmpty)
        #expect(run.statistics.http2Connections == 2)
        #expect(run.statistics.anomalies.isEmpty, "\(run.statistics.anomalies)")
        // Exactly the HTTP/1.1 exchanges the client logged, paired.
        let http1 = log.filter { URL(string: $0.url)?.port != 18083 }.map { "\($0.method) \($0.url) \($0.status)" }
        let ours = run.exchanges.map {
            "\($0.request?.method ?? "-") http://\($0.server)\($0.request?.target ?? "-") \($0.response?.status ?? 0)"
        }
        #expect(!http1.isEmpty)
        #expect(ours == http1)
        #expect(run.exchanges.allSatisfy { $0.completeness == .complete && !http2Ports.contains(Int($0.server.port)) })
    }

    /// curl --http2 to lighttpd: `Upgrade: h2c`, 101, then HTTP/2: the request unanswered for an HTTP/1.1
    /// observer (its answer is on stream 1), an upgrade, and an HTTP/2 connection.
    @Test func h2cUpgradeByCurl() throws {
        let run = try replayCapture(httpCapturesDirectory + "/h2c-upgrade-curl.pcap").run
        let log = try Self.clientLog("h2c-upgrade-curl")
        #expect(log.count == 2)
        #expect(run.statistics.upgrades == 1)
        #expect(run.statistics.http2Connections == 1)
        #expect(run.statistics.anomalies.isEmpty, "\(run.statistics.anomalies)")
        #expect(run.exchanges.count == 1)
        #expect(run.exchanges.first?.completeness == .requestWithoutResponse)
        #expect(run.exchanges.first.map { "http://\($0.server)\($0.request?.target ?? "")" } == log.first?.url)
    }
}
