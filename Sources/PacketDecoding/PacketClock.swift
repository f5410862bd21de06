/// The pipeline's clock: packet timestamps made into a time that never goes back and does not leap.

/// Turns packet timestamps into the time the pipeline runs on (latency, idle expiry, hole timeouts,
/// the short windows of the NAT, pooled-connection and AMQP heuristics).
///
/// Packet timestamps follow the capturing host's real-time clock, and real clocks jump: NTP, chrony
/// or an operator steps a live host's clock while connections are open; replayed files are
/// recordings concatenated (`mergecap -a`: time goes back at each seam), shifted (`editcap -t`),
/// from hosts with wrong clocks, or stamped with garbage; a multi-queue capture hands packets out a
/// few milliseconds out of order. Taken as they are, a step back made latencies negative and stopped
/// every expiry until packet time caught up again (hours for an hour's step), and a step forward
/// ended every open connection at once (its pending requests unanswered, its next response without
/// request).
///
/// So the time handed out is the packet's timestamp plus an `offset`, never earlier than the latest
/// time handed out before:
/// - a packet stamped at most `lateTolerance` before the latest is late (reordering, a live
///   capture's wake-up that came before a block of older packets): it gets the latest time;
/// - a packet stamped further back is a step back: the offset takes the step, so time goes on
///   from the latest, as if the clock had not been stepped;
/// - a packet stamped more than `forwardLimit` after the latest input (packet or idle tick) is a
///   step forward: the offset takes it too. Live, idle ticks come every 250 ms on a quiet
///   interface, so anything far past the last one is the clock, not time passing; in a replay a
///   recording quiet for longer than the limit (the pipeline's: 10 minutes) cannot be told from a
///   step, and is taken as one (counted: `stepsForward`).
/// Every packet stamped before the latest is counted (`packetsBackInTime`, the counter the pcapng
/// reader's interleaving window also feeds), steps by direction.
///
/// Interleaved clocks that disagree (a pcapng file's interfaces) each keep their offset: a packet
/// that does not fit the current one but fits the one before the last step switches back to it.
///
/// The common case costs an addition, a subtraction, one comparison and one store a packet
/// (`time(of:)`; the pipeline's latest packet time is this store). Measured on keepalive.pcap
/// (callgrind): 5 instructions a packet; 9 while the tick horizon was a second field kept up to
/// date on every packet, hence `latestTick` apart.
public struct PacketClock: Sendable {
    /// A packet at most this far behind the latest is late, not a step (the pcapng reader's
    /// interleaving window is as wide).
    public static let lateTolerance: Int64 = 2_000_000_000

    /// Added to every timestamp: the sum of the steps taken so far.
    @usableFromInline var offset: Int64 = 0
    /// The offset before the last step. A packet off by more than `lateTolerance` that fits the
    /// latest time with it comes from the clock the step left: another interface's of a pcapng file
    /// whose clocks disagree (their packets interleave, and each would otherwise be a step, time
    /// running away by the clocks' difference at every turn), or a capture block that straddles a
    /// step. The two offsets then trade places, and no step is taken.
    @usableFromInline var previousOffset: Int64 = 0
    @usableFromInline var hasPrevious = false
    /// The latest time handed out for a packet; `Int64.min` before the first.
    @usableFromInline var latest = Int64.min
    /// The latest idle tick's time (live: it may be ahead of the packets a capture block still
    /// holds). `horizon`, the latest time of any input, is the later of it and `latest`: kept apart
    /// so that a packet writes one field.
    @usableFromInline var latestTick = Int64.min
    /// A jump ahead of `horizon` larger than this is a step forward.
    @usableFromInline let forwardLimit: Int64
    /// Jumps forward up to this take the fast path: `lateTolerance` or the forward limit if lower.
    /// Larger ones (a pause of seconds, rare) are looked at out of line, for the previous clock.
    @usableFromInline let fastLimit: Int64
    public private(set) var counters = PacketClockCounters()

    /// The sum of the steps taken so far, added to every timestamp.
    public var stepsTaken: Int64 { offset }

