import ChannelExporter
import Foundation
import HTTP1Observer
import PacketDecoding
import Testing

/// HTTP clients of other languages as a service's outgoing calls (captures/http/stacks/client-*, made
/// by captures/scripts/make-client-fixtures.sh): Go's net/http, Node's fetch and http.Agent, Ruby's
/// net/http, PHP's stream wrapper, wget and Java's HttpClient, to Node (18111) and Go (18112) servers,
/// and Java to lighttpd (18113), which accepts its h2c upgrade. Replayed with no inbound port, as on
/// the host of a service that makes these calls: every exchange is an outgoing call. The clients' own
/// log is the witness (TsharkCrossCheckTests compares the pairs with tshark's).
@Suite struct ClientStackCaptureTests {
    static let fixtures: [String] = TsharkCrossCheckTests.manifest.map(\.fixture)
        .filter { $0.hasPrefix("http/stacks/client-") }

    /// The servers as one partner, each route its own action, so the partner family shows the code
    /// read from each route's answers.
    static let actions = [
        "/api/order": "901", "/api/gzip": "902", "/api/negotiate": "903", "/api/br": "904", "/api/trailer": "905",
        "/api/echo": "906", "/api/fail": "907", "/api/errorcode": "908", "/api/stream": "909", "/api/etag": "910",
        "/api/nocontent": "911",
    ]

    static func configuration(idleTimeoutSeconds: Double = 300) -> ExporterConfiguration {
        var configuration = ExporterConfiguration(syscode: "A123010101")
        configuration.partners = [
            .init(hosts: ["127.0.0.1:18111", "127.0.0.1:18112", "127.0.0.1:18113"], partner: "1",
                  actions: actions.sorted { $0.key < $1.key }.map { (path: $0.key, action: $0.value) })
        ]
        configuration.limits.idleTimeoutSeconds = idleTimeoutSeconds
        return configuration
    }

    /// The `code` the partner family gives each route's answer (§3: `code`, else `errorcode`, else
    /// `-1`): JSON with `code` "0000", inflated first when gzip or deflate (Go, Ruby and Java ask for
    /// gzip, fetch for gzip and deflate, wget for identity); a brotli body is not inflated; the echo
    /// (the request's JSON, no code), NDJSON, HEAD, 204 and 304 give -1; `errorCode: 0` gives 0.
    static func partnerCode(method: String, path: String, status: Int) -> String {
        switch (method, path, status) {
        case ("HEAD", _, _), (_, _, 204), (_, _, 304), (_, "/api/br", _), (_, "/api/echo", _), (_, "/api/stream", _): "-1"
        case (_, "/api/fail", 500): "E5001"
        case (_, "/api/errorcode", _): "0"
        default: "0000"
        }
    }

    @Test func theClientFixturesAreInTheManifest() {
        #expect(Self.fixtures.count >= 8, "captures/manifest.tsv lists \(Self.fixtures.count) client fixtures")
    }

    @Test(arguments: fixtures)
    func everyCallIsAnOutgoingCallWithItsLabels(_ fixture: String) throws {
        let sink = TsharkCrossCheckTests.ExchangeCollector()
        let pipeline = try Pipeline(configuration: Self.configuration(), exchangeLog: sink)
        let result = try ReplayRunner.run(files: [Fixtures.path(fixture)], pipeline: pipeline)
        let log = try StackCaptureTests.clientLog(fixture)
        let text = pipeline.metrics.render(.prometheusText)
        let series = ExpositionSamples(text).series
        let s = result.statistics
        #expect(s.reassembly.gaps == 0)
        #expect(s.http.anomalies.filter { $0.value > 0 } == [:])
        #expect(!text.contains("A123010101_inner_metrics_count{"))

        // Java at its default version to lighttpd: h2c accepted, so one HTTP/1.1 request whose answer
        // (on HTTP/2) an HTTP/1.1 observer cannot see, and no call counted.
        if fixture.hasSuffix("/client-java-h2c.pcap") {
            #expect(sink.exchanges.map { "\($0.request?.target ?? "-") \($0.completeness)" }
                    == ["\(log[0].target) requestWithoutResponse"])
            #expect(s.http.upgrades == 1 && s.http.http2Connections == 1)
            #expect(!series.keys.contains { $0.hasPrefix("external_calls{") })
            return
        }

