/// The reading thread of a sharded replay: what one pipeline does before its reassembler, and the
/// choice of each segment's shard.
import AMQPObserver
import HTTP1Observer
import PacketCapture
import PacketDecoding
import TCPReassembly
import TLSDecryption

/// Filters (the runner does), clocks and decodes every packet as one pipeline does (tunnels and IP
/// fragments have state across packets, and a fragment carries no ports: they are decoded once,
/// here), numbers each TCP segment (its ordinal, from 1: `EventOrder.packet` in the workers), and
/// copies it into the batch of its shard: both directions of a connection go to the same one (a
/// symmetric hash of the endpoints, with a fixed seed: the same split at every run). The idle
/// sweep one pipeline's reassembler runs before a segment whose time reaches the next sweep's is
/// sent to every shard at that segment, as are a capture file's TLS secrets, and the end of input.
final class ShardDispatcher: ReplayTarget {
    let configuration: ExporterConfiguration
    let workers: [ShardWorker]
    /// One thread drives it (see `Pipeline`): no dynamic exclusivity checks per packet.
    @exclusivity(unchecked) private var decoder = PacketDecoder()
    @exclusivity(unchecked) private var clock: PacketClock
    @exclusivity(unchecked) private var firstPacketTime: Timestamp?
    @exclusivity(unchecked) private var ordinal: UInt64 = 0
    @exclusivity(unchecked) private var sweeps = SweepSchedule()
    private let writers: UnsafeMutablePointer<ShardWriter>
    private let shardCount: UInt64
    private var finished = false

    /// `workers` are started; `configuration` is the whole replay's (its fragment limits are used
    /// here, whole).
    init(configuration: ExporterConfiguration, workers: [ShardWorker]) {
        self.configuration = configuration
        self.workers = workers
        clock = PacketClock(forwardLimit: Pipeline.replayForwardStepLimit)
        decoder.tunnels = TunnelSettings(configuration)
        decoder.fragments.limits = FragmentLimits(configuration)
        shardCount = UInt64(workers.count)
        writers = UnsafeMutablePointer<ShardWriter>.allocate(capacity: workers.count)
        for (index, worker) in workers.enumerated() { (writers + index).initialize(to: ShardWriter(ring: worker.ring)) }
    }

    deinit {
        try? finish()
        writers.deinitialize(count: workers.count)
        writers.deallocate()
    }

    @inline(__always)
    func process(_ packet: CapturedPacket) {
        let time = clock.time(of: packet.timestamp)
        if firstPacketTime == nil { firstPacketTime = time }
        decoder.decode(
            packet.bytes, originalLength: packet.originalLength, linkType: packet.linkType, timestamp: time
        ) { dispatch($0) }
    }

    @inline(__always)
    private func dispatch(_ segment: TCPSegment) {
        ordinal &+= 1
        // One pipeline's reassembler's rule, over every segment (`SweepSchedule`).
        if sweeps.isDue(at: segment.timestamp) {
            for shard in 0..<workers.count { writers[shard].append(ShardRecord.sweep, ordinal: ordinal, time: segment.timestamp) }
        }
        writers[Self.shard(of: segment, among: shardCount)].append(segment, ordinal: ordinal)
    }

    /// The shard of a segment's connection: the same for both directions (the sum of the two
    /// endpoints' mixes), spread evenly over `count` (the high half of a 64-bit product).
    @inline(__always)
    static func shard(of segment: TCPSegment, among count: UInt64) -> Int {
        var x = mix(segment.source) &+ mix(segment.destination)
        x = (x ^ (x >> 32)) &* 0xD6E8_FEB8_6659_FD93
        x ^= x >> 32
        return Int(truncatingIfNeeded: ((x & 0xFFFF_FFFF) &* count) >> 32)
    }

    @inline(__always)
    private static func mix(_ endpoint: Endpoint) -> UInt64 {
        var x = endpoint.address.high &* 0x9E37_79B9_7F4A_7C15 ^ endpoint.address.low ^ (UInt64(endpoint.port) << 48)
        x = (x ^ (x >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return x ^ (x >> 29)
    }

    func addDecryptionSecrets(bytes: UnsafeRawBufferPointer) {
        if ordinal > 0 { secretsAfterFirstSegment = true }
        for shard in 0..<workers.count { writers[shard].appendSecrets(bytes, ordinal: ordinal) }
    }

    /// Whether TLS secrets came after the first segment (a pcapng Decryption Secrets Block further on):
    /// a secret's age then counts from a key store refresh, which any connection's ClientHello makes, so
    /// one pipeline may drop it for its age sooner than a shard that saw fewer ClientHellos.
    private(set) var secretsAfterFirstSegment = false

    /// Ends every shard at the last packet's time (the same for all, as one pipeline's end) and
    /// waits for them.
    func finish() throws {
        guard !finished else { return }
        finished = true
        let time = clock.latestTime ?? .zero
        for shard in 0..<workers.count {
            writers[shard].append(ShardRecord.end, ordinal: .max, time: time)
            writers[shard].flush()
        }
        for worker in workers { worker.join() }
    }

    /// The reading thread's counters (decoding, fragments, clock, times) and the shards' added, the
    /// key store's once (every shard holds every key).
    var statistics: PipelineStatistics {
        var statistics = PipelineStatistics(
            decode: decoder.counters, reassembly: ReassemblyStatistics(), http: HTTPObserverStatistics(),
            amqp: AMQPStatistics(), fragmentedDatagramsHeld: decoder.fragments.heldDatagrams,
            fragmentBytesHeld: decoder.fragments.heldBytes, clock: clock.counters,
            firstPacketTime: firstPacketTime, lastPacketTime: clock.latestTime)
        for (index, worker) in workers.enumerated() {
            var part = worker.pipeline.statistics
            if index > 0 { part.tlsKeys = TLSKeyStoreStatistics() }
            statistics.add(part)
        }
        return statistics
    }
}