    /// `forwardLimit`: at least a nanosecond, at most about 292 years.
    public init(forwardLimit: Duration) {
        let (seconds, attoseconds) = forwardLimit.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let nanoseconds = overflow ? (seconds < 0 ? 0 : Int64.max) : scaled &+ attoseconds / 1_000_000_000
        self.forwardLimit = Swift.max(1, nanoseconds)
        fastLimit = Swift.min(self.forwardLimit, Self.lateTolerance)
    }

    /// The pipeline's time for a packet stamped `stamp`.
    @inlinable @inline(__always)
    public mutating func time(of stamp: Timestamp) -> Timestamp {
        let time = stamp.nanoseconds &+ offset
        // One unsigned comparison: not before the latest, and not further ahead than the fast
        // limit. Before the first packet `latest` is `.min`: the difference wraps and takes the
        // slow path.
        if UInt64(bitPattern: time &- latest) <= UInt64(bitPattern: fastLimit) {
            latest = time
            return Timestamp(nanoseconds: time)
        }
        return Timestamp(nanoseconds: placeOutOfLine(stamp.nanoseconds))
    }

    /// A live capture's idle tick (the wall clock, the one packets are stamped with): the time it
    /// stands for, or nil when it is not past the latest packet (nothing to expire). A tick far
    /// from the last input is a step, taken into the offset as for a packet.
    public mutating func idleTime(of now: Timestamp) -> Timestamp? {
        guard latest != .min else { return nil }
        let horizon = self.horizon
        var time = now.nanoseconds &+ offset
        if time < horizon &- Self.lateTolerance {
            counters.stepsBack &+= 1
            step(by: horizon &- time)
            time = horizon
        } else if time &- horizon > forwardLimit {
            counters.stepsForward &+= 1
            step(by: horizon &- time)
            time = horizon
        }
        if time > latestTick { latestTick = time }
        return time > latest ? Timestamp(nanoseconds: time) : nil
    }

    /// The latest time given to a packet; nil before the first.
    public var latestTime: Timestamp? { latest == .min ? nil : Timestamp(nanoseconds: latest) }

    /// The latest time of any input, packets and idle ticks.
    var horizon: Int64 { Swift.max(latest, latestTick) }

    private mutating func step(by amount: Int64) {
        previousOffset = offset
        hasPrevious = true
        offset &+= amount
    }

    @usableFromInline @inline(never)
    mutating func placeOutOfLine(_ stamp: Int64) -> Int64 {
        var time = stamp &+ offset
        if latest == .min {
            latest = time
            return time
        }
        let horizon = self.horizon
        if hasPrevious && (time < latest &- Self.lateTolerance || time &- horizon > Self.lateTolerance) {
            let other = stamp &+ previousOffset
            if other >= latest &- Self.lateTolerance && other &- horizon <= Self.lateTolerance {
                swap(&offset, &previousOffset)
                counters.returnsToPreviousClock &+= 1
                time = other
            }
        }
        if time < latest {
            counters.packetsBackInTime &+= 1
            if latest &- time > Self.lateTolerance {
                counters.stepsBack &+= 1
                step(by: latest &- time)
            }
            return latest
        }
        if time &- horizon > forwardLimit {
            counters.stepsForward &+= 1
            step(by: horizon &- time)
            latest = horizon
            return latest
        }
        // Ahead by more than the fast limit but not the forward limit: time passing (a pause of
        // seconds; live, a quiet interface whose ticks moved time on).
        latest = time
        return time
    }
}

/// What `PacketClock` found in the timestamps.
public struct PacketClockCounters: Sendable, Hashable {
    /// Packets stamped before a packet that came before them (late by a little, or a step back).
    public var packetsBackInTime: UInt64 = 0
    /// Steps back of more than `PacketClock.lateTolerance`, taken into the offset.
    public var stepsBack: UInt64 = 0
    /// Jumps forward past `PacketClock.forwardLimit`, taken into the offset.
    public var stepsForward: UInt64 = 0
    /// Packets taken back to the clock before the last step (`PacketClock.previousOffset`).
    public var returnsToPreviousClock: UInt64 = 0

    public init() {}

    /// Adds another pipeline's (one a reload replaced).
    public mutating func add(_ other: PacketClockCounters) {
        packetsBackInTime &+= other.packetsBackInTime
        stepsBack &+= other.stepsBack
        stepsForward &+= other.stepsForward
        returnsToPreviousClock &+= other.returnsToPreviousClock
    }
}
