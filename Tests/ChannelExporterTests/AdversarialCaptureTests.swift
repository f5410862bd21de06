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
    }

    /// Replays `name` with the kept-bytes bound `bound` (nil: the default) and reads the summary.
    static func replay(_ name: String, bound: Int?) async throws -> Kept {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var config = "syscode: A123010101\ninbound:\n  ports: [8080]\n"
        if let bound { config += "limits:\n  max_http_kept_bytes_total: \(bound)\n" }
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
            requestsWithoutResponse: try #require(http["requests_without_response"] as? Int))
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
}
