import ChannelExporter
import Foundation
import HTTP1Observer
import Testing

/// HTTP/1.1 as other servers and clients speak it (captures/http/stacks/, made by
/// captures/scripts/make-stack-fixtures.sh: gunicorn sync and gthread, uvicorn, Node, Go,
/// aiohttp, waitress; requests, httpx, aiohttp, Node http and fetch, Go, curl, raw sockets; with
/// `--debian`: Apache httpd, lighttpd, HAProxy in front of Apache, WEBrick, php -S; Java's
/// HttpClient, ab).
/// TsharkCrossCheckTests compares them with tshark through the manifest where tshark is right;
/// here the clients' own log is the witness for all of them, `pipelined`, `pipelined-debian`,
/// `expect-early` and `webrick` included (tshark 4.0 is wrong there), and the inner metrics and
/// outgoing calls are checked against it.
@Suite struct StackCaptureTests {
    /// The servers' fixtures; the clients' (`client-*`, outgoing calls) are ClientStackCaptureTests'.
    static let fixtures: [String] = TsharkCrossCheckTests.manifest.map(\.fixture)
        .filter { $0.hasPrefix("http/stacks/") && !$0.hasPrefix("http/stacks/client-") }
    /// The servers' ports; not 18110, HAProxy's backend: HAProxy's calls to it are outgoing.
    static let inboundPorts: [UInt16] = Array(18090...18102)

    /// Anomalies the wire really holds. waitress 3.0 writes the last-chunk `0\r\n\r\n` after the
    /// head of a HEAD response it framed as chunked (task.py `finish`), then closes: five bytes where
    /// the next status line should be. PHP's built-in server does the like: the body a script flushed (`/api/stream`) follows its HEAD
    /// response, then it closes. WEBrick never sends 100 Continue: Java's client, which waits for it
    /// (expectContinue), gives up after 3 s and closes without the announced body, a truncated request
    /// (and WEBrick's 400 to it is cut short, below).
    /// Apache, lighttpd and HAProxy get a request head that never ends (`partial`): truncated too.
    /// Apache, lighttpd and HAProxy (and behind it Apache again) carry an 80 KB download and two
    /// 80 KB uploads, longer than the body prefix kept (64 KiB), as `large-body` does. Everywhere
    /// else the traffic is clean.
    static let expectedAnomalies: [String: [HTTPParseAnomaly: Int]] = [
        "http/stacks/waitress.pcap": [.badStatusLine: 1, .resync: 1],
        "http/stacks/php.pcap": [.badStatusLine: 1, .resync: 1],
        "http/stacks/webrick.pcap": [.truncatedMessage: 2],
        "http/stacks/apache.pcap": [.bodyPrefixTruncated: 3, .truncatedMessage: 1],
        "http/stacks/lighttpd.pcap": [.bodyPrefixTruncated: 3, .truncatedMessage: 1],
        "http/stacks/haproxy.pcap": [.bodyPrefixTruncated: 6, .truncatedMessage: 1],
    ]

    /// Exchanges on the wire beyond the clients' log, with their completeness. WEBrick answers that
    /// truncated request with a 400 (`invalid body size`) after the client's FIN, in two writes: the
    /// head, which the client's RST answers, then the body, which the RST cut off (in this recording;
    /// when the second write comes first the pair is complete). Apache and HAProxy answer a request
    /// head that never ends with a 408 after their 5 s read timeout: there is no request to pair it
    /// with (the head is `truncated_message`), and the client did not log a request it never finished.
    static let exchangesBeyondTheClients: [String: [String]] = [
        "http/stacks/webrick.pcap": ["POST /api/echo?java=expect -> 400 [response_incomplete]"],
        "http/stacks/apache.pcap": ["- - -> 408 [response_without_request]"],
        "http/stacks/haproxy.pcap": ["- - -> 408 [response_without_request]"],
    ]

    /// Clients that went on in HTTP/2 after an h2c upgrade (lighttpd accepts Java's): their log holds
    /// exchanges an HTTP/1.1 observer cannot see. What it sees there: the first request, then 101
    /// Switching Protocols, which is not its answer (that comes on HTTP/2 stream 1): the request is
    /// unanswered, and nothing is counted in the inner metrics (it was counted as a 101 before).
    static let upgradedToHTTP2: Set<String> = ["http/stacks/h2c-lighttpd.pcap"]

    @Test func theStacksAreInTheManifest() {
        #expect(Self.fixtures.count >= 9, "captures/manifest.tsv lists \(Self.fixtures.count) stacks/ fixtures")
    }

    struct ClientEntry: Decodable { var method: String; var url: String; var status: Int }

