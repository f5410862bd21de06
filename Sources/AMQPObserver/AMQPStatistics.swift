// AMQPStatistics.swift — what the AMQP observer counted: frames, methods, outcomes, drops, limits, anomalies.

/// Why a connection was given up. Labels are stable snake_case (self-metrics use them).
public enum AMQPAnomaly: String, Sendable, Hashable, CaseIterable {
    /// Starts with `AMQP` but not version 0-9-1 (nor 1.0).
    case badProtocolHeader = "bad_protocol_header"
    /// An AMQP 1.0 header (`AMQP` 0|2|3 1 0 0): plain, TLS or SASL.
    case amqp10 = "amqp_1_0"
    /// A TLS record (ClientHello, 0x16) where the AMQP header was expected.
    case tls
    /// Bytes that are neither a protocol header nor a frame where one must start.
    case garbage
    /// A frame type other than method (1), header (2), body (3), heartbeat (8).
    case badFrameType = "bad_frame_type"
    /// A frame larger than the frame bound (configured or negotiated `frame_max`).
    case frameTooLarge = "frame_too_large"
    /// The octet after the payload is not 0xCE (§4.2.3).
    case badFrameEnd = "bad_frame_end"
    /// A class/method id pair that AMQP 0-9-1 and RabbitMQ do not define.
    case unknownMethod = "unknown_method"
    /// A method frame shorter than the arguments of its method.
    case truncatedMethod = "truncated_method"
    /// Mid-stream start: no frame boundary found within the configured number of segments.
    case unsynchronized
    /// A method frame split over segments that `maxBufferedMethodBytesTotal` (all connections'
    /// partial method frames together) left no room for: the direction is given up.
    case bufferLimit = "buffer_limit"
}

/// Why unanswered deliveries were forgotten.
public enum AMQPDropReason: String, Sendable, Hashable, CaseIterable {
    case channelClose = "channel_close"
    case connectionClose = "connection_close"
    /// The client's direction ended (FIN, RST, expiry, capture end): no answer can follow.
    case streamEnd = "stream_end"
    /// Bytes were lost in the client's direction where a method may have been: any outstanding
    /// delivery may have been answered in them.
    case gap
    /// `basic.recover`: the broker redelivers them under new tags.
    case recover
    /// Given back by the client library when the application cancelled their consumer: a
    /// `basic.reject` with requeue for each delivery it had not handed to a worker (pika does so
    /// just before its `basic.cancel` and for every delivery that reaches it after). No worker ran.
    case cancelReturn = "cancel_return"
    /// A delivery tag not above the previous one on the channel (state out of step).
    case tagRegression = "tag_regression"
    /// The outstanding bound was reached: the oldest is forgotten.
    case outstandingLimit = "outstanding_limit"
    /// The connection was given up after an anomaly.
    case givenUp = "given_up"
}

/// Limits of ``AMQPObserverConfiguration``; each hit is counted.
public enum AMQPLimit: String, Sendable, Hashable, CaseIterable {
    case outstandingPerChannel = "outstanding_per_channel"
    case outstandingTotal = "outstanding_total"
    case channelsPerConnection = "channels_per_connection"
    case consumersPerChannel = "consumers_per_channel"
    case pendingRequestsPerChannel = "pending_requests_per_channel"
    /// `AMQPObserverConfiguration.maxKeptBytesTotal`: a channel, consumer, request or delivery not kept.
    case keptBytes = "kept_bytes"
}

/// Counters of one ``AMQPObserver`` (one pipeline; not shared across threads).
public struct AMQPStatistics: Sendable, Hashable {
    public var connections = 0
    public var connectionsGivenUp = 0
    public var methodFrames = 0
    public var contentHeaderFrames = 0
    public var contentBodyFrames = 0
    public var heartbeatFrames = 0
    /// Method frames by class/method id.
    public var methods: [AMQPMethodID: Int] {
        var counts: [AMQPMethodID: Int] = [:]
        for (slot, count) in methodCounts.enumerated() where count > 0 { counts[AMQPMethodID(slot: slot)] = count }
        return counts
    }
    /// Counts by ``AMQPMethodID/slot``: a fixed array, no hashing per frame.
    var methodCounts = [Int](repeating: 0, count: AMQPMethodID.slotCount)
    public var acks = 0
    public var nacks = 0
    public var rejects = 0
    /// Deliveries (or get-oks) whose queue came from the default exchange's routing key.
    public var routingKeyQueueDeliveries = 0
    /// Deliveries whose queue is unknown (unknown consumer tag, named exchange).
    public var unknownQueueDeliveries = 0
    /// Deliveries to `no-ack` consumers / gets: never answered, not timed.
    public var noAckDeliveries = 0
    /// ack / nack / reject for a delivery tag that is not outstanding.
    public var unmatchedAnswers = 0
    /// Answers to deliveries that, with `consumerConcurrency` workers, were still queued.
    public var answeredWhileQueued = 0
    /// Deliveries lost in a gap of the broker's direction (skipped delivery tags).
    public var lostDeliveries = 0
    /// Answers for those lost deliveries (no outcome: the delivery time is unknown).
    public var answersForLostDeliveries = 0
    public var droppedDeliveries: [AMQPDropReason: Int] = [:]
    public var limitHits: [AMQPLimit: Int] = [:]
    public var anomalies: [AMQPAnomaly: Int] = [:]
    /// Bytes reported missing by the reassembler.
    public var gapBytes = 0
    /// Bytes skipped while looking for a frame boundary (mid-stream start or after a gap).
    public var unsynchronizedBytes = 0
    /// Bytes ignored on connections given up.
    public var ignoredBytes = 0

    public init() {}

    /// Adds another observer's counts (one a reload replaced, carried over to its successor).
    public mutating func add(_ other: AMQPStatistics) {
        connections &+= other.connections
        connectionsGivenUp &+= other.connectionsGivenUp
        methodFrames &+= other.methodFrames
        contentHeaderFrames &+= other.contentHeaderFrames
        contentBodyFrames &+= other.contentBodyFrames
        heartbeatFrames &+= other.heartbeatFrames
        for slot in methodCounts.indices { methodCounts[slot] &+= other.methodCounts[slot] }
        acks &+= other.acks
        nacks &+= other.nacks
        rejects &+= other.rejects
        routingKeyQueueDeliveries &+= other.routingKeyQueueDeliveries
        unknownQueueDeliveries &+= other.unknownQueueDeliveries
        noAckDeliveries &+= other.noAckDeliveries
        unmatchedAnswers &+= other.unmatchedAnswers
        answeredWhileQueued &+= other.answeredWhileQueued
        lostDeliveries &+= other.lostDeliveries
        answersForLostDeliveries &+= other.answersForLostDeliveries
        droppedDeliveries.merge(other.droppedDeliveries, uniquingKeysWith: +)
        limitHits.merge(other.limitHits, uniquingKeysWith: +)
        anomalies.merge(other.anomalies, uniquingKeysWith: +)
        gapBytes &+= other.gapBytes
        unsynchronizedBytes &+= other.unsynchronizedBytes
        ignoredBytes &+= other.ignoredBytes
    }

    public var outcomes: Int { acks + nacks + rejects }
    public var frames: Int { methodFrames + contentHeaderFrames + contentBodyFrames + heartbeatFrames }
}
