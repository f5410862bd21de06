/// Where something a pipeline produced falls in the order one pipeline reading every packet would
/// have produced it: for a replay whose connections are split over several pipelines (one thread
/// each), whose outputs are merged back into that order.

/// The position of one output (a new metric series, an exchange log line, a connection opened) in
/// the single-pipeline order. Compared field by field, in declaration order.
///
/// One packet is handled by one pipeline, so what its handling produced is ordered by that
/// pipeline's own `step`. An idle sweep is set off by a packet's time in every pipeline at once
/// (each sees every packet's time), and the end of input ends every connection: there the
/// connection (by its opening packet) orders what the pipelines produced, as one pipeline closing
/// connections in that order would.
public struct EventOrderKey: Comparable, Hashable, Sendable {
    /// The ordinal (from 1) of the packet being handled; `UInt64.max` at the end of input.
    public var packet: UInt64
    /// `sweep` (before the packet: connections idle too long, holes given up) or `packet`.
    public var phase: EventOrder.Phase
    /// In a sweep or at the end of input: the ordinal of the packet that opened the connection
    /// being closed; 0 while a packet is handled.
    public var connection: UInt64
    /// The pipeline's own count of keys handed out (orders what one event produced).
    public var step: UInt64

    public init(packet: UInt64, phase: EventOrder.Phase, connection: UInt64, step: UInt64) {
        self.packet = packet
        self.phase = phase
        self.connection = connection
        self.step = step
    }

    public static func < (a: EventOrderKey, b: EventOrderKey) -> Bool {
        if a.packet != b.packet { return a.packet < b.packet }
        if a.phase != b.phase { return a.phase.rawValue < b.phase.rawValue }
        if a.connection != b.connection { return a.connection < b.connection }
        return a.step < b.step
    }
}

/// The event one pipeline is handling now, kept up to date by whoever drives it (the packet) and by
/// its reassembler (sweeps and the end of input); read by the outputs whose order matters when they
/// produce one (`next()`). Without it (nil where it is optional) nothing is ordered this way, and
/// nothing is paid for it.
///
/// Not thread-safe: it belongs to one pipeline. Its fields are read and written without the
/// runtime's exclusivity checks, which `next()` would otherwise pay on every observation of a
/// sharded replay (`swift_beginAccess` and its thread-local access set, about 2 % of the CPU).
public final class EventOrder {
    public enum Phase: UInt8, Sendable {
        case sweep = 0
        case packet = 1
    }

    @exclusivity(unchecked) public var packet: UInt64 = 0
    @exclusivity(unchecked) public var phase: Phase = .packet
    @exclusivity(unchecked) public var connection: UInt64 = 0
    @exclusivity(unchecked) public private(set) var step: UInt64 = 0

    public init() {}

    /// A sweep or the end of input closes the connection opened by packet `connection` now.
    @inlinable
    public func enterSweep(connection: UInt64) {
        phase = .sweep
        self.connection = connection
    }

    /// Back to handling packets (`packet` as the driver set it).
    @inlinable
    public func leaveSweep() {
        phase = .packet
        connection = 0
    }

    /// The key of the next output of the current event.
    public func next() -> EventOrderKey {
        step &+= 1
        return EventOrderKey(packet: packet, phase: phase, connection: connection, step: step)
    }
}
