/// When a reassembler sweeps (`TCPReassembler.expireIdle(now:)`): the rule `process` applies to each
/// segment, public so that the driver of a replay split over several reassemblers applies it to every
/// segment of the replay and has each of them sweep at the same segments as one would.

import PacketDecoding

/// The idle sweep's schedule: a segment whose time has reached the next sweep's sweeps before it is
/// handled, and the next one is due `interval` after it. Only segments handed to a reassembler move
/// it; a sweep called from elsewhere (a live capture's timer) does not.
public struct SweepSchedule: Sendable, Equatable {
    /// Packet time between sweeps (nanoseconds).
    public static let interval: Int64 = 1_000_000_000

    /// The packet time (nanoseconds) from which the next segment sweeps; the first segment always does.
    public var next: Int64 { nextDue }
    @usableFromInline var nextDue: Int64 = .min

    public init() {}

    /// A schedule under which no segment sweeps.
    static let never = SweepSchedule(next: .max)

    private init(next: Int64) { nextDue = next }

    /// Whether a segment at `time` sweeps before it is handled; when it does, the next sweep is due
    /// `interval` later.
    @inlinable @inline(__always)
    public mutating func isDue(at time: Timestamp) -> Bool {
        let now = time.nanoseconds
        guard now >= nextDue else { return false }
        noteSweep(at: now)
        return true
    }

    /// A segment at `now` (nanoseconds) swept: the next sweep is due `interval` later.
    @inlinable @inline(__always)
    mutating func noteSweep(at now: Int64) { nextDue = now &+ Self.interval }
}
