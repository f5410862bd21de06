import ChannelExporter
import Foundation
import HTTP1Observer
import Testing

/// HTTP/1.1 as other servers and clients speak it (captures/http/stacks/, made by
/// captures/scripts/make-stack-fixtures.sh: gunicorn sync and gthread, uvicorn, Node, Go,
/// aiohttp, waitress; requests, httpx, aiohttp, Node http and fetch, Go, curl, raw sockets).
/// TsharkCrossCheckTests compares them with tshark through the manifest where tshark is right;
/// here the clients' own log is the witness for all of them, `pipelined` and `expect-early`
/// included (tshark 4.0 is wrong there), and the inner metrics are checked against it.
@Suite struct StackCaptureTests {
    static let fixtures: [String] = TsharkCrossCheckTests.manifest.map(\.fixture).filter { $0.hasPrefix("http/stacks/") }
    static let inboundPorts: [UInt16] = Array(18090...18096)

    /// Anomalies the wire really holds. waitress 3.0 writes the last-chunk `0\r\n\r\n` after the
    /// head of a HEAD response it framed as chunked (task.py `finish`), then closes: five bytes where
    /// the next status line should be. Everywhere else the traffic is clean.
    static let expectedAnomalies: [String: [HTTPParseAnomaly: Int]] = [
        "http/stacks/waitress.pcap": [.badStatusLine: 1, .resync: 1]
    ]

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

        // Pairs: exactly what the clients completed (method, target, status); the rest of our
        // exchanges are requests a server never answered (gunicorn's sync worker closes after one
        // of a pipelined batch).
        var ours = sink.exchanges.filter { $0.completeness == .complete }
            .map { "\($0.request!.method) \($0.request!.target) -> \($0.response!.status)" }
        for entry in log {
            let key = "\(entry.method) \(entry.target) -> \(entry.status)"
            if let i = ours.firstIndex(of: key) { ours.remove(at: i) } else { Issue.record("client's \(key) not paired") }
        }
        #expect(ours.isEmpty, "paired but not in the clients' log: \(ours)")
        #expect(sink.exchanges.allSatisfy { $0.completeness == .complete || $0.completeness == .requestWithoutResponse })
        let s = result.statistics
        #expect(s.http.responsesWithoutRequest == 0)
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
        for entry in log where entry.status != 404 {
            expected["\(entry.path) \(entry.status)", default: 0] += 1
            let code: String? = switch (entry.method, entry.path, entry.status) {
            case ("HEAD", _, _), (_, _, 204), (_, _, 304), (_, "/api/stream", _), (_, "/api/large", _), (_, "/api/gzip", _): "-1"
            case (_, "/api/order", 200), (_, "/api/hints", 200), (_, "/api/trailer", 200): "0000"
            case (_, "/api/fail", 500): "E5001"
            default: nil
            }
            if let code { expectedCodes["\(entry.path) \(entry.status) \(code)", default: 0] += 1 }
        }
        #expect(counted == expected)
        for (key, n) in expectedCodes { #expect(codes[key] == n, "inner metrics \(key)") }
    }
}
