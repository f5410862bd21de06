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
    /// Packets stamped earlier than the one before them in their file (`CaptureSummary`).
    public var packetsBackInTime = 0
    /// Packets of pcapng interfaces whose link type is not decoded, skipped.
    public var skippedPackets = 0
    
    public var packetsPerSecond: Double { elapsed > 0 ? Double(packets) / elapsed : 0 }
}

/// Replays capture files through one pipeline, deterministically (time comes from packets).
public enum ReplayRunner {
    /// Runs `files` in order through `pipeline`; `progress` is called about every 64k packets
    /// with the packets and bytes read so far.
    public static func run(
        files: [String], pipeline: Pipeline, progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> ReplayResult {
        let clock = ContinuousClock()
        let start = clock.now
        var packets: UInt64 = 0
        var bytes: UInt64 = 0
        let source = try PacketSource.files(files)
        let summary = try source.run { packet in
            pipeline.process(packet)
            packets &+= 1
            bytes &+= UInt64(packet.bytes.count)
            if let progress, packets & 0xFFFF == 0 { progress(packets, bytes) }
        }
        pipeline.finish()
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return ReplayResult(
            files: files, statistics: pipeline.statistics, packets: packets, bytes: bytes, elapsed: seconds,
            truncatedFiles: summary.truncatedFiles, packetsBackInTime: summary.packetsBackInTime,
            skippedPackets: summary.skippedPackets)
    }
}
