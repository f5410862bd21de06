/// One shard of a sharded replay: a flow pipeline on a thread of its own.
import AMQPObserver
import ChannelMetrics
#if canImport(Glibc)
import Glibc
#endif
import HTTP1Observer
import PacketDecoding
import TCPReassembly
import TLSDecryption

/// The flow part of a pipeline (reassembler, protocol observers, TLS decryptor, metrics, exchange
/// log) for the connections of one shard, driven by the segments the reading thread hands it
/// through `ring`: it never sees a packet, only decoded segments with their ordinals, and idle
/// sweeps and the end of input when the reading thread says so, so that every shard acts at the
/// same packet times as one pipeline would.
final class ShardWorker: @unchecked Sendable {  // its parts are used by its thread only, until `join()`
    let ring: ShardRing
    /// Where each output falls in one pipeline's order: the segment (or sweep) being handled.
    let order = EventOrder()
    let metrics: ChannelMetrics
    /// The exchange log's lines and openings (`--exchanges`), for the merge; nil without a log.
    let log: ShardLogWriter?
    private let reassembler: TCPReassembler
    private let http: HTTPObserver
    private let amqp: AMQPObserver
    private let router: ConnectionRouter
    private var tls: TLSDecryptor?
    private let tlsSettings: ExporterConfiguration.TLS
    private var thread = pthread_t()
    private var running = false

    /// Ring buffers: 4 of 256 KiB (about a thousand small segments each): a worker falls a
    /// megabyte behind at most, and each hand-off carries enough segments to make its lock cheap.
    static let bufferSize = 256 << 10
    static let bufferCount = 4

    /// `configuration` holds this shard's share of every global budget (`ShardedReplay.share`).
    init(configuration: ExporterConfiguration, logsExchanges: Bool) throws {
        ring = ShardRing(bufferSize: Self.bufferSize, count: Self.bufferCount)
        metrics = ChannelMetrics(configuration: try MetricsConfiguration(configuration))
        log = logsExchanges ? try ShardLogWriter(order: order) : nil
        let metrics = metrics
        let sink: any HTTPExchangeSink = log.map { ExchangeFanout(metrics: metrics, log: $0) } ?? metrics
        let flow = FlowSettings(configuration)
        http = HTTPObserver(configuration: flow.http, sink: sink)
        amqp = AMQPObserver(configuration: flow.amqp, sink: metrics)
        tlsSettings = configuration.tls
        tls = Pipeline.decryptor(configuration.tls, replacingKeysOf: nil)
        router = ConnectionRouter(amqpPorts: flow.amqpPorts, http: http, amqp: amqp, tls: tls)
        if let log { router.opened = { log.opened($0) } }
        reassembler = TCPReassembler(configuration: flow.reassembly, factory: router)
    }

    deinit { join() }

    /// Starts the worker's thread.
    func start() throws(ExporterError) {
        let context = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(
            &thread, nil,
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
        let reassembler = reassembler
        let order = order
        while true {
            var reader = ShardBatchReader(ring.take())
            var ended = false
            while let (header, body) = reader.next() {
                switch header.kind {
                case ShardRecord.segment:
                    order.packet = header.ordinal
                    reassembler.process(ShardBatchReader.segment(at: body))
                case ShardRecord.sweep:
                    order.packet = header.ordinal
                    order.phase = .sweep
                    reassembler.expireIdle(now: ShardBatchReader.time(at: body))
                    order.phase = .packet
                    order.connection = 0
                case ShardRecord.secrets:
                    addDecryptionSecrets(ShardBatchReader.secrets(at: body))
                default:
                    order.packet = .max
                    order.phase = .sweep
                    reassembler.finish(at: ShardBatchReader.time(at: body))
                    ended = true
                }
            }
            ring.release()
            if ended { return }
        }
    }

    /// As `Pipeline.addDecryptionSecrets`.
    private func addDecryptionSecrets(_ bytes: UnsafeRawBufferPointer) {
        if tls == nil { tls = TLSDecryptor(keys: TLSKeyStore(maxEntries: tlsSettings.maxKeys)) }
        if router.tls == nil { router.tls = tls }
        tls?.keys.add(text: String(decoding: bytes, as: UTF8.self))
    }

    /// Whether this shard reached its share of a global budget: one pipeline might then have reached
    /// the whole, and the replay is redone with one.
    var reachedBudgetShare: Bool {
        let reassembly = reassembler.statistics.limitHits
        return reassembly[.connections] > 0 || reassembly[.bufferedBytesTotal] > 0
            || http.statistics.count(of: .keptBytesLimit) > 0
            || (amqp.statistics.limitHits[.keptBytes] ?? 0) > 0 || (amqp.statistics.limitHits[.outstandingTotal] ?? 0) > 0
            || (tls?.keyStatistics.evicted ?? 0) > 0
    }

    /// The shard's counters (no decoding, no clock: the reading thread's), after `join()`.
    var statistics: PipelineStatistics {
        PipelineStatistics(
            decode: DecodeCounters(), reassembly: reassembler.statistics, http: http.statistics,
            amqp: amqp.statistics, httpKeptBytes: Level(http.keptBytes),
            amqpOutstanding: Level(amqp.outstandingDeliveries), amqpBufferedBytes: Level(amqp.bufferedMethodBytesNow),
            amqpKeptBytes: Level(amqp.keptBytesNow),
            tls: tls?.statistics ?? TLSDecryptionStatistics(), tlsKeys: tls?.keyStatistics ?? TLSKeyStoreStatistics(),
            decryptsTLS: tls != nil)
    }
}
