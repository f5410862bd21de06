// AMQPObserver.swift — the AMQP 0-9-1 observer of one pipeline: configuration, outcome sink, statistics.

import PacketDecoding
import TCPReassembly

/// Turns AMQP 0-9-1 connections into ``ConsumerOutcome``s.
///
/// One per pipeline (no locks: the pipeline's thread owns it and every
/// connection observer it makes). Feed each broker connection's streams to
/// the ``AMQPConnectionObserver`` from ``makeConnectionObserver(for:)``.
public final class AMQPObserver: StreamConsumerFactory {
    public let configuration: AMQPObserverConfiguration
    /// Replaced only by `replaceSink`, on the pipeline's thread.
    public private(set) var sink: any ConsumerOutcomeSink
    /// Counters over all connections of this observer.
    public internal(set) var statistics = AMQPStatistics()
    /// Unanswered deliveries all channels keep (bounded by `maxOutstandingTotal`).
    let outstanding: Budget
    /// Bytes of split method frames all parsers buffer (bounded by `maxBufferedMethodBytesTotal`).
    let bufferedMethodBytes: Budget
    /// Bytes the channels keep (bounded by `maxKeptBytesTotal`).
    let keptBytes: Budget
    /// Whether a bound over all connections (`maxOutstandingTotal`, `maxBufferedMethodBytesTotal`,
    /// `maxKeptBytesTotal`) ever held anything back (`Budget.wasReached`): a replay split over several
    /// pipelines is then redone with one.
    public var reachedGlobalBudget: Bool {
        outstanding.wasReached || bufferedMethodBytes.wasReached || keptBytes.wasReached
    }
    /// Bytes the channels keep now, and the most at once (0 now once every connection ended).
    public var keptBytesNow: (now: Int, peak: Int) { (keptBytes.current, keptBytes.peak) }
    /// Unanswered deliveries kept now, and the most at once (0 now once every connection ended).
    public var outstandingDeliveries: (now: Int, peak: Int) { (outstanding.current, outstanding.peak) }
    /// Bytes of split method frames buffered now, and the most at once (0 now once every connection ended).
    public var bufferedMethodBytesNow: (now: Int, peak: Int) { (bufferedMethodBytes.current, bufferedMethodBytes.peak) }

    public init(configuration: AMQPObserverConfiguration = .init(), sink: any ConsumerOutcomeSink) {
        self.configuration = configuration
        self.sink = sink
        bufferedMethodBytes = Budget(limit: configuration.maxBufferedMethodBytesTotal)
        outstanding = Budget(limit: configuration.maxOutstandingTotal)
        keptBytes = Budget(limit: configuration.maxKeptBytesTotal)
    }

    /// Sends the outcomes from now on to `sink`, channels in progress included (a configuration reload
    /// that changed the metrics but not how connections are followed).
    public func replaceSink(_ sink: any ConsumerOutcomeSink) {
        self.sink = sink
    }

    /// The consumer for one broker connection (`client` = the application, `server` = the broker).
    public func makeConnectionObserver(for connection: ConnectionInfo) -> AMQPConnectionObserver {
        statistics.connections += 1
        return AMQPConnectionObserver(connection: connection, observer: self)
    }

    public func makeConsumer(for connection: ConnectionInfo) -> (any StreamConsumer)? {
        makeConnectionObserver(for: connection)
    }

    func count(_ anomaly: AMQPAnomaly) { statistics.anomalies[anomaly, default: 0] += 1 }
    func count(_ limit: AMQPLimit) { statistics.limitHits[limit, default: 0] += 1 }
    func countDropped(_ count: Int, _ reason: AMQPDropReason) {
        if count > 0 { statistics.droppedDeliveries[reason, default: 0] += count }
    }
}

/// Which duration a metric takes from a ``ConsumerOutcome``.
public enum ConsumerDurationRule: String, Sendable, Hashable, CaseIterable {
    /// answer − service start: the worker's own time, what the reference measures (default).
    case serviceTime = "service_time"
    /// answer − deliver: time in the client's prefetch buffer plus service.
    case deliverToAnswer = "deliver_to_answer"
}

extension ConsumerOutcome {
    /// The outcome's duration in nanoseconds under `rule`.
    public func durationNanoseconds(_ rule: ConsumerDurationRule = .serviceTime) -> Int64 {
        switch rule {
        case .serviceTime: return answerTime - serviceStart
        case .deliverToAnswer: return answerTime - deliverTime
        }
    }
}
