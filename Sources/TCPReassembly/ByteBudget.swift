/// A bound on bytes that many holders keep together, and what they keep now.

/// Bytes that the many holders of one observer keep between deliveries, all together, and their
/// bound: each per-connection limit is small, but multiplied by the connections (262,144) it is
/// no bound in practice. A holder charges what it keeps as it grows and releases it when it is
/// emitted, reused, dropped or when the holder itself goes (`deinit`); a class, so that each
/// holder refers to the one budget.
///
/// Used by the HTTP observer (`HTTPObserverConfiguration.maxKeptBytesTotal`: split heads, body
/// prefixes, waiting requests) and the AMQP observer (method frames split over segments). One
/// pipeline, one thread: no locks.
public final class ByteBudget {
    public let limit: Int
    // (No dynamic exclusivity checks: one pipeline thread, no overlapping access; a check cost more
    // than the addition it guards.)
    @exclusivity(unchecked) @usableFromInline var charged = 0
    @exclusivity(unchecked) @usableFromInline var mostCharged = 0

    /// Bytes charged now.
    @inlinable public var current: Int { charged }
    /// The most charged at once.
    @inlinable public var peak: Int { mostCharged }

    public init(limit: Int) {
        self.limit = limit
    }

    @inlinable
    public var isExhausted: Bool { current >= limit }

    /// How many of `wanted` more bytes may be kept.
    @inlinable
    public func room(for wanted: Int) -> Int {
        let left = limit &- current
        return left <= 0 ? 0 : Swift.min(wanted, left)
    }

    /// Whether `bytes` more may be kept, all of them.
    @inlinable
    public func hasRoom(for bytes: Int) -> Bool { current &+ bytes <= limit }

    @inlinable
    public func charge(_ bytes: Int) {
        charged &+= bytes
        if charged > mostCharged { mostCharged = charged }
    }

    @inlinable
    public func release(_ bytes: Int) {
        charged &-= bytes
    }
}
