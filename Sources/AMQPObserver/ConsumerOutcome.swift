import PacketDecoding
import TCPReassembly

/// How a consumer answered a delivery (AMQP 0-9-1 §1.8.3.13–15, RabbitMQ's basic.nack).
public enum DeliveryAnswer: Sendable, Hashable {
    case ack
    case nack(requeue: Bool)
    case reject(requeue: Bool)

    /// The reference's `code` label: 0 for ack, 1 otherwise.
    public var code: Int { if case .ack = self { return 0 } else { return 1 } }
}

/// How the queue of a delivery was learnt.
public enum QueueSource: String, Sendable, Hashable {
    /// From `basic.consume` / `consume-ok` for the delivery's consumer tag.
    case consume
    /// From a `basic.get` on the queue.
    case get
    /// Capture began after `basic.consume`: the routing key of a deliver through the default exchange names the queue.
    case routingKey = "routing_key"
    /// Not known.
    case unknown
}

/// One message a consumer handled: its delivery and its answer.
public struct ConsumerOutcome: Sendable, Hashable {
    /// The connection; `client` is the consuming application, `server` the broker.
    public var connection: ConnectionInfo
    public var channel: UInt16
    public var consumerTag: String?
    public var deliveryTag: UInt64
    /// The queue (the reference's `topic`), nil when unknown.
    public var queue: String?
    public var queueSource: QueueSource
    public var redelivered: Bool
    public var answer: DeliveryAnswer
    /// When `basic.deliver` (or `basic.get-ok`) was seen.
    public var deliverTime: Timestamp
    /// When the worker started on it: max(deliver, a worker of the channel becoming free).
    public var serviceStart: Timestamp
    /// When the ack / nack / reject was seen.
    public var answerTime: Timestamp

    public init(
        connection: ConnectionInfo, channel: UInt16, consumerTag: String?, deliveryTag: UInt64, queue: String?,
        queueSource: QueueSource, redelivered: Bool, answer: DeliveryAnswer, deliverTime: Timestamp,
        serviceStart: Timestamp, answerTime: Timestamp
    ) {
        self.connection = connection
        self.channel = channel
        self.consumerTag = consumerTag
        self.deliveryTag = deliveryTag
        self.queue = queue
        self.queueSource = queueSource
        self.redelivered = redelivered
        self.answer = answer
        self.deliverTime = deliverTime
        self.serviceStart = serviceStart
        self.answerTime = answerTime
    }
}

/// Receives every consumer outcome an AMQP observer derives.
public protocol ConsumerOutcomeSink: AnyObject {
    func observe(_ outcome: ConsumerOutcome)
}
