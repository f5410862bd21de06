// Counters about what ChannelMetrics recorded, skipped or refused (for the channel_exporter_* self-metrics).

/// What became of exchanges and outcomes handed to `ChannelMetrics`.
public struct ChannelMetricsStatistics: Sendable, Hashable {
    /// Where an observation went.
    public enum Recorded: String, Sendable, Hashable, CaseIterable {
        case inbound, external, partner, consumer
    }

    /// Why an exchange or outcome was not recorded.
    public enum Skipped: String, Sendable, Hashable, CaseIterable {
        /// A response seen without its request.
        case noRequest = "no_request"
        /// A request whose response never came (the reference records nothing for a failed call).
        case noResponse = "no_response"
        /// Inbound path in `skipPaths` (`/healthcheck`, `/metrics`).
        case skippedPath = "skipped_path"
        /// Inbound status in `skipStatuses` (404).
        case skippedStatus = "skipped_status"
        /// A consumer outcome whose queue is unknown.
        case consumerWithoutQueue = "consumer_without_queue"
        /// A timestamp needed for the duration was missing.
        case noTimestamps = "no_timestamps"
        /// An outgoing call whose response the connection's end cut short: the caller's
        /// `requests` call raised, so the reference records nothing.
        case responseIncomplete = "response_incomplete"
        /// A CONNECT and the proxy's answer (2xx opening a tunnel, or a refusal such as 407): the
        /// HTTP client's way to its proxy, not a call of the service's code. The calls made through
        /// the tunnel (TLS) are not seen; the reference records them under their `https://` URLs,
        /// and records nothing when the CONNECT is refused (its call raised).
        case tunnel
        /// An inbound request whose data the reference's before-request hook failed to read, so that
        /// its after-request hook raised: no query argument, no `Method-Code` header, and a multipart
        /// body of more than `LabelRules.maxFormParts` parts or with a nameless field first.
        case requestDataFailed = "request_data_failed"
    }

    public var recorded: [Recorded: UInt64] = [:]
    public var skipped: [Skipped: UInt64] = [:]
    /// How business codes were read from response bodies (inner and outgoing).
    public var bodyCodes: [BodyCodeOutcome: UInt64] = [:]
    /// Observations refused by the series cap, by family name.
    public var seriesRefused: [String: UInt64] = [:]
    /// Current number of series, by family name.
    public var series: [String: Int] = [:]
    /// Durations below zero (clock or capture order oddities); still recorded, in the first bucket.
    public var negativeDurations: UInt64 = 0
    /// Label values cut to `maxLabelValueBytes`.
    public var labelValuesTruncated: UInt64 = 0

    public init() {}

    /// Adds the counters of `other` (metrics a reload replaced), not its series (a gauge of those).
    mutating func addCounters(_ other: ChannelMetricsStatistics) {
        recorded.merge(other.recorded, uniquingKeysWith: +)
        skipped.merge(other.skipped, uniquingKeysWith: +)
        bodyCodes.merge(other.bodyCodes, uniquingKeysWith: +)
        seriesRefused.merge(other.seriesRefused, uniquingKeysWith: +)
        negativeDurations += other.negativeDurations
        labelValuesTruncated += other.labelValuesTruncated
    }
}
