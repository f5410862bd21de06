// AMQPObserverConfiguration.swift — limits and the consumer model of the AMQP observer.

/// How the observer models consumers and bounds its memory.
///
/// Every bound is a value here; each time one is hit the observer counts it
/// (``AMQPStatistics/limitHits``) and keeps going.
public struct AMQPObserverConfiguration: Sendable, Hashable {
    /// Largest frame accepted before the client's `connection.tune-ok` is seen (the whole
    /// frame: 7-byte header, payload, frame-end), RabbitMQ's default `frame_max`.
    public static let defaultMaxFrameSize = 131_072
    /// No negotiated `frame_max` raises the bound above this (`frame_max = 0` means "no limit"
    /// in connection.tune-ok, AMQP 0-9-1 §1.4.2.6; we never buffer more than this for one method frame).
    public static let frameSizeHardCap = 1 << 20
    /// The AMQP 0-9-1 constant `frame-min-size` (amqp0-9-1.xml): no peer may negotiate below this.
    public static let frameSizeFloor = 4096

    /// The number of workers a consumer runs per channel (`amqp.consumer_concurrency`).
    /// A delivery's service starts when one of them is free (see ``AMQPChannelState``).
    public var consumerConcurrency: Int
    /// Frame size bound until `connection.tune-ok` says otherwise; clamped to
    /// `frameSizeFloor...frameSizeHardCap`.
    public var maxFrameSize: Int
    /// Unanswered deliveries kept per channel; beyond it the oldest is dropped (counted).
    public var maxOutstandingPerChannel: Int
    /// Bytes of method frames split over segments that all connections may buffer together (each
    /// direction buffers at most one frame, up to `frameSizeHardCap`): past it a direction that
    /// needs more is given up (`buffer_limit`).
    public var maxBufferedMethodBytesTotal: Int
    /// Unanswered deliveries kept by all connections together (the per-channel bound times 2,048
    /// channels times the connections is no bound in practice): beyond it a channel's oldest is
    /// dropped for its new one, or the new one is not kept when the channel has none (counted).
    public var maxOutstandingTotal: Int
    /// Bytes all connections keep together in their channels: the channels themselves, consumers,
    /// requests awaiting replies and unanswered deliveries (each with its strings; see
    /// `AMQPChannelState.channelCost`). The per-channel and per-connection bounds times the
    /// connections are no bound in practice (2,048 channels × 1,024 consumers with 255-byte tags is
    /// 2 GB on one connection). Past it a new channel, consumer or request is not kept, and a
    /// delivery makes room as past `maxOutstandingTotal` (all counted as `kept_bytes`).
    public var maxKeptBytesTotal: Int
    /// Channels tracked per connection; methods on further channels are ignored (counted).
    public var maxChannelsPerConnection: Int
    /// Consumer tags remembered per channel.
    public var maxConsumersPerChannel: Int
    /// `basic.consume` / `basic.get` awaiting their reply, per channel.
    public var maxPendingRequestsPerChannel: Int
    /// A direction that starts mid-stream (no handshake seen), or lost its place in a gap,
    /// looks for a frame at the start of this many segments before the connection is given
    /// up. Generous: after a gap inside a large body, every segment until the body ends
    /// begins mid-frame.
    public var synchronizationAttempts: Int

    public init(
        consumerConcurrency: Int = 1,
        maxFrameSize: Int = AMQPObserverConfiguration.defaultMaxFrameSize,
        maxOutstandingPerChannel: Int = 65_536,
        maxOutstandingTotal: Int = 1 << 20,
        maxBufferedMethodBytesTotal: Int = 64 << 20,
        maxKeptBytesTotal: Int = 128 << 20,
        maxChannelsPerConnection: Int = 2048,
        maxConsumersPerChannel: Int = 1024,
        maxPendingRequestsPerChannel: Int = 1024,
        synchronizationAttempts: Int = 1024
    ) {
        self.consumerConcurrency = max(1, consumerConcurrency)
        self.maxFrameSize = min(max(maxFrameSize, Self.frameSizeFloor), Self.frameSizeHardCap)
        self.maxOutstandingPerChannel = max(1, maxOutstandingPerChannel)
        self.maxOutstandingTotal = max(1, maxOutstandingTotal)
        self.maxBufferedMethodBytesTotal = max(0, maxBufferedMethodBytesTotal)
        self.maxKeptBytesTotal = max(0, maxKeptBytesTotal)
        self.maxChannelsPerConnection = max(1, maxChannelsPerConnection)
        self.maxConsumersPerChannel = max(1, maxConsumersPerChannel)
        self.maxPendingRequestsPerChannel = max(1, maxPendingRequestsPerChannel)
        self.synchronizationAttempts = max(1, synchronizationAttempts)
    }

    /// The frame bound after the client's `connection.tune-ok` announced `frameMax`.
    func negotiatedFrameSize(_ frameMax: UInt32) -> Int {
        if frameMax == 0 { return Self.frameSizeHardCap }
        return min(max(Int(frameMax), Self.frameSizeFloor), Self.frameSizeHardCap)
    }
}
