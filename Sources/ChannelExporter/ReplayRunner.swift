import ChannelMetrics
import PacketCapture
import PacketDecoding

/// What a replay produced.
public struct ReplayResult: Sendable {
    public var files: [String]
    public var statistics: PipelineStatistics
    public var packets: UInt64
    public var bytes: UInt64
    /// Wall-clock time spent, seconds.
    public var elapsed: Double
    /// Files that ended mid-record (everything before the cut was processed).
    public var truncatedFiles: [TruncatedFile]
    /// Packets stamped earlier than a packet before them, whatever the file format
    /// (`PacketClock`; in pcapng files of several interfaces, those the reader's window could not
    /// put back in order).
    public var packetsBackInTime = 0
    /// Packets of pcapng interfaces whose link type is not decoded, skipped.
    public var skippedPackets = 0
    /// Packets `capture.filter` left out (`ReplayFilter`; not in `packets`); nil without one.
    public var filteredPackets: UInt64?
    /// `files` is not the order they were given in: they were sorted by their first packet's time.
    public var reordered = false
    /// Each file's first and latest packet times, in `files`' order.
    public var fileSpans: [FileSpan] = []
    
    public var packetsPerSecond: Double { elapsed > 0 ? Double(packets) / elapsed : 0 }
}

/// What a replay's reading loop hands the packets to: one pipeline, or the shards of a sharded replay
/// (`ShardDispatcher`). The loop is generic over it, specialised for each: no dynamic dispatch per packet.
protocol ReplayTarget: AnyObject {
    var configuration: ExporterConfiguration { get }
    func process(_ packet: CapturedPacket)
    /// A pcapng Decryption Secrets Block's TLS key log lines.
    func addDecryptionSecrets(bytes: UnsafeRawBufferPointer)
    /// End of input.
    func finish() throws
    /// Every stage's counters, after `finish()`.
    var statistics: PipelineStatistics { get }
}

extension Pipeline: ReplayTarget {
    func addDecryptionSecrets(bytes: UnsafeRawBufferPointer) {
        addDecryptionSecrets(String(decoding: bytes, as: UTF8.self))
    }
}

/// Replays capture files through one pipeline, deterministically (time comes from packets).
public enum ReplayRunner {
    /// Runs `given` through `pipeline` in the order of their first packets' times
    /// (`PacketSource.inTimeOrder`: rotated files come out of a shell glob in name order), the
    /// packets `capture.filter` takes only, as live (`ReplayFilter`);
    /// `progress` is called about every 64k packets with the packets and bytes read so far.
    public static func run(
        files given: [String], pipeline: Pipeline, progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> ReplayResult {
        try run(files: given, target: pipeline, progress: progress)
    }

    /// The reading loop, for one pipeline or the shards' dispatcher (beside `workers` threads).
    static func run<Target: ReplayTarget>(
        files given: [String], target: Target, workers: Int = 0, progress: ((UInt64, UInt64) -> Void)?
    ) throws -> ReplayResult {
        let clock = ContinuousClock()
        let start = clock.now
        var packets: UInt64 = 0
        var bytes: UInt64 = 0
        let files = try PacketSource.inTimeOrder(given)
        let source = try PacketSource.files(files, besideBusyThreads: workers)
        // pcapng Decryption Secrets Blocks of TLS key log lines ("TLSK").
        source.decryptionSecrets = { type, bytes in
            guard type == 0x544C_534B else { return }
            target.addDecryptionSecrets(bytes: bytes)
        }
        let filter = ReplayFilter(target.configuration)
        let summary = try source.run { packet in
            if let filter, try !filter.accepts(packet) { return }
            target.process(packet)
            packets &+= 1
            bytes &+= UInt64(packet.bytes.count)
            if let progress, packets & 0xFFFF == 0 { progress(packets, bytes) }
        }
        try target.finish()
        let statistics = target.statistics
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return ReplayResult(
            files: files, statistics: statistics, packets: packets, bytes: bytes, elapsed: seconds,
            truncatedFiles: summary.truncatedFiles, packetsBackInTime: Int(statistics.clock.packetsBackInTime),
            skippedPackets: summary.skippedPackets, filteredPackets: filter?.rejected, reordered: files != given,
            fileSpans: summary.fileSpans)
    }
}
