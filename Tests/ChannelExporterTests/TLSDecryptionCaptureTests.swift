@testable import ChannelExporter
import ChannelMetrics
import Foundation
import HTTP1Observer
import TLSDecryption
import Testing

/// HTTPS read with the clients' key logs (captures/scripts/make-tls-fixtures.sh: nginx, curl and
/// Python requests with SSLKEYLOGFILE, recorded on a loopback): every exchange the client logged is
/// found, in order, with its status, and pairs as tshark's do when it decrypts with the same key log.
@Suite struct TLSDecryptionCaptureTests {
    static let directory = "http/tls-decrypt/"

    final class Collected: HTTPExchangeSink {
        var exchanges: [HTTPExchange] = []
        func observe(_ exchange: HTTPExchange) { exchanges.append(exchange) }
    }

    struct Run {
        var result: ReplayResult
        var exchanges: [HTTPExchange]
        var pipeline: Pipeline
    }

    static func replay(_ file: String, keylogs: [String]?, inbound: [UInt16] = [18443], partners: [ExporterConfiguration.PartnerEntry]? = nil) throws -> Run {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = inbound
        config.partners = partners
        config.tls.keylogFiles = keylogs ?? []
        let collected = Collected()
        let pipeline = try Pipeline(configuration: config, exchangeLog: collected)
        let result = try ReplayRunner.run(files: [Fixtures.path(directory + file)], pipeline: pipeline)
        return Run(result: result, exchanges: collected.exchanges, pipeline: pipeline)
    }

