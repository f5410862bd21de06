/// An open-addressing hash index from a 32-bit hash to a slot number (the flow table's
/// connections; the metrics' series).

/// Linear probing over 64-bit buckets `hash << 32 | slot + 1` (0 = empty);
/// the stored hash filters most mismatches without touching the slot, and
/// removal shifts followers back (no tombstones). Load stays at or below 1/2
/// so a lookup is usually one probe.
public struct SlotIndex: Sendable {
    @usableFromInline var buckets: [UInt64]
    @usableFromInline var mask: Int
    public private(set) var count = 0

    public init(minimumCapacity: Int = 1024) {
        var capacity = 16
        while capacity < minimumCapacity { capacity <<= 1 }
        buckets = Array(repeating: 0, count: capacity)
        mask = capacity - 1
    }

    /// Bytes held by the bucket array.
    public var memoryBytes: Int { buckets.count * MemoryLayout<UInt64>.stride }

    /// The slot with `hash` for which `matches` is true.
    @inlinable @inline(__always)
    public func find(hash: UInt32, matches: (Int) -> Bool) -> Int? {
        var position = Int(hash) & mask
        while true {
            let bucket = buckets[position]
            if bucket == 0 { return nil }
            if UInt32(truncatingIfNeeded: bucket >> 32) == hash {
                let slot = Int(UInt32(truncatingIfNeeded: bucket)) - 1
                if matches(slot) { return slot }
            }
            position = (position + 1) & mask
        }
    }

    /// Adds `slot` under `hash`; the caller made sure no equal key is present.
    public mutating func insert(hash: UInt32, slot: Int) {
        if (count + 1) * 2 > buckets.count { grow() }
        place(UInt64(hash) << 32 | UInt64(slot + 1))
        count += 1
    }

    /// Removes the bucket that points at `slot`.
    public mutating func remove(hash: UInt32, slot: Int) {
        let wanted = UInt64(hash) << 32 | UInt64(slot + 1)
        var hole = Int(hash) & mask
        while buckets[hole] != wanted {
            precondition(buckets[hole] != 0, "SlotIndex.remove: slot not indexed")
            hole = (hole + 1) & mask
        }
        // Backward-shift deletion: move each follower whose home is not
        // between the hole and itself into the hole.
        var next = (hole + 1) & mask
        while buckets[next] != 0 {
            let home = Int(UInt32(truncatingIfNeeded: buckets[next] >> 32)) & mask
            if (next - home) & mask >= (next - hole) & mask {
                buckets[hole] = buckets[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        buckets[hole] = 0
        count -= 1
    }

    private mutating func place(_ bucket: UInt64) {
        var position = Int(UInt32(truncatingIfNeeded: bucket >> 32)) & mask
        while buckets[position] != 0 { position = (position + 1) & mask }
        buckets[position] = bucket
    }

    private mutating func grow() {
        let old = buckets
        buckets = Array(repeating: 0, count: old.count * 2)
        mask = buckets.count - 1
        for bucket in old where bucket != 0 { place(bucket) }
    }
}
