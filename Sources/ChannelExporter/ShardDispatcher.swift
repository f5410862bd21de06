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
/// here), numbers each TCP segment (its ordinal, from 1: `EventOrder.packet` in the shards), and
/// hands it to the shard of its connection (`ShardSplit`: both directions of a connection go to the
/// same one, the same at every run). The reading thread runs one shard itself (`local`), with the
/// segment's bytes where the reader left them; the others' segments are copied into batches, for
/// their workers and for the floating shard, which the reading thread handles too while every worker
/// is behind (`FloatingShard`). The idle sweep one pipeline's reassembler runs before a segment whose
/// time reaches the next sweep's goes to every shard at that segment, as do a capture file's TLS
/// secrets and the end of input.
final class ShardDispatcher: ReplayTarget {
    let configuration: ExporterConfiguration
    /// The shard the reading thread runs, between packets: the smallest part of the connections
    /// (`ShardSplit`), the reading and decoding of every packet being this thread's too.
    let local: ShardPipeline
    let workers: [ShardWorker]
    let floating: FloatingShard
    let split: ShardSplit
    /// One thread drives it (see `Pipeline`): no dynamic exclusivity checks per packet.
    @exclusivity(unchecked) private var decoder = PacketDecoder()
    @exclusivity(unchecked) private var clock: PacketClock
    @exclusivity(unchecked) private var firstPacketTime: Timestamp?
    @exclusivity(unchecked) private var ordinal: UInt64 = 0
    @exclusivity(unchecked) private var sweeps = SweepSchedule()
    private let writers: UnsafeMutablePointer<ShardWriter>
    private var finished = false

    /// `local` is shard 0 of `split`, `workers` (started) the next, `floating` the last;
    /// `configuration` is the whole replay's (its fragment limits are used here, whole).
    init(
        configuration: ExporterConfiguration, local: ShardPipeline, workers: [ShardWorker], floating: FloatingShard,
        split: ShardSplit
    ) {
        precondition(split.shards == workers.count + 2, "the local shard, one a worker, the floating one")
        self.configuration = configuration
        self.local = local
        self.workers = workers
        self.floating = floating
        self.split = split
        clock = PacketClock(forwardLimit: Pipeline.replayForwardStepLimit)
        decoder.tunnels = TunnelSettings(configuration)
        decoder.fragments.limits = FragmentLimits(configuration)
        // The workers' writers, then the floating shard's: `writers[shard - 1]`. When the floating
        // ring is full, the reading thread handles a batch of it rather than wait for a worker.
        writers = UnsafeMutablePointer<ShardWriter>.allocate(capacity: workers.count + 1)
        for (index, worker) in workers.enumerated() { (writers + index).initialize(to: ShardWriter(ring: worker.ring)) }
        (writers + workers.count).initialize(to: ShardWriter(ring: floating.ring, helpingWith: { floating.handleNext(waiting: true) }))
    }

    deinit {
        try? finish()
        writers.deinitialize(count: workers.count + 1)
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
            for writer in 0...workers.count { writers[writer].append(ShardRecord.sweep, ordinal: ordinal, time: segment.timestamp) }
            local.sweep(at: segment.timestamp, ordinal: ordinal)
        }
        let shard = split.shard(of: segment)
        if shard == 0 {
            local.process(segment, ordinal: ordinal)
        } else {
            writers[shard - 1].append(segment, ordinal: ordinal)
        }
        if ordinal & 0x3FF == 0 { helpIfWorkersAreBehind() }
    }

    /// Every 1024 segments: when every worker has a batch waiting beyond the one it handles, this
    /// thread is ahead of them, and handles a batch of the floating shard (if one is there and no
    /// worker is on it). A look at each worker's ring (a lock), and one batch at most.
    @inline(never)
    private func helpIfWorkersAreBehind() {
        for worker in workers where worker.ring.backlog < 2 { return }
        _ = floating.handleNext()
    }

    func addDecryptionSecrets(bytes: UnsafeRawBufferPointer) {
        if ordinal > 0 { secretsAfterFirstSegment = true }
        for writer in 0...workers.count { writers[writer].appendSecrets(bytes, ordinal: ordinal) }
        local.addDecryptionSecrets(bytes: bytes)
    }

    /// Whether TLS secrets came after the first segment (a pcapng Decryption Secrets Block further on):
    /// a secret's age then counts from a key store refresh, which any connection's ClientHello makes, so
    /// one pipeline may drop it for its age sooner than a shard that saw fewer ClientHellos.
    private(set) var secretsAfterFirstSegment = false

    /// Ends every shard at the last packet's time (the same for all, as one pipeline's end) and
    /// waits for the workers.
    func finish() throws {
        guard !finished else { return }
        finished = true
        let time = clock.latestTime ?? .zero
        for writer in 0...workers.count {
            writers[writer].append(ShardRecord.end, ordinal: .max, time: time)
            writers[writer].flush()
        }
        // While the workers end theirs.
        local.finish(at: time)
        floating.handleRest()
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
        statistics.add(local.pipeline.statistics)
        for shard in workers.map(\.shard) + [floating.shard] {
            var part = shard.pipeline.statistics
            part.tlsKeys = TLSKeyStoreStatistics()
            statistics.add(part)
        }
        return statistics
    }
}
