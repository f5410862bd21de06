/// How a sharded replay divides its connections among its shards.
import PacketDecoding

/// The division of a sharded replay's connections among its shards, by a hash of a connection's two
/// endpoints, in parts: shard 0 is the reading thread's own (`ShardDispatcher.local`), shards 1 to
/// `threads - 1` are the workers', and the last is the floating shard (`FloatingShard`), whose
/// batches the thread with time to spare handles.
///
/// The reading thread also reads and decodes every packet and copies the others' segments, so its
/// own part is the smaller; the floating part lets it take on more while the workers are behind,
/// or leave more to them. Measured with two threads on the two-CPU machine of `Benchmarks/README.md`,
/// with fixed splits (the reading thread's share of the connections against the replay's time): a
/// third was best on the real keep-alive capture (2/5 and 1/2 were 10 % and 19 % slower), a quarter
/// on the real one-request connections (a third 6 % slower), three sevenths on the synthetic 1M
/// capture, whose long connections cost more to observe than to read (a third 12 % slower). With
/// two threads, 3 parts for the reading thread, 5 for the worker and 2 floating: the reading
/// thread's share can be anything from 3/10 to 5/10 (against 2 : 4 : 3, 2/9 to 5/9, as fast on the
/// one-request connections, 3 % faster on the keep-alive capture, 1.5 % slower on the 1M one).
struct ShardSplit: Equatable {
    /// Each shard's parts: the reading thread's, each worker's, the floating shard's.
    let weights: [Int]
    /// The end (exclusive) of each shard's part of the 32-bit hash range.
    private let ends: [UInt64]

    init(threads: Int, localWeight: Int = 3, workerWeight: Int = 5, floatingWeight: Int = 2) {
        precondition(threads >= 2, "a sharded replay has a reading thread and a worker at least")
        precondition(localWeight >= 1 && workerWeight >= 1 && floatingWeight >= 1, "a part for every shard")
        weights = [localWeight] + Array(repeating: workerWeight, count: threads - 1) + [floatingWeight]
        let total = UInt64(weights.reduce(0, +))
        var ends = [UInt64]()
        var sum: UInt64 = 0
        for weight in weights {
            sum += UInt64(weight)
            ends.append((sum << 32) / total)
        }
        self.ends = ends
    }

    /// The shards, the floating one included.
    var shards: Int { weights.count }

    /// All the parts: the denominator of every shard's share.
    var totalWeight: Int { weights.reduce(0, +) }

    /// The shard of a segment's connection: the same for both directions (the sum of the two
    /// endpoints' mixes).
    @inline(__always)
    func shard(of segment: TCPSegment) -> Int {
        var x = Self.mix(segment.source) &+ Self.mix(segment.destination)
        x = (x ^ (x >> 32)) &* 0xD6E8_FEB8_6659_FD93
        x ^= x >> 32
        let hash = x & 0xFFFF_FFFF
        // A few comparisons (9 shards at most), not a division a segment.
        return ends.withUnsafeBufferPointer { ends in
            var shard = 0
            while shard < ends.count - 1 && hash >= ends[shard] { shard += 1 }
            return shard
        }
    }

    @inline(__always)
    private static func mix(_ endpoint: Endpoint) -> UInt64 {
        var x = endpoint.address.high &* 0x9E37_79B9_7F4A_7C15 ^ endpoint.address.low ^ (UInt64(endpoint.port) << 48)
        x = (x ^ (x >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return x ^ (x >> 29)
    }
}
