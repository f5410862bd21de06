@testable import ChannelExporter
import Foundation
import HTTP1Observer
import Testing

/// HTTPS and plain HTTP through CONNECT tunnels of forward proxies on the service's host, with the
/// clients' key log (captures/scripts/make-connect-tunnel-fixture.sh: squid on 3128, tinyproxy on
/// 8888, nginx as the partner on 443, 8443, 80 and 8080; `requests` with `proxies=` and curl `-x`,
/// `-p`, SSLKEYLOGFILE). After the proxy's 2xx the tunnel's stream is read as a connection of its
/// own: each call inside is the caller's call to the CONNECT target's URL.
@Suite struct ConnectTunnelCaptureTests {
    static let directory = "http/connect-tunnel/"
    static let proxyPorts: Set<UInt16> = [3128, 8888]

    final class Collected: HTTPExchangeSink {
        var exchanges: [HTTPExchange] = []
        func observe(_ exchange: HTTPExchange) { exchanges.append(exchange) }
    }

    struct Logged {
        var method: String
        var url: URL
        var status: Int
        var keys: Bool
        /// The authority as written in the URL (`host[:port]`), which the reference's partner table reads.
        var authority: String { url.host! + (url.port.map { ":\($0)" } ?? "") }
        var target: String { url.path + (url.query.map { "?" + $0 } ?? "") }
    }

