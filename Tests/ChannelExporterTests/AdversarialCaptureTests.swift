// Traffic meant to make the observer keep memory (captures/http/adversarial, written by
// captures/scripts/make-adversarial-captures.py): what the HTTP connections keep together stays
// within `limits.max_http_kept_bytes_total`, and all of it is given back once they end.
import Foundation
import Testing

@Suite struct AdversarialCaptureTests {
    struct Kept {
        var peak: Int
        var atEnd: Int
        var limitHits: Int
        var requestsWithoutResponse: Int
        var exposition: String
    }

    /// Replays `name` with the kept-bytes bound `bound` and the label-bytes bound `labelBytes` (nil:
    /// the defaults) and reads the summary and the exposition.
    static func replay(_ name: String, bound: Int?, labelBytes: Int? = nil) async throws -> Kept {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var config = "syscode: A123010101\ninbound:\n  ports: [8080]\n"
        if bound != nil || labelBytes != nil { config += "limits:\n" }
        if let bound { config += "  max_http_kept_bytes_total: \(bound)\n" }
        if let labelBytes { config += "  max_label_bytes_per_family: \(labelBytes)\n" }
        let configPath = try directory.write("config.yaml", config)
        let result = try await runExporter([
            "replay", Fixtures.path("http/adversarial/\(name).pcap"), "--config.file", configPath, "--json", "--no-progress",
            "--output", directory.file("metrics.prom"),
        ])
        #expect(result.status == 0, "\(result.standardError)")
        // (With `--output`, the summary is alone on standard output.)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let http = try #require(summary["http"] as? [String: Any])
        let anomalies = try #require(summary["http_anomalies"] as? [String: Any])
        return Kept(
            peak: try #require(http["kept_bytes_peak"] as? Int), atEnd: try #require(http["kept_bytes_at_end"] as? Int),
            limitHits: anomalies["kept_bytes_limit"] as? Int ?? 0,
            requestsWithoutResponse: try #require(http["requests_without_response"] as? Int),
            exposition: try String(contentsOfFile: directory.file("metrics.prom"), encoding: .utf8))
    }

    /// 12 clients × 16 pipelined POSTs with 4 KiB JSON bodies, none answered yet.
    @Test func pipelinedBodiesStayWithinTheBound() async throws {
        // Under the default bound (256 MiB) every waiting body is kept: 192 × 4 KiB and their heads.
        let unbounded = try await Self.replay("pipelined-bodies", bound: nil)
        #expect(unbounded.peak >= 192 * 4096)
        #expect(unbounded.limitHits == 0)
        #expect(unbounded.atEnd == 0)
        #expect(unbounded.requestsWithoutResponse == 192)
        // Bounded at 64 KiB: never more than the bound and one segment's bytes, every request still
        // emitted once (without its response), nothing left charged.
        let bounded = try await Self.replay("pipelined-bodies", bound: 65_536)
        #expect(bounded.peak <= 65_536 + 1448 + 200)
        #expect(bounded.limitHits > 0)
        #expect(bounded.atEnd == 0)
        #expect(bounded.requestsWithoutResponse == 192)
    }

    /// 64 clients each send 12 KiB of a head in 1 KiB segments and never end it.
    @Test func unfinishedHeadsStayWithinTheBound() async throws {
        let unbounded = try await Self.replay("split-heads", bound: nil)
        #expect(unbounded.peak == 64 * 12 * 1024)
        #expect(unbounded.atEnd == 0)
        let bounded = try await Self.replay("split-heads", bound: 65_536)
        #expect(bounded.peak <= 65_536)
        #expect(bounded.limitHits > 0)
        #expect(bounded.atEnd == 0)
    }

    /// 100 requests, each with its own 2 KB path and 2 KB Method-Code: every series' labels are
    /// repeated on each of its lines, so a family's label bytes bound what a scrape renders.
    @Test func longLabelsStayWithinTheFamilysLabelBytes() async throws {
        func innerSeries(_ exposition: String) -> Int {
            exposition.split(separator: "\n").filter { $0.hasPrefix("A123010101_inner_metrics_count{") }.count
        }
        let unbounded = try await Self.replay("long-labels", bound: nil)
        #expect(innerSeries(unbounded.exposition) == 100)
        #expect(unbounded.exposition.utf8.count > 9_000_000)
        let bounded = try await Self.replay("long-labels", bound: nil, labelBytes: 65_536)
        // About 6.2 KB of rendered labels a series: 10 fit in 64 KiB; the rest are refused.
        #expect(innerSeries(bounded.exposition) == 10)
        #expect(bounded.exposition.utf8.count < 1_100_000)
    }
}
