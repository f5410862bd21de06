// A family's series numbers by label set, in the flow table's hash index.

import TCPReassembly

/// Finds the series of a label set. Series are numbered in first-observed order.
///
/// `LabelSetKey` already carries a seeded 64-bit digest; a `Dictionary` would hash that
/// digest again with SipHash on every observation. Here its low 32 bits pick the bucket in
/// a `SlotIndex` (the reassembler's open-addressing index), and a hit is confirmed by the
/// whole digest and the label values' bytes, so a collision only costs a probe.
struct SeriesIndex: Sendable {
    private var slots = SlotIndex(minimumCapacity: 16)
    /// The label set of each series, by series number.
    private(set) var keys: [LabelSetKey] = []

    var count: Int { keys.count }

    func find(_ key: LabelSetKey) -> Int? { find(key.values, digest: key.digest) }

    /// The series of these label values, whose digest (`LabelSetKey.digest(of:)`) is given.
    func find(_ values: [String], digest: UInt64) -> Int? {
        slots.find(hash: UInt32(truncatingIfNeeded: digest)) { keys[$0].digest == digest && Self.same(keys[$0].values, values) }
    }

    /// The same values, each the same UTF-8 (`String.hasSameUTF8`).
    static func same(_ a: [String], _ b: [String]) -> Bool {
        guard a.count == b.count else { return false }
        for i in a.indices where !a[i].hasSameUTF8(as: b[i]) { return false }
        return true
    }

    /// Adds a label set that `find` did not find; returns its series number.
    mutating func insert(_ key: LabelSetKey) -> Int {
        let series = keys.count
        keys.append(key)
        slots.insert(hash: UInt32(truncatingIfNeeded: key.digest), slot: series)
        return series
    }
}
