// A series' label values as a dictionary key, hashed once with a cheap seeded hash.

/// The label values of one series, used as the key of a family's series index.
///
/// Every observation looks its series up. With `[String]` as the key the dictionary
/// runs SipHash over all the values' bytes (≈ 70 per inbound observation) for each
/// lookup; here the values are folded into a 64-bit digest by a multiply–xorshift hash
/// eight bytes at a time, and the dictionary hashes only that. Label values come from
/// the wire (paths, user agents), so the digest is seeded per process: colliding
/// inputs cannot be prepared in advance, and the series cap bounds the table anyway.
struct LabelSetKey: Hashable, Sendable {
    let values: [String]
    let digest: UInt64

    init(_ values: [String]) {
        self.values = values
        digest = Self.digest(of: values)
    }

    /// The digest of these values (what `init(_:)` computes), without keeping them: each
    /// value's own hash (`valueHash`), combined in order. Apart, so that a caller whose values
    /// change one at a time (`LabelScratch`) rehashes only those that changed.
    static func digest(of values: [String]) -> UInt64 {
        var h = start(count: values.count)
        for value in values { h = combine(h, valueHash(value)) }
        return h
    }

    /// The digest before any value of a set of `count` values.
    @inline(__always)
    static func start(count: Int) -> UInt64 { seeds.set ^ UInt64(count) }

    /// The digest after one more value whose `valueHash` is `hash`.
    @inline(__always)
    static func combine(_ h: UInt64, _ hash: UInt64) -> UInt64 { mix(h, hash) }

    /// One value's hash, the same whatever its place.
    static func valueHash(_ value: String) -> UInt64 {
        // In place (a small string's bytes on the stack); no copy of the value to make it mutable.
        if let folded = value.utf8.withContiguousStorageIfAvailable({ Self.fold($0, into: seeds.value) }) { return folded }
        var contiguous = value
        return contiguous.withUTF8 { Self.fold($0, into: seeds.value) }
    }

    /// A key whose digest is already known (or chosen: tests of colliding digests).
    init(values: [String], digest: UInt64) {
        self.values = values
        self.digest = digest
    }

    func hash(into hasher: inout Hasher) { hasher.combine(digest) }

    static func == (a: LabelSetKey, b: LabelSetKey) -> Bool { a.digest == b.digest && SeriesIndex.same(a.values, b.values) }

    /// The set's seed and the values' seed (one global: one lazy-initialisation check).
    private static let seeds = (set: UInt64.random(in: .min ... .max), value: UInt64.random(in: .min ... .max))

    private static func mix(_ h: UInt64, _ word: UInt64) -> UInt64 {
        var x = (h ^ word) &* 0x9E37_79B9_7F4A_7C15
        x ^= x >> 32
        return x
    }

    /// Folds one value: its 8-byte words, the remaining bytes, then its length (so that
    /// `["ab", "c"]` and `["a", "bc"]` differ).
    private static func fold(_ bytes: UnsafeBufferPointer<UInt8>, into start: UInt64) -> UInt64 {
        var h = start
        let raw = UnsafeRawBufferPointer(bytes)
        var i = 0
        while i + 8 <= raw.count {
            h = mix(h, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        var tail: UInt64 = 0
        if i < raw.count {
            if raw.count >= 8 {
                // The last eight bytes in one load, overlapping bytes already folded.
                tail = raw.loadUnaligned(fromByteOffset: raw.count - 8, as: UInt64.self)
            } else {
                var shift: UInt64 = 0
                while i < raw.count {
                    tail |= UInt64(raw[i]) << shift
                    shift += 8
                    i += 1
                }
            }
        }
        return mix(mix(h, tail), UInt64(raw.count) | 0xFF00_0000_0000_0000)
    }
}
