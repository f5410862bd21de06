@testable import ChannelExporter
import Foundation
import Testing

/// What each exchange became is served on `/metrics`: recorded by family, skipped by reason, and how
/// business codes were read (a user asking why a call is missing from the families looks there).
@Suite struct ObservationSelfMetricsTests {
    @Test func recordedAndSkippedExchangesAreServed() throws {
        let (_, pipeline) = try ProxyProtocolCaptureTests.replay()
        let statistics = pipeline.metrics.statistics()
        let exposition = SelfMetrics.render(SelfMetricsInput(), metrics: pipeline.metrics, format: .prometheusText)
        // The 6 calls to nginx are inbound, the 6 to HAProxy outgoing; nothing skipped.
        #expect(statistics.recorded[.inbound] == 6 && statistics.recorded[.external] == 6)
        #expect(exposition.contains("\nchannel_exporter_observations_total{kind=\"inbound\"} 6.0\n"), "\(exposition)")
        #expect(exposition.contains("\nchannel_exporter_observations_total{kind=\"external\"} 6.0\n"))
        #expect(exposition.contains("\nchannel_exporter_observations_skipped_total{reason=\"skipped_status\"} 0.0\n"))
        let codes = statistics.bodyCodes.values.reduce(0, +)
        #expect(codes > 0 && exposition.contains("channel_exporter_body_codes_total{outcome=\"found\"}"))
        #expect(exposition.contains("\nchannel_exporter_negative_durations_total 0.0\n"))
    }
}

/// The reassembly limits' label values are snake_case, as every other label value and the settings.
@Suite struct ReassemblyLimitLabelTests {
    @Test func limitsAreNamedInSnakeCase() throws {
        let (_, pipeline) = try ProxyProtocolCaptureTests.replay()
        var statistics = pipeline.statistics
        statistics.reassembly.limitHits[.bufferedBytesTotal] = 3
        let exposition = SelfMetrics.render(SelfMetricsInput(pipeline: statistics), metrics: nil, format: .prometheusText)
        #expect(exposition.contains("\nchannel_exporter_tcp_limit_hits_total{limit=\"buffered_bytes_total\"} 3.0\n"), "\(exposition)")
        #expect(exposition.contains("{limit=\"buffered_bytes_per_connection\"} 0.0\n"))
        #expect(!exposition.contains("bufferedBytes"))
    }
}
