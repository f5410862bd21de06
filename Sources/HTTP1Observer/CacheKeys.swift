// The keys of the parser's direct-mapped caches (targets, paths, header values): the bytes each entry was made from.

/// The bytes (at most `maxLength`) each entry of a direct-mapped cache was made from, and their count
/// (-1: no entry yet), compared in line: through a String's UTF-8 view a hit cost a closure and a call
/// to memcmp. The owner keeps the entries themselves, by the same index, and deallocates the keys.
struct CacheKeys {
    static let maxLength = 256
    private let bytes: UnsafeMutableRawPointer
    private let lengths: UnsafeMutablePointer<Int>

    init(entries: Int) {
        bytes = .allocate(byteCount: entries * Self.maxLength, alignment: 8)
        lengths = .allocate(capacity: entries)
        lengths.initialize(repeating: -1, count: entries)
    }

    func deallocate() {
        bytes.deallocate()
        lengths.deallocate()
    }

    /// Entry `index` was made from `key`.
    @inline(__always)
    func holds(_ key: UnsafeRawBufferPointer, at index: Int) -> Bool {
        lengths[index] == key.count && Self.equal(bytes + index * Self.maxLength, key)
    }

    /// Entry `index` is now made from `key` (at most `maxLength` bytes).
    func set(_ key: UnsafeRawBufferPointer, at index: Int) {
        if let base = key.baseAddress { (bytes + index * Self.maxLength).copyMemory(from: base, byteCount: key.count) }
        lengths[index] = key.count
    }

    /// The `bytes.count` bytes at `stored` equal `bytes`: sixteen at a time (two words whose differences
    /// are or-ed: one branch), the last sixteen (or, below sixteen bytes, the first and last eight)
    /// overlapping. Wrapping arithmetic: the indices stay below `maxLength`, and an overflow check per
    /// step cost a branch.
    @inline(__always)
    private static func equal(_ stored: UnsafeMutableRawPointer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let count = bytes.count
        guard let base = bytes.baseAddress else { return true }
        @inline(__always) func difference(_ offset: Int) -> UInt64 {
            stored.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                ^ base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        }
        if count >= 8 {
            var i = 0
            while i &+ 16 < count {
                if difference(i) | difference(i &+ 8) != 0 { return false }
                i &+= 16
            }
            // 1 to 16 bytes are left after `i`.
            return difference(count >= 16 ? count &- 16 : 0) | difference(count &- 8) == 0
        }
        var i = 0
        while i < count {
            if stored.load(fromByteOffset: i, as: UInt8.self) != base.load(fromByteOffset: i, as: UInt8.self) { return false }
            i &+= 1
        }
        return true
    }

    /// A cheap hash of the length and the first and last 8 bytes (targets differ mostly at the end: ids, pages).
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15
        if bytes.count >= 8 {
            h ^= bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            h = (h &* 0xBF58_476D_1CE4_E5B9) ^ bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self)
        } else {
            for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        }
        return (h ^ (h >> 29)) &* 0x94D0_49BB_1331_11EB
    }
}
