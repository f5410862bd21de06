// The randomized live campaign (captures/scripts/http_campaign.py), bounded: a few seeds of legal
// HTTP/1.1 conversations on lo, captured by tcpdump, replayed and compared exchange by exchange
// with the plan both ends followed; and the fixtures it found faults with.
@testable import ChannelExporter
import Foundation
import HTTP1Observer
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Skipped without root (tcpdump on `lo`), tcpdump or python3.
let campaignToolsMissing: String? = {
    if geteuid() != 0 { return "not root" }
    for tool in ["tcpdump", "python3"] where BuiltExecutable.tool(tool) == nil { return "no \(tool)" }
    return nil
}()

@Suite(.serialized, .enabled(if: campaignToolsMissing == nil, "needs root, tcpdump and python3"))
struct HTTPCampaignTests {
    /// Seeds run by default (2 to 5 s each with the debug build, 25 connections, about 110 exchanges);
    /// `CHANNEL_EXPORTER_CAMPAIGN_SEEDS` (`1-50`, `3,7`) replaces them.
    static let seeds = ProcessInfo.processInfo.environment["CHANNEL_EXPORTER_CAMPAIGN_SEEDS"] ?? "1,2,3,4"

    /// Every exchange the plan made is in the three replays (with `--inbound-port`, without, and
    /// sharded with `--threads 2`) with its method, target, path, host, status and body sizes,
    /// complete and without a gap, and nothing else is: the script exits 1 and prints each mismatch
    /// with its seed otherwise.
    @Test func everyPlannedExchangeIsReplayedExactly() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let python = try BuiltExecutable.requiredTool("python3", package: "python3")
        let script = BuiltExecutable.repositoryRoot + "/captures/scripts/http_campaign.py"
        let result = try await runCommand(
            python,
            [
                script, "--binary", try BuiltExecutable.path(), "--seeds", Self.seeds, "--connections", "25",
                "--no-tshark", "--json", "--work", directory.file("work"),
            ], timeout: .seconds(300))
        let report = "status \(result.status); stdout:\n\(result.standardOutput)\nstderr:\n\(result.standardError)"
        #expect(result.status == 0, "\(report)")
        let last = result.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
        let summary = try #require(
            (try? JSONSerialization.jsonObject(with: Data(last.utf8))) as? [String: Any], "no summary line; \(report)")
        // Not vacuous: every seed ran, the plan had exchanges, and each one was compared (in each replay).
        let seeds = summary["seeds"] as? [Int] ?? []
        let truth = summary["truth_exchanges"] as? Int ?? 0
        #expect(!seeds.isEmpty, "\(report)")
        #expect(truth > 0, "\(report)")
        #expect(summary["compared"] as? Int == truth, "\(report)")
        #expect(summary["mismatches"] as? Int == 0, "\(report)")
    }
}

/// Fixtures the campaign found a fault with (`--fixture`): replayed, every exchange is the one both
/// ends of the conversation sent and checked (`.truth.json`), in order.
@Suite struct HTTPCampaignFixtureTests {
    struct Truth: Decodable {
        struct Exchange: Decodable {
            var client: String
            var method: String
            var target: String
            var path: String
            var host: String
            var status: Int
            var request_body_bytes: Int
            var response_body_bytes: Int
        }
        var exchanges: [Exchange]
    }

    /// A PUT with `Upgrade: h2c` and a GET pipelined behind it, refused with a 204: the GET was lost
    /// (dropped while the upgrade awaited its answer) and its 204 had no request.
    @Test(arguments: ["http/upgrade-refused-pipelined"])
    func replayedExchangesAreTheTruth(_ fixture: String) throws {
        let truth = try JSONDecoder().decode(
            Truth.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path(fixture + ".truth.json"))))
        let collected = TsharkCrossCheckTests.ExchangeCollector()
        let pipeline = try Pipeline(configuration: ExporterConfiguration(syscode: "A123010101"), exchangeLog: collected)
        let result = try ReplayRunner.run(files: [Fixtures.path(fixture + ".pcap")], pipeline: pipeline)
        func line(_ client: String, _ method: String?, _ target: String?, _ path: String?, _ host: String?, _ status: Int?,
                  _ requestBody: Int?, _ responseBody: Int?) -> String {
            "\(client) \(method ?? "-") \(target ?? "-") \(path ?? "-") \(host ?? "-") \(status.map(String.init) ?? "-") "
                + "\(requestBody.map(String.init) ?? "-") \(responseBody.map(String.init) ?? "-")"
        }
        let expected = truth.exchanges.map {
            line($0.client, $0.method, $0.target, $0.path, $0.host, $0.status, $0.request_body_bytes, $0.response_body_bytes)
        }
        let ours = collected.exchanges.map {
            line("\($0.client)", $0.request?.method, $0.request?.target, $0.request?.path, $0.request?.host,
                 $0.response?.status, $0.request?.bodyLength, $0.response?.bodyLength)
        }
        #expect(!expected.isEmpty)
        #expect(ours == expected, "\nours:\n\(ours.joined(separator: "\n"))\ntruth:\n\(expected.joined(separator: "\n"))")
        #expect(collected.exchanges.allSatisfy { $0.completeness == .complete && !$0.sawGap })
        #expect(result.statistics.http.anomalies.isEmpty, "\(result.statistics.http.anomalies)")
    }
}
