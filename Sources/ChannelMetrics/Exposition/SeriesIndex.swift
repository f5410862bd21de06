// A family's series numbers by label set: open addressing on the label set's digest.

/// Finds the series of a label set. Series are numbered in first-observed order.
///
/// `LabelSetKey` already carries a seeded 64-bit digest; a `Dictionary` would hash that
/// digest again with SipHash on every observation. Here the digest picks the slot
/// directly (linear probing, at most half full), and a hit is confirmed by comparing the
/// label values, so a digest collision only costs a probe.
struct SeriesIndex: Sendable {
    /// Series number + 1 per slot, 0 when empty; a power-of-two count.
    private var slots: [Int32] = []
    /// The label set of each series, by series number.
    private(set) var keys: [LabelSetKey] = []

    var count: Int { keys.count }

    func find(_ key: LabelSetKey) -> Int? { find(key.values, digest: key.digest) }

    /// The series of these label values, whose digest (`LabelSetKey.digest(of:)`) is given.
    func find(_ values: [String], digest: UInt64) -> Int? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: digest) & mask
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { return nil }
            let candidate = keys[entry - 1]
            if candidate.digest == digest && candidate.values == values { return entry - 1 }
            slot = (slot + 1) & mask
        }
    }

    /// Adds a label set that `find` did not find; returns its series number.
    mutating func insert(_ key: LabelSetKey) -> Int {
        let series = keys.count
        keys.append(key)
        if keys.count * 2 > slots.count {
            rebuild(slotCount: max(16, slots.count * 2))
        } else {
            place(series)
        }
        return series
    }

    private mutating func rebuild(slotCount: Int) {
        slots = Array(repeating: 0, count: slotCount)
        for series in keys.indices { place(series) }
    }

    private mutating func place(_ series: Int) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: keys[series].digest) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(series + 1)
    }
}
