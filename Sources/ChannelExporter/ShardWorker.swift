/// One shard of a sharded replay: a flow pipeline on a thread of its own.
#if canImport(Glibc)
import Glibc
#endif
import TCPReassembly

/// The flow part of a pipeline (reassembler, protocol observers, TLS decryptor, metrics, exchange
/// log) for the connections of one shard, driven by the segments the reading thread hands it
/// through `ring`: it never sees a packet, only decoded segments with their ordinals, and idle
/// sweeps and the end of input when the reading thread says so, so that every shard acts at the
/// same packet times as one pipeline would.
final class ShardWorker: @unchecked Sendable {  // its pipeline is used by its thread only, until `join()`
    let ring: ShardRing
    /// Where each output falls in one pipeline's order: the segment (or sweep) being handled.
    let order: EventOrder
    /// The flow part of a pipeline (its decoder and clock stay unused: the reading thread's work).
    let pipeline: Pipeline
    /// The exchange log's lines and openings (`--exchanges`), for the merge; nil without a log.
    let log: ShardLogWriter?
    private var thread = pthread_t()
    private var running = false

    /// Ring buffers: 4 of 1 MiB (thousands of segments each): a worker falls 4 MiB behind at most,
    /// and a hand-off (a lock, and a wake-up when the worker waited) comes once per thousands of
    /// segments. Measured on the 1M-exchange capture with 2 threads: 64 KiB × 8 took 998 ms (a
    /// third more system time), 256 KiB × 4 802 ms, 1 MiB × 4 757 ms, 4 MiB × 2 762 ms.
    static let bufferSize = 1 << 20
    static let bufferCount = 4

    /// `configuration` holds this shard's share of every global budget (`ShardedReplay.share`).
    init(configuration: ExporterConfiguration, logsExchanges: Bool) throws {
        ring = ShardRing(bufferSize: Self.bufferSize, count: Self.bufferCount)
        let order = EventOrder()
        self.order = order
        let log = logsExchanges ? try ShardLogWriter(order: order) : nil
        self.log = log
        pipeline = try Pipeline(configuration: configuration, exchangeLog: log, order: order)
        if let log { pipeline.connectionsOpened = { log.opened($0) } }
    }

    deinit { join() }

    /// Starts the worker's thread.
    func start() throws(ExporterError) {
        let context = Unmanaged.passRetained(self).toOpaque()
        // The stack the main thread usually has (8 MiB), whatever `ulimit -s` says: a pipeline's
        // recursion (JSON bodies, 512 levels deep at most) must fit as it does on the main thread.
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, 8 << 20)
        let created = pthread_create(
            &thread, &attributes,
            { context in
                let worker = Unmanaged<ShardWorker>.fromOpaque(context!).takeRetainedValue()
                worker.run()
                return nil
            }, context)
        guard created == 0 else {
            Unmanaged<ShardWorker>.fromOpaque(context).release()
            throw ExporterError("cannot start a replay thread: \(String(cString: strerror(created)))")
        }
        running = true
    }

    /// Waits for the thread to end (after the end record); its parts are the caller's from then on.
    func join() {
        guard running else { return }
        running = false
        pthread_join(thread, nil)
    }

    /// Handles batches until the end record.
    private func run() {
        let pipeline = pipeline
        let order = order
        while true {
            var reader = ShardBatchReader(ring.take())
            var ended = false
            while let (header, body) = reader.next() {
                switch header.kind {
                case ShardRecord.segment:
                    order.packet = header.ordinal
                    pipeline.process(ShardBatchReader.segment(at: body))
                case ShardRecord.sweep:
                    // The reassembler marks each connection it closes as the sweep's (`EventOrder.enterSweep`).
                    order.packet = header.ordinal
                    pipeline.sweep(at: ShardBatchReader.time(at: body))
                case ShardRecord.secrets:
                    pipeline.addDecryptionSecrets(bytes: ShardBatchReader.secrets(at: body))
                default:
                    order.packet = .max
                    pipeline.finish(at: ShardBatchReader.time(at: body))
                    ended = true
                }
            }
            ring.release()
            if ended { return }
        }
    }
}