        // Pairs: exactly what the clients completed; nothing else on the wire.
        let ours = sink.exchanges.map {
            "\($0.request?.method ?? "-") \($0.request?.target ?? "-") -> \($0.response?.status ?? 0) \($0.completeness)"
        }
        #expect(ours.sorted() == log.map { "\($0.method) \($0.target) -> \($0.status) complete" }.sorted())

        // Every call counted once, with the partner's action, its status and the code of its answer.
        var expected: [String: Int] = [:], success = 0
        for entry in log {
            let code = Self.partnerCode(method: entry.method, path: entry.path, status: entry.status)
            expected["\(Self.actions[entry.path] ?? "?") \(entry.status) \(code)", default: 0] += 1
            if entry.status < 400 && code == "0" { success += 1 }
        }
        var partner: [String: Int] = [:], calls: [String: Int] = [:]
        func label(_ key: String, _ name: String) -> String {  // `code`, not the end of `action_code`
            guard let r = key.range(of: "{\(name)=\"") ?? key.range(of: ",\(name)=\"") else { return "?" }
            return String(key[r.upperBound...].prefix { $0 != "\"" })
        }
        for (key, values) in series {
            if key.hasPrefix("partner_http_metrics{") {
                partner["\(label(key, "action_code")) \(label(key, "http_status")) \(label(key, "code"))", default: 0]
                    += Int(values["count"] ?? 0)
            } else if key.hasPrefix("external_calls{") {
                #expect(label(key, "tcode") == "1")
                calls[label(key, "status"), default: 0] += Int(values["total"] ?? 0)
            }
        }
        #expect(partner == expected)
        #expect(calls == ["success": success, "error": log.count - success].filter { $0.value > 0 })
    }

    /// Go's Transport dials a connection for a call that finds none idle, but the call takes whichever
    /// is ready first; the connection it did not use is pooled and first used by a later burst, 250 ms
    /// or more after its handshake. Such a call did not open the connection: timed from its request,
    /// like every call of the recording it takes a few milliseconds (from the SYN, each took a round).
    @Test func aConnectionPooledAheadOfItsFirstCallIsNotTimedFromItsSyn() throws {
        let sink = TsharkCrossCheckTests.ExchangeCollector()
        let pipeline = try Pipeline(configuration: Self.configuration(), exchangeLog: sink)
        _ = try ReplayRunner.run(files: [Fixtures.path("http/stacks/client-go-pool.pcap")], pipeline: pipeline)
        let pooledAhead = sink.exchanges.filter {
            $0.isFirstOnConnection && $0.requestFirstByte! - $0.connection.synTime! > 250_000_000
        }
        let opened = sink.exchanges.filter {
            $0.isFirstOnConnection && $0.requestFirstByte! - $0.connection.synTime! < 100_000_000
        }
        #expect(!pooledAhead.isEmpty, "the recording shows no connection pooled ahead of its first call")
        #expect(!opened.isEmpty)
        #expect(pooledAhead.count + opened.count == sink.exchanges.filter(\.isFirstOnConnection).count)
        for exchange in pooledAhead { #expect(exchange.callStart == exchange.requestFirstByte) }
        for exchange in opened { #expect(exchange.callStart == exchange.connection.synTime) }
        let duration = ExpositionSamples(pipeline.metrics.render(.prometheusText)).series
            .filter { $0.key.hasPrefix("external_call_duration_seconds{") }.values
        let total = duration.reduce(0) { $0 + ($1["count"] ?? 0) }
        let under100ms = duration.reduce(0) { $0 + ($1["le=0.1"] ?? 0) }
        #expect(total == Double(sink.exchanges.count) && under100ms == total)
    }

    /// Go's pooled connection idles 6 s before its last call: with flows expiring after 5 s it is
    /// picked up again mid-stream (no SYN), and the calls count exactly as when it stays tracked.
    @Test func aPooledConnectionReusedAfterItExpiredCountsTheSame() throws {
        func render(idle: Double) throws -> (ExpositionSamples, Int) {
            let pipeline = try Pipeline(configuration: Self.configuration(idleTimeoutSeconds: idle))
            let result = try ReplayRunner.run(files: [Fixtures.path("http/stacks/client-go.pcap")], pipeline: pipeline)
            return (ExpositionSamples(pipeline.metrics.render(.prometheusText)), Int(result.statistics.reassembly.connectionsExpired))
        }
        let (kept, keptExpired) = try render(idle: 300)
        let (expired, expiredCount) = try render(idle: 5)
        #expect(keptExpired == 0 && expiredCount > 0)
        #expect(expired.differences(from: kept) == [])
    }
}