    /// (method, path and query, status) of each request the client logged.
    static func clientLog(_ name: String) throws -> [String] {
        let text = try String(contentsOfFile: Fixtures.path(directory + name + ".client.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let url = URL(string: object["url"] as! String)!
            let target = url.path + (url.query.map { "?" + $0 } ?? "")
            return "\(object["method"] as! String) \(target) \(object["status"] as! Int)"
        }
    }

    /// tshark's response codes per TCP stream, streams in order.
    static func tsharkCodes(_ name: String) throws -> [[Int]] {
        let text = try String(contentsOfFile: Fixtures.path(directory + name + ".tshark.tsv"), encoding: .utf8)
        var byStream: [(Int, [Int])] = []
        for line in text.split(separator: "\n") {
            // request_in is empty where tshark did not link the response to its request.
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            let stream = Int(fields[0])!, code = Int(fields[2])!
            if let i = byStream.firstIndex(where: { $0.0 == stream }) { byStream[i].1.append(code) } else { byStream.append((stream, [code])) }
        }
        return byStream.map(\.1)
    }

    static func ours(_ exchanges: [HTTPExchange]) -> [String] {
        exchanges.map { "\($0.request?.method ?? "-") \($0.request?.target ?? "-") \($0.response?.status ?? 0)" }
    }

    static func oursByConnection(_ exchanges: [HTTPExchange]) -> [[Int]] {
        var byConnection: [(UInt64, [Int])] = []
        for e in exchanges {
            let code = e.response?.status ?? 0
            if let i = byConnection.firstIndex(where: { $0.0 == e.connection.id }) { byConnection[i].1.append(code) } else { byConnection.append((e.connection.id, [code])) }
        }
        return byConnection.map(\.1)
    }

    @Test(arguments: [
        ("tls13-aes128gcm", 1), ("tls13-aes256gcm", 1), ("tls13-chacha20", 1),
        ("tls12-ecdhe-aes128gcm", 1), ("tls12-ecdhe-aes256gcm", 1), ("tls12-ecdhe-chacha20", 1), ("tls12-rsa-aes128gcm", 1),
        ("tls12-cbc", 1), ("tls12-cbc-sha384", 1),
        ("tls13-resumption", 2), ("tls12-resumption", 2), ("requests-keepalive", 1),
    ])
    func everyExchangeTheClientLoggedIsRead(name: String, connections: Int) throws {
        let run = try Self.replay(name + ".pcap", keylogs: [Fixtures.path(Self.directory + name + ".keylog")])
        #expect(Self.ours(run.exchanges) == (try Self.clientLog(name)))
        #expect(Self.oursByConnection(run.exchanges) == (try Self.tsharkCodes(name)))
        let tls = run.result.statistics.tls
        #expect(tls.connections == connections)
        #expect(tls.decryptedConnections == connections)
        #expect(tls.failures.allSatisfy { $0 == 0 }, "\(tls.failures)")
        #expect(tls.recordsFailed == 0)
        #expect(run.result.statistics.http.tlsConnections == 0)
        // The large body is longer than the body prefix kept (64 KiB): that one, and no other.
        #expect(run.result.statistics.http.anomalies.keys.allSatisfy { $0 == .bodyPrefixTruncated }, "\(run.result.statistics.http.anomalies)")
        #expect(run.exchanges.allSatisfy { !$0.sawGap })
    }

    /// The key log carried in the file (editcap --inject-secrets), no key log configured.
    @Test(arguments: ["tls13-aes128gcm", "tls12-ecdhe-aes128gcm"])
    func decryptionSecretsBlocksAreKeys(name: String) throws {
        let run = try Self.replay(name + "-dsb.pcapng", keylogs: nil)
        #expect(Self.ours(run.exchanges) == (try Self.clientLog(name)))
        #expect(run.result.statistics.tls.decryptedConnections == 1)
        #expect(ReplaySummary.json(run.result).contains(#""tls":{"connections":1,"decrypted_connections":1,"#))
        #expect(ReplaySummary.text(run.result).contains("tls:           1 connections, 1 decrypted"))
    }

    @Test func withoutItsKeyNothingIsInvented() throws {
        let empty = NSTemporaryDirectory() + "empty-\(getpid()).keylog"
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let run = try Self.replay("tls13-aes128gcm.pcap", keylogs: [empty])
        #expect(run.exchanges.isEmpty)
        #expect(run.result.statistics.tls.count(of: .noKey) == 1)
        #expect(run.result.statistics.http.tlsConnections == 1)
        let exposition = SelfMetrics.render(SelfMetricsInput(pipeline: run.result.statistics), metrics: nil, format: .prometheusText)
        #expect(exposition.contains(#"channel_exporter_tls_decryption_failures_total{reason="no_key"} 1.0"#), "\(exposition)")
    }

    @Test(arguments: ["tls13-aes128gcm", "tls12-ecdhe-aes128gcm", "tls12-cbc"])
    func aWrongKeyIsADecryptionFailure(name: String) throws {
        // Every secret's last hex digit changed.
        let keylog = try String(contentsOfFile: Fixtures.path(Self.directory + name + ".keylog"), encoding: .utf8)
        let wrong = keylog.split(separator: "\n").map { line in
            String(line.dropLast()) + (line.last == "0" ? "1" : "0")
        }.joined(separator: "\n") + "\n"
        let path = NSTemporaryDirectory() + "wrong-\(getpid())-\(name).keylog"
        try wrong.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try Self.replay(name + ".pcap", keylogs: [path])
        #expect(run.exchanges.isEmpty)
        #expect(run.result.statistics.tls.count(of: .decryptFailed) == 1)
        #expect(run.result.statistics.tls.decryptedConnections == 0)
    }

    /// One segment of the large response removed: the records it held are a gap in the plaintext,
    /// the responses before and after it are read and paired as the client saw them.
    /// With CBC records (tls12-cbc-lost-segment) the lost plaintext is told exactly too: the body
    /// ends where it should, and the next response is not taken for a bad status line.
    @Test(arguments: ["tls13-lost-segment", "tls12-cbc-lost-segment"])
    func aLostSegmentIsAGap(name: String) throws {
        let run = try Self.replay(name + ".pcap", keylogs: [Fixtures.path(Self.directory + name + ".keylog")])
        let tls = run.result.statistics.tls
        #expect(tls.resynchronisations == 1)
        #expect(Self.ours(run.exchanges) == (try Self.clientLog(name)))
        #expect(run.exchanges.filter(\.sawGap).map { $0.request?.path } == ["/large.txt"])
        #expect(run.result.statistics.http.anomalies[.badStatusLine] == nil, "\(run.result.statistics.http.anomalies)")
    }

    @Test func alpnH2IsReadAsHTTP2() throws {
        let run = try Self.replay("h2-alpn.pcap", keylogs: [Fixtures.path(Self.directory + "h2-alpn.keylog")])
        #expect(run.result.statistics.tls.decryptedConnections == 1)
        #expect(run.result.statistics.http.http2Connections == 1)
        #expect(run.result.statistics.http.tlsConnections == 0)
    }

    /// The service's own call to a partner over HTTPS: its Host is in the partner table.
    @Test func anHTTPSCallToAPartnerIsAPartnerSeries() throws {
        let partners = [ExporterConfiguration.PartnerEntry(hosts: ["partner.example:18443"], partner: "3", actions: [("/v1/verify", "901")])]
        let run = try Self.replay(
            "partner-call.pcap", keylogs: [Fixtures.path(Self.directory + "partner-call.keylog")], inbound: [], partners: partners)
        #expect(Self.ours(run.exchanges) == (try Self.clientLog("partner-call")))
        let exposition = run.pipeline.metrics.render(.prometheusText)
        #expect(exposition.contains(#"partner_http_metrics_count{action_code="901",appid="A123",application="A123010101",code="0000",http_status="200",partner="3"} 2.0"#), "\(exposition)")
    }
}

/// `replay --tls-keylog`: the flag reads the key log, the summary says what was decrypted.
@Suite struct TLSKeylogFlagTests {
    @Test func theFlagDecrypts() async throws {
        let dir = TLSDecryptionCaptureTests.directory
        let result = try await runExporter([
            "replay", Fixtures.path(dir + "tls13-chacha20.pcap"), "--syscode", "A123010101", "--inbound-port", "18443",
            "--tls-keylog", Fixtures.path(dir + "tls13-chacha20.keylog"), "--no-progress",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("tls:           1 connections, 1 decrypted"), "\(result.standardError)")
        #expect(result.standardOutput.contains(#"path="/large.txt""#))
    }

    @Test func aMissingKeyLogIsAnError() async throws {
        let result = try await runExporter([
            "replay", Fixtures.path(TLSDecryptionCaptureTests.directory + "tls13-chacha20.pcap"), "--syscode", "A123010101",
            "--tls-keylog", "/nonexistent/keys.log",
        ])
        expectOneLineError(result, mentioning: ["/nonexistent/keys.log", "TLS key log"])
    }
}
