/// A bound on what many holders keep together (bytes, or items), and what they keep now.

/// What the many holders of one observer keep, all together, and its bound: each per-connection
/// limit is small, but multiplied by the connections (262,144) it is no bound in practice. A
/// holder charges what it keeps as it grows and releases it when it is emitted, reused, dropped
/// or when the holder itself goes (`deinit`); a class, so that each holder refers to the one
/// budget, and the count cannot drift from what is kept.
///
/// Used by the HTTP observer (bytes: `HTTPObserverConfiguration.maxKeptBytesTotal`, split heads,
/// body prefixes, waiting requests) and the AMQP observer (bytes of method frames split over
/// segments; unanswered deliveries, counted one each). One pipeline, one thread: no locks.
public final class Budget {
    public let limit: Int
    // (No dynamic exclusivity checks: one pipeline thread, no overlapping access; a check cost more
    // than the addition it guards.)
    @exclusivity(unchecked) @usableFromInline var charged = 0
    @exclusivity(unchecked) @usableFromInline var mostCharged = 0
    @exclusivity(unchecked) @usableFromInline var refused = false

    /// Charged now.
    @inlinable public var current: Int { charged }
    /// The most charged at once.
    @inlinable public var peak: Int { mostCharged }

    public init(limit: Int) {
        self.limit = limit
    }

    /// Whether the bound ever held anything back: a check found too little room (`isExhausted` true,
    /// `room(for:)` short of what was wanted, `hasRoom(for:)` false), or more was charged than the limit.
    ///
    /// For a replay split over several pipelines, each given a share of every bound over many
    /// connections: while no share was ever reached, no holder was refused, and the shares' sum (at
    /// most the whole bound) was never reached either, so one pipeline with the whole bound would not
    /// have refused anything; once one was, the replay is redone with one pipeline (docs/replay.md,
    /// "Several threads").
    public var wasReached: Bool { refused || mostCharged > limit }

    @inlinable
    public var isExhausted: Bool {
        let exhausted = current >= limit
        if exhausted { refused = true }
        return exhausted
    }

    /// How much of `wanted` more may be kept.
    @inlinable
    public func room(for wanted: Int) -> Int {
        let left = limit &- current
        if left < wanted { refused = true }
        return left <= 0 ? 0 : Swift.min(wanted, left)
    }

    /// Whether `amount` more may be kept, all of it.
    @inlinable
    public func hasRoom(for amount: Int) -> Bool {
        let fits = current &+ amount <= limit
        if !fits { refused = true }
        return fits
    }

    @inlinable
    public func charge(_ amount: Int) {
        charged &+= amount
        if charged > mostCharged { mostCharged = charged }
    }

    @inlinable
    public func release(_ amount: Int) {
        charged &-= amount
    }
}
