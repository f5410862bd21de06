/// Handing a connection's consumer outcomes on: at once, or after the rejects held back at a
/// consumer's cancel (see `AMQPConnectionObserver` and `HeldRejects`) are known to be answers.

extension AMQPConnectionObserver {
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
