@testable import ChannelExporter
import Foundation
import HTTP1Observer
import Testing

/// Reverse proxies in front of a service on the same host (captures/scripts/
/// make-reverse-proxy-fixture.sh): Apache httpd (mod_proxy_http, mod_deflate, mod_status,
/// MaxKeepAliveRequests 5), HAProxy (http-reuse always; http-server-close with forwardfor; its own
/// 503 and 504), Caddy (encode gzip) and Jetty (ProxyServlet, GzipHandler), each before
/// `reverse-proxy/backend.py` on 18130; both legs in each capture, every client call logged.
@Suite struct ReverseProxyCaptureTests {
    static let backendPort: UInt16 = 18130

    struct Fixture: CustomStringConvertible, Sendable {
        var name: String
        var port: UInt16
        var description: String { name }
    }

    static let fixtures = [
        Fixture(name: "apache", port: 18120), Fixture(name: "haproxy-reuse", port: 18121),
        Fixture(name: "haproxy-close", port: 18122), Fixture(name: "caddy", port: 18123), Fixture(name: "jetty", port: 18124),
    ]

    /// The clients' log as `METHOD target status` (answered calls only: a call that raised has none).
    static func loggedAnswers(_ fixture: Fixture) throws -> [String] {
        let text = try String(contentsOfFile: Fixtures.path("http/reverse-proxy/\(fixture.name).client.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").compactMap { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard let status = object["status"] as? Int else { return nil }
            let url = try #require(object["url"] as? String)
            let prefix = "http://127.0.0.1:\(fixture.port)"
            #expect(url.hasPrefix(prefix))
            return "\(try #require(object["method"] as? String)) \(url.dropFirst(prefix.count)) \(status)"
        }
    }

    static func key(_ exchange: HTTPExchange) -> String {
        "\(exchange.request?.method ?? "-") \(exchange.request?.target ?? "-") \(exchange.response.map { String($0.status) } ?? "-")"
    }

    static func replay(_ fixture: Fixture, inbound: UInt16, filter: String? = nil) throws -> (ReplayResult, [HTTPExchange], String) {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [inbound]
        config.capture.extraFilter = filter
        let log = CollectedReverseProxyExchanges()
        let pipeline = try Pipeline(configuration: config, exchangeLog: log)
        let result = try ReplayRunner.run(files: [Fixtures.path("http/reverse-proxy/\(fixture.name).pcap")], pipeline: pipeline)
        return (result, log.exchanges, pipeline.metrics.render(.prometheusText))
    }

    /// The sum of a family's samples whose line starts with `prefix` and holds every one of `containing`.
    static func sum(_ exposition: String, _ prefix: String, containing: [String] = []) -> Double {
        exposition.split(separator: "\n").filter { line in line.hasPrefix(prefix) && containing.allSatisfy { line.contains($0) } }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    /// Every answer a client logged is paired on the proxy's front port with the same method, target
    /// and status (HTTP/1.0 from ab and curl, Expect: 100-continue, gzip'd chunked answers, Apache's
    /// `Connection: close` after 5 requests, HAProxy's own 503 and 504); what is left over is wrk's
    /// requests in flight when it stopped (answered, or cut by wrk's close: Caddy's head without its
    /// body) and HAProxy's 400 to wrk's probe connection, which sent no request (tshark shows it so).
    /// On the backend port, each call the proxy passed on, paired, whichever client's it was; the one
    /// HAProxy gave up with a 504 is unanswered (HAProxy reset the connection before the answer).
    @Test(arguments: fixtures) func everyLoggedAnswerIsPairedOnBothLegs(_ fixture: Fixture) throws {
        let logged = try Self.loggedAnswers(fixture)
        #expect(logged.count > 100)
        let (result, exchanges, _) = try Self.replay(fixture, inbound: fixture.port)
        let front = exchanges.filter { $0.server.port == fixture.port }
        let back = exchanges.filter { $0.server.port == Self.backendPort }
        var ours = [String: Int]()
        for exchange in front where exchange.request != nil && exchange.response != nil { ours[Self.key(exchange), default: 0] += 1 }
        var missing: [String] = []
        for entry in logged {
            if let n = ours[entry], n > 0 { ours[entry] = n - 1 } else { missing.append(entry) }
        }
        #expect(missing.isEmpty, "\(missing)")
        let leftOver = ours.filter { $0.value > 0 }
        #expect(leftOver.keys.allSatisfy { $0 == "GET /api/order?wrk=1 200" }, "\(leftOver)")
        #expect(leftOver.values.reduce(0, +) <= 8)
        let haproxy = fixture.name.hasPrefix("haproxy")
        let withoutRequest = front.filter { $0.request == nil }
        #expect(withoutRequest.map { $0.response?.status } == (haproxy ? [400] : []))
        #expect(front.filter { $0.response == nil }.isEmpty)

        // The backend's exchanges are the front's requests less the proxy's own answers.
        let own: Set<Int> = [503]
        let passed = front.filter { $0.request != nil && !own.contains($0.response?.status ?? 0) && $0.request?.path != "/server-status" }
            .map { "\($0.request!.method) \($0.request!.target)" }.sorted()
        let reached = back.compactMap { $0.request.map { "\($0.method) \($0.target)" } }.sorted()
        #expect(passed == reached, "front \(passed.count), back \(reached.count)")
        let unanswered = back.filter { $0.response == nil }.map { $0.request?.target }
        #expect(unanswered == (haproxy ? ["/api/slow?ms=1500"] : []))
        #expect(result.statistics.http.anomalies.filter { $0.key != .truncatedMessage }.isEmpty, "\(result.statistics.http.anomalies)")

        // tshark pairs the same, but for the cut answer it shows without response.
        let tshark = try String(contentsOfFile: Fixtures.path("http/reverse-proxy/\(fixture.name).tshark.jsonl"), encoding: .utf8)
        var theirs = [String: Int]()
        for line in tshark.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard object["server_port"] as? Int == Int(fixture.port), let status = object["status"] as? Int else { continue }
            theirs["\(object["method"] as! String) \(object["target"] as! String) \(status)", default: 0] += 1
        }
        var pairedComplete = [String: Int]()
        for exchange in front where exchange.request != nil && exchange.completeness == .complete { pairedComplete[Self.key(exchange), default: 0] += 1 }
        // tshark 4.0 takes a 100 Continue that comes after the request's body for its answer: Caddy
        // sends two, its own and the backend's, and in a re-recording the backend's came after
        // curl's body (tshark: POST -> 100, the 201 without request). A 1xx is no answer (RFC 9110
        // §15.2): the client logged 201, as we pair it.
        for key in Array(theirs.keys) where key.hasSuffix(" 100") {
            let n = theirs.removeValue(forKey: key) ?? 0
            let request = String(key.dropLast(3))
            let final = try #require(pairedComplete.keys.first { $0.hasPrefix(request) && !$0.hasSuffix(" 100") })
            theirs[final, default: 0] += n
        }
        #expect(theirs == pairedComplete)
    }

    /// README's advice for a proxy on the service's host: the service's own port as `inbound.ports`
    /// and the proxy's front port left out with `capture.filter`. Then the inner metrics hold the
    /// service's answers as the service gave them: codes read from the JSON the proxies gzip'd on
    /// the front (`-1` there: the observer cannot tell a proxy's compression from the service's),
    /// none of HAProxy's own 503 and 504, and no outgoing call. Replay applies `capture.filter` as
    /// live does; before, it read every packet, and each front call counted as an outgoing call.
    @Test(arguments: fixtures) func theServicesPortWithTheProxysFrontLeftOut(_ fixture: Fixture) throws {
        let (result, exchanges, exposition) = try Self.replay(fixture, inbound: Self.backendPort, filter: "not port \(fixture.port)")
        #expect(exchanges.allSatisfy { $0.server.port == Self.backendPort })
        #expect((result.filteredPackets ?? 0) > 0)
        #expect(Self.sum(exposition, "external_calls_total{") == 0)
        let answered = exchanges.filter { $0.request != nil && $0.response != nil && $0.response?.status != 404 }
        #expect(Self.sum(exposition, "A123010101_inner_metrics_count{") == Double(answered.count))
        #expect(Self.sum(exposition, "A123010101_inner_metrics_count{", containing: [#"path="/api/big""#, #"code="0000""#]) == 2)
        #expect(Self.sum(exposition, "A123010101_inner_metrics_count{", containing: [#"code="-1""#]) == 1)  // curl's HEAD
        #expect(Self.sum(exposition, "A123010101_inner_metrics_count{", containing: [#"http_status="50"#, #"code="-1""#]) == 0)

        // The front port as inbound instead: the proxy's compression and its own answers are the
        // service's to the observer (all the wire shows).
        let (_, _, frontExposition) = try Self.replay(fixture, inbound: fixture.port)
        let gzipped = Self.sum(frontExposition, "A123010101_inner_metrics_count{", containing: [#"path="/api/big""#, #"code="-1""#])
        #expect(gzipped == (fixture.name.hasPrefix("haproxy") ? 0 : 2))
        // Without the filter, each front call is an outgoing call too (docs/how-it-decides.md, "Inbound vs outgoing").
        let (_, unfiltered, unfilteredExposition) = try Self.replay(fixture, inbound: Self.backendPort)
        // (Caddy's answer cut by wrk's RST is no call: the caller's raised.)
        let frontCalls = unfiltered.filter { $0.server.port == fixture.port && $0.request != nil && $0.completeness == .complete }
        #expect(Self.sum(unfilteredExposition, "external_calls_total{") == Double(frontCalls.count))
    }

    /// Connection reuse: Apache's pooled and HAProxy's `http-reuse always` backend connections carry
    /// two clients' calls (the two `requests` Sessions taking turns: `alt=a…`, `alt=b…`); with
    /// `option http-server-close` each backend connection carries one. Apache closes a connection
    /// after its sixth answer (MaxKeepAliveRequests 5: five after the first; `requests`' Session
    /// after its 500) and after a 500 (`Connection: close`); each call before is paired.
    @Test func backendConnectionsAreSharedAcrossClients() throws {
        for fixture in Self.fixtures where fixture.name != "jetty" {
            let (_, exchanges, _) = try Self.replay(fixture, inbound: fixture.port)
            let back = Dictionary(grouping: exchanges.filter { $0.server.port == Self.backendPort }, by: \.connection.id)
            let shared = back.values.contains { calls in
                let targets = calls.compactMap { $0.request?.target }
                return targets.contains { $0.contains("alt=a") } && targets.contains { $0.contains("alt=b") }
            }
            #expect(shared == (fixture.name != "haproxy-close"), "\(fixture)")
            if fixture.name == "haproxy-close" { #expect(back.values.allSatisfy { $0.count == 1 }) }
            if fixture.name == "apache" {
                let front = exchanges.filter { $0.server.port == fixture.port && $0.request != nil }
                let byConnection = Dictionary(grouping: front, by: \.connection.id)
                let six = ["/api/big", "/api/echo?n=2", "/api/order?n=3", "/api/slow?ms=100", "/api/missing", "/api/order?n=4"]
                #expect(byConnection.values.contains { $0.compactMap { $0.request?.target } == six })
                for fail in front where fail.response?.status == 500 {
                    #expect(byConnection[fail.connection.id]?.last?.request?.target == fail.request?.target)
                }
            }
        }
    }
}

private final class CollectedReverseProxyExchanges: HTTPExchangeSink {
    var exchanges: [HTTPExchange] = []
    func observe(_ exchange: HTTPExchange) { exchanges.append(exchange) }
}
