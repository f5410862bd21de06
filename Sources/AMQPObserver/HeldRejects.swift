// HeldRejects.swift — a connection's rejects with requeue, held back until known to be a worker's answer.

import PacketDecoding
import TCPReassembly

/// The outcomes of one connection's `basic.reject` (requeue) answers that may still turn out to
/// be a client library's give-backs at a consumer's cancel (see ``AMQPConnectionObserver``),
/// oldest first. Each is charged `AMQPChannelState.deliveryCost` to the observer's kept bytes
/// while held.
struct HeldRejects {
    struct Entry {
        var outcome: ConsumerOutcome
        var answeredWhileQueued: Bool
    }

    /// Past the newest held answer by this much, the held outcomes are the workers' own: pika sends
    /// its give-backs and the `basic.cancel` in one go (10 µs apart on the wire,
    /// `captures/amqp/random_consumers.py`). After the cancel too: pika's rejects of the deliveries
    /// it reads then came 0.2–1.5 ms after the cancel or their delivery; a later one is a worker's.
    static let windowNanoseconds: Int64 = 100_000_000

    private var entries: [Entry] = []
    /// When the held outcomes are due (nil: none held).
    private(set) var deadline: Timestamp?
    private let kept: Budget
    private let limit: Int

    /// At most `limit` held at once; `kept` is charged for each.
    init(kept: Budget, limit: Int) {
        self.kept = kept
        self.limit = limit
    }

    var isEmpty: Bool { entries.isEmpty }

    /// Holds `entry`; false when the bound or the kept bytes leave no room (the caller emits it now).
    mutating func hold(_ entry: Entry) -> Bool {
        guard entries.count < limit, kept.hasRoom(for: AMQPChannelState.deliveryCost) else { return false }
        kept.charge(AMQPChannelState.deliveryCost)
        entries.append(entry)
        deadline = entry.outcome.answerTime + Self.windowNanoseconds
        return true
    }

    /// Takes the held outcomes of `channel` (all of them when nil), oldest first.
    mutating func take(channel: UInt16? = nil) -> [Entry] {
        guard !entries.isEmpty else { return [] }
        var taken: [Entry] = []
        var left: [Entry] = []
        for entry in entries {
            if let channel, entry.outcome.channel != channel { left.append(entry) } else { taken.append(entry) }
        }
        kept.release(taken.count * AMQPChannelState.deliveryCost)
        entries = left
        if left.isEmpty { deadline = nil }
        return taken
    }

    /// Gives back what the held outcomes keep (the connection is gone).
    mutating func discardAll() { _ = take() }
}