    static func clientLog() throws -> [Logged] {
        let text = try String(contentsOfFile: Fixtures.path(directory + "tunnel.client.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let url = try #require(object["url"] as? String)
            return Logged(
                method: try #require(object["method"] as? String), url: try #require(URL(string: url)),
                status: try #require(object["status"] as? Int), keys: try #require(object["keys"] as? Bool))
        }
    }

    static func replay(keylog: Bool) throws -> (ReplayResult, [HTTPExchange], Pipeline) {
        var config = ExporterConfiguration(syscode: "A123010101")
        // As the reference's table keys them: the URL's authority, the default port not written.
        config.partners = [.init(hosts: ["partner.example", "partner.example:8443"], partner: "1", actions: [("/api/order", "ORD")])]
        config.tls.keylogFiles = keylog ? [Fixtures.path(directory + "tunnel.keylog")] : []
        let collected = Collected()
        let pipeline = try Pipeline(configuration: config, exchangeLog: collected)
        let result = try ReplayRunner.run(files: [Fixtures.path(directory + "tunnel.pcap")], pipeline: pipeline)
        return (result, collected.exchanges, pipeline)
    }

    /// Every call a client whose keys were logged made is read inside its tunnel, in order, with the
    /// URL's authority as its host (`partner.example` for `https://partner.example/...`, where the
    /// CONNECT said `partner.example:443`), its target and the status the client got.
    @Test func everyLoggedCallIsReadInsideItsTunnel() throws {
        let log = try Self.clientLog()
        #expect(log.count == 13 && log.filter(\.keys).count == 12)
        let (result, exchanges, _) = try Self.replay(keylog: true)
        let inside = exchanges.filter { Self.proxyPorts.contains($0.server.port) && $0.request?.method != "CONNECT" }
        let ours = inside.map { "\($0.request?.method ?? "-") \($0.request?.host ?? "-") \($0.request?.target ?? "-") \($0.response?.status ?? 0)" }
        let expected = log.filter(\.keys).map { "\($0.method) \($0.authority) \($0.target) \($0.status)" }
        #expect(ours == expected)
        // Ten CONNECTs: nine tunnels (one per Session and host, per curl run), one refused (403).
        let connects = exchanges.filter { $0.request?.method == "CONNECT" }
        #expect(connects.count == 10 && connects.filter { $0.response?.status == 403 }.count == 1)
        let http = result.statistics.http
        #expect(http.connectTunnels == 9 && http.upgrades == 9)
        // Named where the user looks: the replay summary, its JSON, the self-metrics.
        #expect(ReplaySummary.text(result).contains("9 upgrades (9 CONNECT tunnels read)"))
        #expect(ReplaySummary.json(result).contains("\"upgrades\":9,\"connect_tunnels\":9,"))
        let selfMetrics = SelfMetrics.render(SelfMetricsInput(pipeline: result.statistics), metrics: nil, format: .prometheusText)
        #expect(selfMetrics.contains("\nchannel_exporter_connect_tunnels_total 9.0\n"), "\(selfMetrics)")
        #expect(http.anomalies.isEmpty, "\(http.anomalies)")
        #expect(http.requestsWithoutResponse == 0 && http.responsesWithoutRequest == 0)
        // The tunnel whose keys were not logged, and the proxy's leg of it (the same TLS session,
        // relayed): no key, counted as TLS connections.
        let tls = result.statistics.tls
        #expect(tls.count(of: .noKey) == 2)
        #expect(http.tlsConnections == 2)
        // Decrypted: the six HTTPS tunnels with keys, and the proxies' legs of them to the partner,
        // which carry the same TLS sessions byte for byte (a CONNECT proxy relays; it does not
        // terminate TLS): the calls are seen a second time there, as plain calls through a proxy are.
        #expect(tls.decryptedConnections == 12)
        let legs = exchanges.filter { [443, 8443, 80, 8080].contains($0.server.port) }
        #expect(legs.count == log.filter(\.keys).count)
    }

    /// The first call in a tunnel opened its proxy connection: timed from that connection's SYN, as
    /// any call that opened its connection; the later ones from their request.
    @Test func theFirstCallInATunnelIsTimedFromTheProxyConnectionsSYN() throws {
        let (_, exchanges, _) = try Self.replay(keylog: true)
        let inside = exchanges.filter { Self.proxyPorts.contains($0.server.port) && $0.request?.method != "CONNECT" }
        let connects = exchanges.filter { $0.request?.method == "CONNECT" && $0.response?.status == 200 }
        for call in inside {
            let connect = try #require(connects.first { $0.connection.id == call.connection.id })
            if call.isFirstOnConnection {
                #expect(call.callStart == connect.connection.synTime)
                // The tunnel's setup ended with the 2xx (plain) or the client's TLS handshake after it.
                #expect(call.connection.handshakeEnd! >= connect.responseLastByte!)
                #expect(call.connection.handshakeEnd! <= call.requestFirstByte!)
            } else {
                #expect(call.callStart == call.requestFirstByte)
            }
        }
        #expect(inside.filter(\.isFirstOnConnection).count == 8)
    }

    /// tshark, decrypting with the same key log, sees the same requests and answers on each port.
    @Test func tsharkAgrees() throws {
        let (_, exchanges, _) = try Self.replay(keylog: true)
        let text = try String(contentsOfFile: Fixtures.path(Self.directory + "tunnel.tshark.tsv"), encoding: .utf8)
        let serverPorts: Set<Int> = [3128, 8888, 443, 8443, 80, 8080]
        var tsharkRequests: [String] = []
        var tsharkStatuses: [String] = []
        for line in text.split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            let port = f[1].split(separator: ",").compactMap { Int($0) }.first { serverPorts.contains($0) }!
            if !f[2].isEmpty, f[2] != "CONNECT" { tsharkRequests.append("\(port) \(f[2]) \(f[3]) \(f[4])") }
            if !f[5].isEmpty { tsharkStatuses.append("\(port) \(f[5])") }
        }
        // tshark decodes TLS inside a tunnel, not plain HTTP (it stops at the 200 of curl's `-p` tunnels).
        let plainTunnels = Set(exchanges.filter {
            $0.request?.method == "CONNECT" && ($0.request!.target.hasSuffix(":80") || $0.request!.target.hasSuffix(":8080"))
        }.map(\.connection.id))
        let seen = exchanges.filter {
            !(Self.proxyPorts.contains($0.server.port) && plainTunnels.contains($0.connection.id) && $0.request?.method != "CONNECT")
        }
        #expect(seen.count == exchanges.count - 3)
        let calls = seen.filter { $0.request?.method != "CONNECT" }
        let ourRequests = calls.map { "\($0.server.port) \($0.request!.method) \($0.request!.target) \($0.request!.host ?? "")" }
        let ourStatuses = seen.compactMap { e in e.response.map { "\(e.server.port) \($0.status)" } }
        #expect(ourRequests.sorted() == tsharkRequests.sorted())
        #expect(ourStatuses.sorted() == tsharkStatuses.sorted())
    }

    /// The metrics: the calls inside the tunnels are partner calls by the URL's authority
    /// (`partner.example`, `partner.example:8443`), with the listed action; the syscode host gives its
    /// tcode; the CONNECTs are no calls.
    @Test func metricsNameThePartnerByTheURLsAuthority() throws {
        let (_, _, pipeline) = try Self.replay(keylog: true)
        let statistics = pipeline.metrics.statistics()
        #expect(statistics.skipped[.tunnel] == 10)
        let exposition = pipeline.metrics.render(.prometheusText)
        func value(_ prefix: String) -> Double? {
            exposition.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
        }
        let p = #"partner_http_metrics_count{action_code="ORD",appid="A123",application="A123010101",code="0",http_status="200",partner="1"}"#
        // POST /api/order by requests (https://partner.example) and curl (https://partner.example:8443),
        // each seen in its tunnel and on the proxy's leg.
        #expect(value(p) == 4)
        let e = #"external_calls_total{appid="A123",application="A123010101",call_type="http",method_code="",status="success",tcode="A123020202"}"#
        #expect(value(e) == 2)
    }

    /// A CONNECT's target is an authority (RFC 9112 §3.2.3), not a path: the exchange log shows it as
    /// sent, in `target` and in `path`. Seen fail: `"path":"/partner.example:443"` (Werkzeug's `/`).
    /// The metrics do not read it (the CONNECTs are skipped as `tunnel`, as above).
    @Test func aCONNECTsPathIsItsAuthorityAsSent() throws {
        let (_, exchanges, _) = try Self.replay(keylog: false)
        let connects = exchanges.filter { $0.request?.method == "CONNECT" }
        #expect(connects.count == 10)
        for connect in connects {
            #expect(connect.request!.path == connect.request!.target && !connect.request!.path.hasPrefix("/"))
        }
        let line = ExchangeLog.jsonLine(connects[0])
        #expect(line.contains(#""target":"partner.example:443","path":"partner.example:443","#), "\(line)")
        // Other requests keep Flask's path.
        let call = try #require(exchanges.first { $0.request?.method == "GET" })
        #expect(call.request!.path.hasPrefix("/"))
    }

    /// Optimistic clients (optimistic.pcap, made with tunnel.pcap: `optimistic_connect.py` writes the
    /// CONNECT and its TLS ClientHello in one send, before the answer, through squid and tinyproxy):
    /// the ClientHello is kept and read as the tunnel's start once the 200 comes, so the call inside is
    /// decrypted and read as any. Seen fail: those bytes were dropped (`bytes_while_awaiting_upgrade`),
    /// each tunnel read as picked up mid-stream, its one call lost. The CONNECT squid refuses (403)
    /// lets its ClientHello go (counted): squid answers it with a 400, a response without request.
    @Test func optimisticClientsTunnelsAreRead() throws {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.tls.keylogFiles = [Fixtures.path(Self.directory + "optimistic.keylog")]
        let collected = Collected()
        let pipeline = try Pipeline(configuration: config, exchangeLog: collected)
        let result = try ReplayRunner.run(files: [Fixtures.path(Self.directory + "optimistic.pcap")], pipeline: pipeline)
        let text = try String(contentsOfFile: Fixtures.path(Self.directory + "optimistic.client.jsonl"), encoding: .utf8)
        let answered = try text.split(separator: "\n").compactMap { line -> String? in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard let status = object["status"] as? Int, let url = URL(string: try #require(object["url"] as? String)) else { return nil }
            let target = url.path + (url.query.map { "?" + $0 } ?? "")
            return "GET \(url.host!)\(url.port.map { ":\($0)" } ?? "") \(target) \(status)"
        }
        #expect(answered.count == 3)
        let exchanges = collected.exchanges
        let inside = exchanges.filter { Self.proxyPorts.contains($0.server.port) && $0.request != nil && $0.request?.method != "CONNECT" }
        #expect(inside.map { "\($0.request!.method) \($0.request!.host ?? "-") \($0.request!.target) \($0.response?.status ?? 0)" } == answered)
        // Each opened its proxy connection: timed from its SYN, as a call that opens its connection is.
        #expect(inside.allSatisfy { $0.isFirstOnConnection && $0.callStart != nil && $0.callStart == $0.connection.synTime })
        let http = result.statistics.http
        #expect(http.connectTunnels == 3)
        #expect(exchanges.filter { $0.request?.method == "CONNECT" }.map { $0.response?.status } == [200, 200, 200, 403])
        #expect(http.count(of: .bytesWhileAwaitingUpgrade) == 1 && http.responsesWithoutRequest == 1)
        #expect(result.statistics.tls.count(of: .noKey) == 0)
    }

    /// Without the key log, the tunnels' TLS is counted as TLS connections (as HTTPS reached directly),
    /// and only curl's plain calls inside its `-p` tunnels are read.
    @Test func withoutKeysTheTunnelsAreTLSConnections() throws {
        let (result, exchanges, _) = try Self.replay(keylog: false)
        let inside = exchanges.filter { Self.proxyPorts.contains($0.server.port) && $0.request?.method != "CONNECT" }
        #expect(inside.map { $0.request?.host } == ["partner.example:8080", "partner.example:8080", "partner.example"])
        // 7 tunnels carrying TLS, and the proxies' 7 legs of them.
        #expect(result.statistics.http.tlsConnections == 14)
    }
}
