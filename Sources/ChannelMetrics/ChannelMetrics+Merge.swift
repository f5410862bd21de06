// The metrics of pipelines that each read some of a replay's connections, merged into one
// pipeline's.

extension ChannelMetrics {
    /// What one pipeline reading every connection would have recorded, from `parts`: the metrics of
    /// pipelines that each read some of them, each with an `order` (so that their series carry the
    /// key where they were first seen). Each family's series come in the order of those keys over
    /// all parts (one pipeline's first-observed order), their counts and sums added (sums are whole
    /// nanoseconds: exact in any order); the counters of what observations became are added.
    ///
    /// `configuration` is the whole's (the parts' may have shares of its caps). The result is
    /// exactly one pipeline's when no part refused a series: a caller that gives each of n parts at
    /// most 1/n of each cap knows then that the parts' series together stayed within the caps, so
    /// one pipeline refused none either. When a part did refuse some, the merge still counts
    /// refusals at the whole's caps, but one pipeline would have refused others: read it again.
    public static func merged(_ parts: [ChannelMetrics], configuration: MetricsConfiguration) -> ChannelMetrics {
        let result = ChannelMetrics(configuration: configuration)
        let states = parts.map { $0.familiesCopy() }
        result.state.withLock { whole in
            whole.inner.absorb(states.map(\.inner))
            whole.partner.absorb(states.map(\.partner))
            whole.externalCalls.absorb(states.map(\.externalCalls))
            whole.externalDuration.absorb(states.map(\.externalDuration))
            whole.consumer.absorb(states.map(\.consumer))
            for part in states {
                whole.recorded.add(part.recorded)
                whole.skipped.add(part.skipped)
                whole.bodyCodes.add(part.bodyCodes)
                whole.statistics.negativeDurations += part.statistics.negativeDurations
                whole.statistics.labelValuesTruncated += part.statistics.labelValuesTruncated
            }
        }
        return result
    }
}
