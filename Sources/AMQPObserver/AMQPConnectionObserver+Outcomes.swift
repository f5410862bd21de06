/// A connection's consumer outcomes: made from the answers, and handed on at once, or after the
/// rejects held back at a consumer's cancel (see `AMQPConnectionObserver` and `HeldRejects`) are
/// known to be answers.

import PacketDecoding

extension AMQPConnectionObserver {
    /// A `basic.ack`/`nack`/`reject` for `tag` (and those before it when `multiple`): an outcome
    /// for each delivery it settles, held back or dropped when it may be a client library's give-back.
    func answer(_ answer: DeliveryAnswer, tag: UInt64, multiple: Bool, channel number: UInt16, time: Timestamp) {
        guard let state = channels[number] ?? channel(number) else { return }
        let settled = state.settle(tag: tag, multiple: multiple, time: time) { delivery, serviceStart in
            guard !delivery.isLost else {
                observer.statistics.answersForLostDeliveries += 1
                return
            }
            let outcome = ConsumerOutcome(
                connection: connection, channel: number, consumerTag: delivery.consumerTag,
                deliveryTag: delivery.deliveryTag, queue: delivery.queue, queueSource: delivery.queueSource,
                redelivered: delivery.redelivered, answer: answer, deliverTime: delivery.deliverTime,
                serviceStart: serviceStart, answerTime: time)
            let whileQueued = delivery.serviceStart == nil
            if case .reject(requeue: true) = answer, let consumerTag = delivery.consumerTag {
                if let cancelled = state.cancelTime(of: consumerTag) {
                    // A give-back follows the cancel, or the delivery when it arrives later, at once;
                    // a worker's answer to a delivery its library still handed over comes after its work.
                    if time - max(cancelled, delivery.deliverTime) <= HeldRejects.windowNanoseconds {
                        observer.countDropped(1, .cancelReturn)
                        return
                    }
                } else if held.hold(.init(outcome: outcome, answeredWhileQueued: whileQueued)) {
                    return
                }
            }
            emit(outcome, answeredWhileQueued: whileQueued)
        }
        if settled == 0 {
            observer.statistics.unmatchedAnswers += 1
            state.answerForUnknownDelivery(time: time)
        }
    }

    /// Counts the outcome and hands it to the sink.
    func emit(_ outcome: ConsumerOutcome, answeredWhileQueued: Bool) {
        switch outcome.answer {
        case .ack: observer.statistics.acks += 1
        case .nack: observer.statistics.nacks += 1
        case .reject: observer.statistics.rejects += 1
        }
        if answeredWhileQueued { observer.statistics.answeredWhileQueued += 1 }
        observer.sink.observe(outcome)
    }

    /// Emits the held outcomes (of `channel` only, when given): they were the workers' answers.
    func releaseHeld(channel: UInt16? = nil) {
        for entry in held.take(channel: channel) {
            emit(entry.outcome, answeredWhileQueued: entry.answeredWhileQueued)
        }
    }

    /// Drops the held outcomes of `consumerTag`'s deliveries on `channel` (the library's give-backs
    /// before its `basic.cancel`) and emits the channel's others.
    func dropHeld(channel: UInt16, consumerTag: UnsafeRawBufferPointer) {
        for entry in held.take(channel: channel) {
            if let tag = entry.outcome.consumerTag, tag.utf8.elementsEqual(consumerTag) {
                observer.countDropped(1, .cancelReturn)
            } else {
                emit(entry.outcome, answeredWhileQueued: entry.answeredWhileQueued)
            }
        }
    }
}
