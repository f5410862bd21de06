/// A connection's deliveries as the broker hands them out: consumers registered, direct reply-to
/// replies told apart, deliveries of unknown consumers given a queue, lost ones filled in after a
/// gap, and each kept within the channel's and the observer's bounds.

import PacketDecoding

extension AMQPConnectionObserver {
    typealias PendingConsume = AMQPChannelState.PendingConsume

    func register(_ consume: PendingConsume, tag: UnsafeRawBufferPointer, in state: AMQPChannelState) {
        guard !tag.isEmpty else { return }
        state.removeConsumer(tag: tag)
        state.forgetCancelled(tag: tag)
        guard state.consumers.count < configuration.maxConsumersPerChannel else {
            observer.count(.consumersPerChannel)
            return
        }
        if !state.addConsumer(
            .init(tag: Array(tag), tagString: tag.utf8String, queue: consume.queue, noAck: consume.noAck,
                  directReply: consume.queue == Self.directReplyQueue)) {
            observer.count(.keptBytes)
        }
    }

    /// RabbitMQ's direct reply-to (RPC replies without a reply queue): the client consumes this
    /// pseudo-queue with no-ack and names `amq.rabbitmq.reply-to` as a request's `reply_to`; the server's
    /// reply, published to the address the broker put there instead, is delivered through the default
    /// exchange with that address (`amq.rabbitmq.reply-to.` and a suffix) as routing key. The broker
    /// gives such a delivery the channel's next delivery tag but does not count it
    /// (`rabbit_channel`'s `deliver_reply`): the channel's next delivery carries the same tag.
    /// `captures/amqp/feature_consumers.py` (`direct-reply-to`, `rpc-chain`) shows both.
    static let directReplyQueue = "amq.rabbitmq.reply-to"
    private static let directReplyPrefix = Array("amq.rabbitmq.reply-to.".utf8)

    /// A delivery of an unknown consumer is a direct reply-to reply: the default exchange and a
    /// routing key that is a reply address.
    static func isDirectReplyAddress(exchange: UnsafeRawBufferPointer, routingKey: UnsafeRawBufferPointer) -> Bool {
        exchange.isEmpty && routingKey.count > directReplyPrefix.count
            && routingKey.prefix(directReplyPrefix.count).elementsEqual(directReplyPrefix)
    }

    /// The queue of a delivery whose consumer tag (or get) is unknown; see the type's documentation.
    func fallbackQueue(
        exchange: UnsafeRawBufferPointer, routingKey: UnsafeRawBufferPointer, time: Timestamp
    ) -> OutstandingDelivery {
        var delivery = OutstandingDelivery(
            deliveryTag: 0, consumerTag: nil, queue: nil, queueSource: .unknown, redelivered: false,
            deliverTime: time)
        if exchange.isEmpty && !routingKey.isEmpty {
            delivery.queue = routingKey.utf8String
            delivery.queueSource = .routingKey
            observer.statistics.routingKeyQueueDeliveries += 1
        } else {
            observer.statistics.unknownQueueDeliveries += 1
        }
        return delivery
    }

    /// After a gap in the broker's direction, the tags skipped before `tag` were deliveries we
    /// lost. Their workers are as busy as if we had seen them, so placeholders take their
    /// place in the first-come-first-served order (bounded by the outstanding limit).
    /// `tagUsed` false: a direct reply-to delivery, whose tag is the next one RabbitMQ will use
    /// (the tags below it were used, it was not).
    func fillLostDeliveries(
        before tag: UInt64, in state: AMQPChannelState, time: Timestamp, tagUsed: Bool = true
    ) {
        defer {
            state.lastSeenTag = tagUsed ? tag : max(state.lastSeenTag ?? 0, tag &- 1)
            state.deliveriesMayBeMissing = false
        }
        if !tagUsed && tag == 0 { return }
        guard state.deliveriesMayBeMissing, let last = state.lastSeenTag, tag > last, tag - last > 1 else { return }
        let lost = tag - last - 1
        guard lost <= UInt64(configuration.maxOutstandingPerChannel) else {
            observer.countDropped(state.dropAll(workersStayBusy: true), .gap)
            return
        }
        observer.statistics.lostDeliveries += Int(lost)
        for lostTag in last + 1..<tag {
            deliver(
                .init(deliveryTag: lostTag, consumerTag: nil, queue: nil, queueSource: .unknown, redelivered: false,
                      deliverTime: time, isLost: true), to: state, ownStrings: false)
        }
    }

    /// `ownStrings`: the delivery's consumer tag and queue are its own, not its consumer's (they count
    /// towards the kept bytes with it).
    func deliver(_ delivery: OutstandingDelivery, to state: AMQPChannelState, ownStrings: Bool) {
        if let last = state.lastDeliveryTag, delivery.deliveryTag <= last {
            observer.countDropped(state.dropAll(), .tagRegression)
        }
        let cost = AMQPChannelState.cost(of: delivery, ownStrings: ownStrings)
        if state.outstandingCount >= configuration.maxOutstandingPerChannel {
            observer.count(.outstandingPerChannel)
            observer.countDropped(1, .outstandingLimit)
            state.dropOldest(time: delivery.deliverTime)
        } else if observer.outstanding.isExhausted || !state.hasRoom(for: cost) {
            observer.count(observer.outstanding.isExhausted ? .outstandingTotal : .keptBytes)
            observer.countDropped(1, .outstandingLimit)
            // This channel's oldest makes room; a channel that keeps none does not take the new one
            // (its answer will then be an unmatched one).
            guard state.outstandingCount > 0 else { return }
            state.dropOldest(time: delivery.deliverTime)
        }
        // Dropping the oldest may not free bytes enough for a delivery with longer strings of its own:
        // then it is not kept either.
        guard state.hasRoom(for: cost) else {
            observer.count(.keptBytes)
            observer.countDropped(1, .outstandingLimit)
            return
        }
        state.add(delivery, cost: cost)
    }
}
