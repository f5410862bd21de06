import ChannelExporter
import ChannelMetrics
import Testing

/// Replays captures of a real Flask service instrumented with the real reference library
/// (channel-exporter 1.2.2; captures/parity/make-fixtures.sh) and compares our metrics with
/// the reference's own scrape: family by family, label set by label set, every bucket count.
@Suite struct ParityTests {
    /// `random-101-200`: a random campaign (captures/parity/random_campaign.py, seed 101, 200 requests).
    @Test(arguments: ["inbound", "outbound", "timing", "edges", "random-101-200"])
    func replayMatchesTheReferenceLibrary(scenario: String) throws {
        let config = try ConfigurationFile.load(path: Fixtures.path("parity/\(scenario).config.yaml"))
        let pipeline = try Pipeline(configuration: config)
        let result = try ReplayRunner.run(files: [Fixtures.path("parity/\(scenario).pcap")], pipeline: pipeline)
        #expect(result.truncatedFiles.isEmpty)
        let ours = ExpositionSamples(pipeline.metrics.render(.prometheusText))
        let expected = ExpositionSamples(try ConfigurationFile.readText(path: Fixtures.path("parity/\(scenario).expected.prom"), what: "expected"))
        #expect(!expected.series.isEmpty)
        let differences = ours.differences(from: expected)
        #expect(differences.isEmpty, "\(differences.count) of \(expected.series.count) series differ:\n\(differences.joined(separator: "\n"))")
    }

    /// The cases where the wire cannot show what the reference reads (captures/parity/README.md,
    /// "Known differences"): each gives what the contract says we give.
    @Test func documentedDifferencesGiveTheWireAnswer() throws {
        let config = try ConfigurationFile.load(path: Fixtures.path("parity/differences.config.yaml"))
        let pipeline = try Pipeline(configuration: config)
        _ = try ReplayRunner.run(files: [Fixtures.path("parity/differences.pcap")], pipeline: pipeline)
        let text = pipeline.metrics.render(.prometheusText)
        // A HEAD response has no body on the wire.
        #expect(text.contains("code=\"-1\",f_code=\"parity-driver/1.0\",http_status=\"200\",method_code=\"\",path=\"/api/head\""))
        // A redirect is recorded per hop: the 302 and the 200.
        #expect(text.contains("partner_http_metrics") || text.contains("external_calls_total"))
    }
}
