// AMQPMethod.swift — decodes the arguments of the AMQP 0-9-1 methods that consumer outcomes depend on.

/// The methods the observer acts on, with their arguments borrowed from the frame
/// (argument layouts from amqp0-9-1.xml; basic.nack from RabbitMQ's extensions).
/// Every other known method is `.other`.
enum AMQPMethod {
    /// connection.tune-ok: channel-max short, frame-max long, heartbeat short.
    case connectionTuneOk(frameMax: UInt32)
    case connectionClose
    case channelOpen
    case channelClose
    case channelCloseOk
    /// basic.consume: reserved short, queue shortstr, consumer-tag shortstr,
    /// bits (no-local, no-ack, exclusive, no-wait), arguments table.
    case basicConsume(queue: UnsafeRawBufferPointer, consumerTag: UnsafeRawBufferPointer, noAck: Bool, noWait: Bool)
    /// basic.consume-ok: consumer-tag shortstr (server-generated when the consume's was empty).
    case basicConsumeOk(consumerTag: UnsafeRawBufferPointer)
    /// basic.cancel: consumer-tag shortstr, no-wait bit.
    case basicCancel(consumerTag: UnsafeRawBufferPointer)
    /// basic.cancel-ok: consumer-tag shortstr.
    case basicCancelOk(consumerTag: UnsafeRawBufferPointer)
    /// basic.deliver: consumer-tag shortstr, delivery-tag longlong, redelivered bit, exchange shortstr, routing-key shortstr.
    case basicDeliver(
        consumerTag: UnsafeRawBufferPointer, deliveryTag: UInt64, redelivered: Bool,
        exchange: UnsafeRawBufferPointer, routingKey: UnsafeRawBufferPointer)
    /// basic.get: reserved short, queue shortstr, no-ack bit.
    case basicGet(queue: UnsafeRawBufferPointer, noAck: Bool)
    /// basic.get-ok: delivery-tag longlong, redelivered bit, exchange shortstr, routing-key shortstr, message-count long.
    case basicGetOk(
        deliveryTag: UInt64, redelivered: Bool, exchange: UnsafeRawBufferPointer, routingKey: UnsafeRawBufferPointer)
    case basicGetEmpty
    /// basic.ack: delivery-tag longlong, multiple bit.
    case basicAck(deliveryTag: UInt64, multiple: Bool)
    /// basic.nack (RabbitMQ): delivery-tag longlong, bits multiple (bit 0), requeue (bit 1).
    case basicNack(deliveryTag: UInt64, multiple: Bool, requeue: Bool)
    /// basic.reject: delivery-tag longlong, requeue bit.
    case basicReject(deliveryTag: UInt64, requeue: Bool)
    /// basic.recover / recover-async: unanswered deliveries are redelivered under new tags.
    case basicRecover
    case other

    enum DecodeError: Error { case unknownMethod, truncated }

    /// Decodes a method frame payload: class-id short, method-id short, arguments (§4.2.4).
    static func decode(_ payload: UnsafeRawBufferPointer) -> Result<(AMQPMethodID, AMQPMethod), DecodeError> {
        var reader = AMQPByteReader(payload)
        guard let classID = reader.readShort(), let methodID = reader.readShort() else { return .failure(.truncated) }
        let id = AMQPMethodID(classID: classID, methodID: methodID)
        guard id.isKnown else { return .failure(.unknownMethod) }
        guard let method = decodeArguments(id, &reader) else { return .failure(.truncated) }
        return .success((id, method))
    }

    private static func decodeArguments(_ id: AMQPMethodID, _ r: inout AMQPByteReader) -> AMQPMethod? {
        switch id {
        case .connectionTuneOk:
            guard r.readShort() != nil, let frameMax = r.readLong() else { return nil }
            return .connectionTuneOk(frameMax: frameMax)
        case .connectionClose: return .connectionClose
        case .channelOpen: return .channelOpen
        case .channelClose: return .channelClose
        case .channelCloseOk: return .channelCloseOk
        case .basicConsume:
            guard r.readShort() != nil, let queue = r.readShortString(), let tag = r.readShortString(),
                let bits = r.readOctet()
            else { return nil }
            return .basicConsume(queue: queue, consumerTag: tag, noAck: bits & 0b10 != 0, noWait: bits & 0b1000 != 0)
        case .basicConsumeOk:
            guard let tag = r.readShortString() else { return nil }
            return .basicConsumeOk(consumerTag: tag)
        case .basicCancel:
            guard let tag = r.readShortString() else { return nil }
            return .basicCancel(consumerTag: tag)
        case .basicCancelOk:
            guard let tag = r.readShortString() else { return nil }
            return .basicCancelOk(consumerTag: tag)
        case .basicDeliver:
            guard let tag = r.readShortString(), let deliveryTag = r.readLongLong(), let bits = r.readOctet(),
                let exchange = r.readShortString(), let routingKey = r.readShortString()
            else { return nil }
            return .basicDeliver(
                consumerTag: tag, deliveryTag: deliveryTag, redelivered: bits & 1 != 0, exchange: exchange,
                routingKey: routingKey)
        case .basicGet:
            guard r.readShort() != nil, let queue = r.readShortString(), let bits = r.readOctet() else { return nil }
            return .basicGet(queue: queue, noAck: bits & 1 != 0)
        case .basicGetOk:
            guard let deliveryTag = r.readLongLong(), let bits = r.readOctet(), let exchange = r.readShortString(),
                let routingKey = r.readShortString()
            else { return nil }
            return .basicGetOk(
                deliveryTag: deliveryTag, redelivered: bits & 1 != 0, exchange: exchange, routingKey: routingKey)
        case .basicGetEmpty: return .basicGetEmpty
        case .basicAck:
            guard let deliveryTag = r.readLongLong(), let bits = r.readOctet() else { return nil }
            return .basicAck(deliveryTag: deliveryTag, multiple: bits & 1 != 0)
        case .basicNack:
            guard let deliveryTag = r.readLongLong(), let bits = r.readOctet() else { return nil }
            return .basicNack(deliveryTag: deliveryTag, multiple: bits & 1 != 0, requeue: bits & 0b10 != 0)
        case .basicReject:
            guard let deliveryTag = r.readLongLong(), let bits = r.readOctet() else { return nil }
            return .basicReject(deliveryTag: deliveryTag, requeue: bits & 1 != 0)
        case .basicRecover, .basicRecoverAsync: return .basicRecover
        default: return .other
        }
    }
}