    static func clientLog(_ fixture: String) throws -> [(method: String, target: String, path: String, status: Int)] {
        let text = try String(contentsOfFile: TsharkCrossCheckTests.expectedFile(fixture, ".client.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map {
            let e = try JSONDecoder().decode(ClientEntry.self, from: Data($0.utf8))
            let afterHost = e.url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
            let target = "/" + (afterHost.count > 3 ? afterHost[3] : "")
            return (e.method, target, String(target.split(separator: "?", maxSplits: 1)[0]), e.status)
        }
    }

    @Test(arguments: fixtures)
    func everyClientExchangeIsPairedAndCountedWithItsLabels(_ fixture: String) throws {
        let sink = TsharkCrossCheckTests.ExchangeCollector()
        var configuration = ExporterConfiguration(syscode: "A123010101")
        configuration.inbound.ports = Self.inboundPorts
        let pipeline = try Pipeline(configuration: configuration, exchangeLog: sink)
        let result = try ReplayRunner.run(files: [Fixtures.path(fixture)], pipeline: pipeline)
        let log = try Self.clientLog(fixture)
        #expect(!log.isEmpty)

        // Outgoing calls (HAProxy's to its backend) are not the clients': checked below.
        let inbound = sink.exchanges.filter { Self.inboundPorts.contains($0.server.port) }
        let outgoing = sink.exchanges.filter { !Self.inboundPorts.contains($0.server.port) }
        func pairs(_ exchanges: [HTTPExchange]) -> [String] {
            exchanges.filter { $0.completeness == .complete }
                .map { "\($0.request!.method) \($0.request!.target) -> \($0.response!.status)" }
        }
        // Pairs: exactly what the clients completed (method, target, status); the rest of our
        // exchanges are requests a server never answered (gunicorn's sync worker closes after one
        // of a pipelined batch) and those named in `exchangesBeyondTheClients`.
        var ours = pairs(inbound)
        if Self.upgradedToHTTP2.contains(fixture) {
            #expect(ours.isEmpty)
            #expect(inbound.map { "\($0.request?.method ?? "-") \($0.request?.target ?? "-") \($0.completeness)" }
                    == ["\(log[0].method) \(log[0].target) requestWithoutResponse"])
            #expect(result.statistics.http.upgrades == 1)
            #expect(result.statistics.http.http2Connections == 1)
            #expect(!pipeline.metrics.render(.prometheusText).contains("A123010101_inner_metrics_count{"))
            return
        }
        for entry in log {
            let key = "\(entry.method) \(entry.target) -> \(entry.status)"
            if let i = ours.firstIndex(of: key) { ours.remove(at: i) } else { Issue.record("client's \(key) not paired") }
        }
        let beyond = ours.map { "\($0) [complete]" } + inbound.filter { $0.completeness != .complete && $0.completeness != .requestWithoutResponse }
            .map { "\($0.request?.method ?? "-") \($0.request?.target ?? "-") -> \($0.response?.status ?? 0) [\($0.completeness.rawValue)]" }
        #expect(beyond.sorted() == (Self.exchangesBeyondTheClients[fixture] ?? []).sorted(), "not in the clients' log")
        let s = result.statistics
        #expect(s.reassembly.gaps == 0)
        #expect(s.http.anomalies.filter { $0.value > 0 } == Self.expectedAnomalies[fixture] ?? [:])

        // Inner metrics: one observation per answered request but 404s, by path and status; the
        // JSON `code` of the routes that return one (HEAD: no body on the wire, so -1).
        let samples = ExpositionSamples(pipeline.metrics.render(.prometheusText)).series
            .filter { $0.key.hasPrefix("A123010101_inner_metrics{") }
        func label(_ key: String, _ name: String) -> String? {
            guard let r = key.range(of: "\(name)=\"") else { return nil }
            return String(key[r.upperBound...].prefix { $0 != "\"" })
        }
        var counted: [String: Int] = [:], codes: [String: Int] = [:]
        for (key, values) in samples {
            let n = Int(values["count"] ?? 0)
            counted["\(label(key, "path") ?? "?") \(label(key, "http_status") ?? "?")", default: 0] += n
            codes["\(label(key, "path") ?? "?") \(label(key, "http_status") ?? "?") \(label(key, "code") ?? "?")", default: 0] += n
        }
        var expected: [String: Int] = [:], expectedCodes: [String: Int] = [:]
        // (A response cut short is counted inbound: the reference's hook ran when the handler returned.)
        for pair in Self.exchangesBeyondTheClients[fixture] ?? [] where !pair.hasPrefix("- ") {
            let words = pair.split(separator: " ")
            expected["\(words[1].split(separator: "?")[0]) \(words[3])", default: 0] += 1
        }
        for entry in log where entry.status != 404 {
            expected["\(entry.path) \(entry.status)", default: 0] += 1
            let code: String? = switch (entry.method, entry.path, entry.status) {
            case ("HEAD", _, _), (_, _, 204), (_, _, 304), (_, "/api/stream", _), (_, "/api/large", _), (_, "/api/gzip", _),
                 (_, "/static/large.txt", _): "-1"
            case (_, "/api/order", 200), (_, "/api/hints", 200), (_, "/api/trailer", 200), (_, "/api/upload", 200),
                 (_, "/api/local", 200): "0000"
            case (_, "/api/fail", 500): "E5001"
            default: nil
            }
            if let code { expectedCodes["\(entry.path) \(entry.status) \(code)", default: 0] += 1 }
        }
        #expect(counted == expected)
        for (key, n) in expectedCodes { #expect(codes[key] == n, "inner metrics \(key)") }

        // HAProxy: every call it passed on is an outgoing call to the backend with the client's
        // method, target and status (none of them in the inner metrics, all in external_calls);
        // what it answered itself (`/api/local`) has none. No other fixture has an outgoing call.
        var passedOn = log.filter { $0.path != "/api/local" }.map { "\($0.method) \($0.target) -> \($0.status)" }
        if !fixture.hasSuffix("/haproxy.pcap") { passedOn = [] }
        #expect(pairs(outgoing).sorted() == passedOn.sorted())
        #expect(outgoing.count == passedOn.count)
        let externalCalls = ExpositionSamples(pipeline.metrics.render(.prometheusText)).series
            .filter { $0.key.hasPrefix("external_calls{") }.values.reduce(0) { $0 + ($1["total"] ?? 0) }
        #expect(Int(externalCalls) == passedOn.count)
    }
}
