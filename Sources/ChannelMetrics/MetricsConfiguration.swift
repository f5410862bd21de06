// What ChannelMetrics needs to know: syscode, ports, skips, buckets, partners, limits.

/// The settings of the metric families (built by the lead's configuration loader).
public struct MetricsConfiguration: Sendable, Hashable {
    /// Which instant starts a consumer observation.
    public enum ConsumerTiming: String, Sendable, Hashable {
        /// `answer − serviceStart`: the worker's own time (REFERENCE-BEHAVIOUR §5, the default).
        case serviceTime = "service_time"
        /// `answer − deliver`: includes the time in the client's prefetch buffer.
        case deliverToAnswer = "deliver_to_answer"
    }

    public var syscode: Syscode
    /// Server ports of the service's own API: exchanges to them are inbound.
    public var inboundPorts: Set<UInt16>
    /// Inbound request paths (percent-decoded) not recorded: a request path is skipped when it
    /// has the UTF-8 bytes of one of these (Python's `str` equality; see `InboundSkipRules`). A
    /// list, not a `Set<String>`: a set keeps only one of two canonically equivalent spellings.
    public var skipPaths: [String]
    /// Inbound response statuses not recorded.
    public var skipStatuses: Set<Int>
    public var innerBuckets: Buckets
    public var externalBuckets: Buckets
    public var consumerBuckets: Buckets
    public var partners: PartnerTable
    /// Most label sets per family; observations for further new label sets are refused and counted.
    public var maxSeriesPerFamily: Int
    public var consumerTiming: ConsumerTiming
    /// Deepest JSON nesting parsed; deeper documents are treated as not JSON and counted.
    public var maxJSONDepth: Int
    /// Longest label value kept, in UTF-8 bytes; longer values (a scan's long paths, huge
    /// codes) are cut at a character boundary and counted. With the series cap this bounds
    /// memory per family (about maxSeries × labels × this, a few copies each).
    public var maxLabelValueBytes: Int
    /// Most bytes of rendered labels per family, over all its series (see `SeriesTable`): with the
    /// series cap, this bounds what a scrape renders (about this times a histogram's lines).
    public var maxLabelBytesPerFamily: Int

    public init(
        syscode: Syscode,
        inboundPorts: Set<UInt16>,
        skipPaths: [String] = ["/healthcheck", "/metrics"],
        skipStatuses: Set<Int> = [404],
        innerBuckets: Buckets = .default,
        externalBuckets: Buckets = .default,
        consumerBuckets: Buckets = .default,
        partners: PartnerTable,
        maxSeriesPerFamily: Int = 10_000,
        consumerTiming: ConsumerTiming = .serviceTime,
        maxJSONDepth: Int = 512,
        maxLabelValueBytes: Int = 2048,
        maxLabelBytesPerFamily: Int = 4 << 20
    ) {
        self.syscode = syscode
        self.inboundPorts = inboundPorts
        self.skipPaths = skipPaths
        self.skipStatuses = skipStatuses
        self.innerBuckets = innerBuckets
        self.externalBuckets = externalBuckets
        self.consumerBuckets = consumerBuckets
        self.partners = partners
        self.maxSeriesPerFamily = maxSeriesPerFamily
        self.consumerTiming = consumerTiming
        self.maxJSONDepth = maxJSONDepth
        self.maxLabelValueBytes = maxLabelValueBytes
        self.maxLabelBytesPerFamily = maxLabelBytesPerFamily
    }
}
