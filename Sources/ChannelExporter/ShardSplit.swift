/// How a sharded replay divides its connections among its shards.
import PacketDecoding

/// The division of a sharded replay's connections among its shards, by a hash of a connection's two
/// endpoints, in parts: shard 0, which the reading thread runs between packets
/// (`ShardDispatcher.local`), takes `localWeight` parts, and each worker's shard `workerWeight`.
///
/// The reading thread also reads and decodes every packet and copies the workers' segments: given
/// as many connections as a worker, it would hold the worker back. Measured with two threads on the
/// two-CPU machine of `Benchmarks/README.md` (the reading thread's share of the connections against
/// the replay's time): on the real keep-alive capture a third was best (2/5 and 1/2 were 10 % and
/// 19 % slower), on the real one-request connections a quarter (a third 6 % slower), on the synthetic
/// 1M capture, whose long connections cost more to observe than to read, three sevenths (a third
/// 12 % slower). A connection stays in its shard, so the split is fixed before the first packet:
/// 1 part against 2.
struct ShardSplit: Equatable {
    /// Each shard's parts: the reading thread's, then each worker's.
    let weights: [Int]
    /// The end (exclusive) of each shard's part of the 32-bit hash range.
    private let ends: [UInt64]

    init(threads: Int, localWeight: Int = 1, workerWeight: Int = 2) {
        precondition(threads >= 1 && localWeight >= 1 && workerWeight >= 1, "a part for every shard")
        weights = [localWeight] + Array(repeating: workerWeight, count: threads - 1)
        let total = UInt64(weights.reduce(0, +))
        var ends = [UInt64]()
        var sum: UInt64 = 0
        for weight in weights {
            sum += UInt64(weight)
            ends.append((sum << 32) / total)
        }
        self.ends = ends
    }

    /// The shards.
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
        // A few comparisons (8 shards at most), not a division a segment.
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
