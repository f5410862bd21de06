/// One shard of a sharded replay: a flow pipeline with what the merge needs, driven by decoded segments.
import PacketDecoding
import TCPReassembly

/// The flow part of a pipeline (reassembler, protocol observers, TLS decryptor, metrics, exchange
/// log) for the connections of one shard. It never sees a packet, only the segments the reading
/// thread decoded with their ordinals, and the idle sweeps and the end of input when the reading
/// thread says so, so that every shard acts at the same packet times as one pipeline would. The
/// reading thread drives one shard itself (`ShardDispatcher.local`), a `ShardWorker` drives one on
/// a thread of its own, and the floating shard's batches are handled by whichever thread has time
/// (`FloatingShard`): by one thread at a time, in order.
final class ShardPipeline {
    /// Where each output falls in one pipeline's order: the segment (or sweep) being handled.
    let order: EventOrder
    /// The flow part of a pipeline (its decoder and clock stay unused: the reading thread's work).
    let pipeline: Pipeline
    /// The exchange log's lines and openings (`--exchanges`), for the merge; nil without a log.
    let log: ShardLogWriter?

    /// `configuration` holds this shard's share of every global budget (`ExporterConfiguration.budgetShare`).
    init(configuration: ExporterConfiguration, logsExchanges: Bool) throws {
        let order = EventOrder()
        self.order = order
        let log = logsExchanges ? try ShardLogWriter(order: order) : nil
        self.log = log
        pipeline = try Pipeline(configuration: configuration, exchangeLog: log, order: order)
        if let log { pipeline.connectionsOpened = { log.opened($0) } }
    }

    /// The segment numbered `ordinal` among all the replay's segments.
    @inline(__always)
    func process(_ segment: TCPSegment, ordinal: UInt64) {
        order.packet = ordinal
        pipeline.process(segment)
    }

    /// An idle sweep before the segment `ordinal`.
    func sweep(at time: Timestamp, ordinal: UInt64) {
        // The reassembler marks each connection it closes as the sweep's (`EventOrder.enterSweep`).
        order.packet = ordinal
        pipeline.sweep(at: time)
    }

    /// TLS secrets a pcapng Decryption Secrets Block carried.
    func addDecryptionSecrets(bytes: UnsafeRawBufferPointer) {
        pipeline.addDecryptionSecrets(bytes: bytes)
    }

    /// The end of input, at the replay's last packet time (the same for every shard).
    func finish(at time: Timestamp) {
        order.packet = .max
        pipeline.finish(at: time)
    }

    /// Handles the records of a batch from the reading thread; whether the end of input was among them.
    func handle(_ batch: ShardRing.Buffer) -> Bool {
        var reader = ShardBatchReader(batch)
        while let (header, body) = reader.next() {
            switch header.kind {
            case ShardRecord.segment:
                process(ShardBatchReader.segment(at: body), ordinal: header.ordinal)
            case ShardRecord.sweep:
                sweep(at: ShardBatchReader.time(at: body), ordinal: header.ordinal)
            case ShardRecord.secrets:
                addDecryptionSecrets(bytes: ShardBatchReader.secrets(at: body))
            default:
                finish(at: ShardBatchReader.time(at: body))
                return true
            }
        }
        return false
    }
}
