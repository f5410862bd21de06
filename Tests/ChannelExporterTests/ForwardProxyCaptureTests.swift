@testable import ChannelExporter
import Foundation
import HTTP1Observer
import Testing

/// A service's outgoing calls through forward proxies on its host (captures/scripts/
/// make-proxy-edge-fixture.sh: squid with Basic proxy authentication on 3128, tinyproxy on 8888, a
/// partner on 8080 and 443; `requests` with `proxies=`, Go's `http.ProxyURL`, curl `-x`). Plain HTTP
/// goes to the proxy in absolute form and is read as the call to the partner's URL; HTTPS goes
/// through a CONNECT tunnel, which is no call; the proxy's own call to the partner is a second
/// outgoing exchange (docs/how-it-decides.md, "Inbound vs outgoing").
@Suite struct ForwardProxyCaptureTests {
    struct Call: Hashable {
        var method: String
        var url: String
        var status: Int
    }

    static let proxyPorts: Set<UInt16> = [3128, 8888]

    /// The clients' log: every call with its proxy ("direct" for none) and whether it went through a
    /// CONNECT tunnel (every `https://` call; curl `--proxytunnel` for two plain ones).
    static func clientLog() throws -> [(call: Call, proxy: String, tunnelled: Bool)] {
        let text = try String(contentsOfFile: Fixtures.path("http/proxy-edge/forward-proxy.client.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let url = try #require(object["url"] as? String)
            let call = Call(method: try #require(object["method"] as? String), url: url, status: try #require(object["status"] as? Int))
            return (call, try #require(object["proxy"] as? String), url.hasPrefix("https://") || object["tunnel"] != nil)
        }
    }

    static func replay() throws -> (ReplayResult, [HTTPExchange], Pipeline) {
        var config = ExporterConfiguration(syscode: "A123010101")
        // partner.example as written in the URLs (port 8080), its tcode from T-Code (partner ""),
        // one action; a123020202.example gives its tcode by the host rule.
        config.partners = [.init(hosts: ["partner.example:8080"], partner: "", actions: [("/api/order", "ORD")])]
        let log = CollectedProxyExchanges()
        let pipeline = try Pipeline(configuration: config, exchangeLog: log)
        let result = try ReplayRunner.run(files: [Fixtures.path("http/proxy-edge/forward-proxy.pcap")], pipeline: pipeline)
        return (result, log.exchanges, pipeline)
    }

    /// What the service sent its proxies in plain HTTP is what its code called: method, the URL
    /// (absolute-form target), the partner's authority as the host, the status it got.
    @Test func callsThroughAProxyAreThePartnersURLs() throws {
        let log = try Self.clientLog()
        #expect(log.count == 36)
        let (result, exchanges, _) = try Self.replay()
        let toProxies = exchanges.filter {
            Self.proxyPorts.contains($0.server.port) && $0.request?.method != "CONNECT" && $0.response != nil
        }
        let expected = log.filter { $0.proxy != "direct" && !$0.tunnelled }.map(\.call)
        #expect(expected.count == 18)
        // Calls inside a CONNECT tunnel (curl `-p`: origin-form, in clear) are read since session 18.
        let absolute = toProxies.filter { $0.request?.target.hasPrefix("http://") == true }
        let inTunnels = toProxies.filter { $0.request?.target.hasPrefix("http://") != true }
        let tunnelledPlain = log.filter { $0.tunnelled && !$0.call.url.hasPrefix("https://") }.map(\.call)
        #expect(tunnelledPlain.count == 2)
        #expect(inTunnels.map { "\($0.request!.method) http://\($0.request!.host ?? "-")\($0.request!.target) \($0.response!.status)" }
            == tunnelledPlain.map { "\($0.method) \($0.url) \($0.status)" })
        let seen = absolute.map { Call(method: $0.request?.method ?? "", url: $0.request?.target ?? "", status: $0.response?.status ?? 0) }
        #expect(seen.sorted { "\($0)" < "\($1)" } == expected.sorted { "\($0)" < "\($1)" })
        // The host is the URL's authority, also where curl sent `Host: alias.example:8080` (squid
        // went to partner.example, as RFC 9112 §3.2.2 says; before, the host was the alias).
        for exchange in absolute {
            let target = try #require(exchange.request?.target)
            let authority = target.dropFirst("http://".count).prefix { $0 != "/" }
            #expect(exchange.request?.host == String(authority), "\(target)")
        }
        // The tunnels: one per Session, Transport and curl run that called https:// (the 407 too).
        let connects = exchanges.filter { $0.request?.method == "CONNECT" }
        #expect(connects.count == 7 && connects.filter { $0.response?.status == 407 }.count == 1)
        let http = result.statistics.http
        #expect(http.upgrades == 6 && http.connectTunnels == 6)
        // TLS (no key log here): the direct HTTPS session, the proxies' five connections to the
        // partner's 443, and the five tunnels that carry TLS (read since session 18 as connections of
        // their own; before, not counted at all).
        #expect(http.tlsConnections == 11)
        #expect(http.anomalies.isEmpty, "\(http.anomalies)")
        // tinyproxy closed two kept connections as `requests` sent its next call on them; requests
        // retried each on a new connection (one call for the caller): 2 requests without response.
        #expect(http.requestsWithoutResponse == 2 && http.responsesWithoutRequest == 0)
        // The partner's side: the direct calls, and each plain call a proxy passed on (all but the
        // 407), the two in curl's plain tunnel included.
        let toPartner = exchanges.filter { $0.server.port == 8080 }
        let passedOn = log.filter { $0.proxy != "direct" && !$0.call.url.hasPrefix("https://") && $0.call.status != 407 }
        let direct = log.filter { $0.proxy == "direct" && !$0.call.url.hasPrefix("https://") }
        #expect(toPartner.count == direct.count + passedOn.count)
        #expect(exchanges.count == toProxies.count + connects.count + toPartner.count + http.requestsWithoutResponse)
    }

    /// tshark pairs the same requests and responses (`forward-proxy.tshark.jsonl`).
    @Test func tsharkAgrees() throws {
        let (_, exchanges, _) = try Self.replay()
        let text = try String(contentsOfFile: Fixtures.path("http/proxy-edge/forward-proxy.tshark.jsonl"), encoding: .utf8)
        let tshark = try text.split(separator: "\n").map { line -> String in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return "\(object["server_port"]!) \(object["method"]!) \(object["target"]!) \(object["status"]!)"
        }
        // tshark stops at a tunnel's 200: the calls read inside curl's plain tunnel are ours alone.
        let ours = exchanges.filter { !(Self.proxyPorts.contains($0.server.port) && $0.request?.target.hasPrefix("/") == true) }.map {
            "\($0.server.port) \($0.request?.method ?? "") \($0.request?.target ?? "") \($0.response.map { String($0.status) } ?? "<null>")"
        }
        #expect(ours.sorted() == tshark.sorted())
    }

    /// The metrics: every exchange but the CONNECTs is a call; User-Agent, Method-Code and T-Code
    /// reach the partner through squid and tinyproxy, so the proxy's leg carries the same labels.
    @Test func metricsNameThePartnerAndSkipTheTunnels() throws {
        let (_, exchanges, pipeline) = try Self.replay()
        let statistics = pipeline.metrics.statistics()
        #expect(statistics.skipped[.tunnel] == 7)
        let calls = exchanges.filter { $0.request?.method != "CONNECT" && $0.response != nil }.count
        // 42, and since session 18 curl's two plain calls read inside its tunnel as well as on the leg.
        #expect(statistics.recorded[.external] == UInt64(calls) && calls == 44)
        let exposition = pipeline.metrics.render(.prometheusText)
        func count(_ labels: String) -> Double? {
            exposition.split(separator: "\n").first { $0.hasPrefix("external_calls_total{" + labels + "}") }
                .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
        }
        let prefix = #"appid="A123",application="A123010101",call_type="http","#
        // `requests`' GET /api/x?y=1 (Method-Code MC1, T-Code t01): through squid and tinyproxy, two legs
        // each, and direct. "0000" is not the number 0: error.
        #expect(count(prefix + #"method_code="MC1",status="error",tcode="T01""#) == 5)
        // POST /api/order, a listed path: its action, whatever the body says (requests: 2 legs through
        // each proxy and direct; Go, T-Code tgo, through squid).
        #expect(count(prefix + #"method_code="ORD",status="success",tcode="""#) == 5)
        #expect(count(prefix + #"method_code="ORD",status="success",tcode="TGO""#) == 2)
        // a123020202.example: tcode by the host rule, from the URL through the proxy.
        #expect(count(prefix + #"method_code="",status="success",tcode="A123020202""#) == 5)
        // Empty labels and an error: /api/fail with `T-Code: ` (5 legs), curl's tunnelled one (its
        // partner leg, and since session 18 in its tunnel), the 407, curl's `Host: alias` call (2
        // legs); before session 17, the 7 CONNECTs too.
        #expect(count(prefix + #"method_code="",status="error",tcode="""#) == 10)
        // squid's 407 is what the caller got (requests returns it): a call to the partner's URL.
        #expect(exposition.contains(#"partner_http_metrics_count{action_code="",appid="A123",application="A123010101",code="-1",http_status="407",partner=""} 1.0"#), "\(exposition)")
    }
}

private final class CollectedProxyExchanges: HTTPExchangeSink {
    var exchanges: [HTTPExchange] = []
    func observe(_ exchange: HTTPExchange) { exchanges.append(exchange) }
}
