/// The metrics layer's part of the `channel_exporter_*` self-metrics.

extension ChannelMetrics {
    /// Writes the metrics layer's own counters: what each exchange and outcome became, and the
    /// families' series and refusals.
    public func writeSelfMetrics(to writer: inout ExpositionWriter) {
        let statistics = statistics()
        // Why a call is missing from the families: what each exchange and outcome became (every reason
        // shown, zeros too, so a dashboard's rate() has its series from the start).
        writer.counter(
            name: "channel_exporter_observations",
            help: "Exchanges and consumer outcomes recorded, by kind (inbound: the inner family; external, partner: outgoing calls; consumer)",
            samples: ChannelMetricsStatistics.Recorded.allCases.map { ([("kind", $0.rawValue)], Double(statistics.recorded[$0] ?? 0)) })
        writer.counter(
            name: "channel_exporter_observations_skipped",
            help: "Exchanges and consumer outcomes not recorded, by reason (as the reference skips them, or what they lacked)",
            samples: ChannelMetricsStatistics.Skipped.allCases.map { ([("reason", $0.rawValue)], Double(statistics.skipped[$0] ?? 0)) })
        writer.counter(
            name: "channel_exporter_body_codes",
            help: "How business codes were read from response bodies, by outcome",
            samples: BodyCodeOutcome.allCases.map { ([("outcome", $0.rawValue)], Double(statistics.bodyCodes[$0] ?? 0)) })
        writer.counter(
            name: "channel_exporter_negative_durations",
            help: "Durations below zero (capture time going backwards), recorded in the first bucket",
            samples: [([], Double(statistics.negativeDurations))])
        writer.counter(
            name: "channel_exporter_label_values_truncated",
            help: "Label values cut to the longest a label value may be (2,048 bytes by default)",
            samples: [([], Double(statistics.labelValuesTruncated))])
        writer.counter(
            name: "channel_exporter_series_refused",
            help: "Observations refused because their family reached its series cap or its label bytes cap",
            samples: statistics.seriesRefused.sorted { $0.key < $1.key }.map { ([("family", $0.key)], Double($0.value)) })
        writer.gauge(
            name: "channel_exporter_series", help: "Label sets per metric family",
            samples: statistics.series.sorted { $0.key < $1.key }.map { ([("family", $0.key)], Double($0.value)) })
    }
}
