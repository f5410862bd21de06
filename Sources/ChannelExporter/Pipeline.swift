import AMQPObserver
import ChannelMetrics
import HTTP1Observer
import PacketCapture
import PacketDecoding
import TCPReassembly
import TLSDecryption

/// Packets in, metrics out: decoder → reassembler → protocol observers →
/// metrics. One pipeline owns its flow table (until a reload's successor takes
/// it over) and is driven by one thread; nothing in it is global, so flows can
/// later be sharded over several.
///
/// Replay and live capture share this path from `CapturedPacket` on; all time
/// comes from packet timestamps, through a `PacketClock` that keeps it from going back or
/// leaping (a host's clock stepped, recordings concatenated or shifted, packets a little out
/// of order).
public final class Pipeline {
    public let configuration: ExporterConfiguration
    public let metrics: ChannelMetrics
    /// One thread drives a pipeline, so the per-packet state needs no dynamic exclusivity
    /// checks (measured: about 60 instructions a packet for the decoder alone).
    @exclusivity(unchecked) private var decoder = PacketDecoder()
    private let reassembler: TCPReassembler
    private let http: HTTPObserver
    private let amqp: AMQPObserver
    private let router: ConnectionRouter
    /// TLS decryption, once there were keys (`tls.keylog_files`, or secrets a capture file carries:
    /// `addDecryptionSecrets`); kept with the flow table through reloads, which change its key
    /// store (its counters are the process's). The router wraps connections only while there are keys.
    private var tls: TLSDecryptor?
    /// The key logs `tls` reads.
    private let tlsSettings: ExporterConfiguration.TLS
    /// The counters of the pipelines before this one's flow table (reloads that started a new one):
    /// the self-metrics are counters of the process, and must not go back to zero at a SIGHUP.
    private let replaced: PipelineStatistics?
    /// Packet timestamps into the pipeline's time (never back, no leap; see `PacketClock`).
    @exclusivity(unchecked) private var clock: PacketClock
    /// The pipeline's times (the clock's) of the first and the latest packet (the clock keeps the
    /// latest: one store a packet fewer).
    var lastPacketTime: Timestamp? { clock.latestTime }
    @exclusivity(unchecked) private(set) var firstPacketTime: Timestamp?

    /// Whether this pipeline took over the flow table of the pipeline it replaced (see `init`).
    public let continuesFlows: Bool
    /// The settings the flow table was built with: a reload that leaves them alone keeps it.
    private let flowSettings: FlowSettings

    /// `exchangeLog` receives every HTTP exchange (for `--exchanges`), in addition to the metrics.
    /// `previous` is the pipeline this one replaces (a configuration reload): its metrics are
    /// kept when the metric settings did not change, so a reload does not reset the series; its
    /// flow table (connections, requests awaiting their answer, AMQP channels and their consumers,
    /// the counters) is kept when the settings that follow connections did not change, so an
    /// exchange in flight is not lost and a long-lived consumer connection keeps its queues.
    ///
    /// `forwardStepLimit`: a packet further than this past the previous one (or past the last
    /// idle tick) is taken as the clock stepped forward, not as time passing (`PacketClock`).
    /// Nil: `replayForwardStepLimit`, for a replay, where nothing else moves time on; live, idle
    /// ticks come every 250 ms on a quiet interface and `LiveRunner` passes `liveForwardStepLimit`.
    ///
    /// `order`: this pipeline is one shard of a replay split over several (`ShardPipeline`): it is handed
    /// decoded segments, and its outputs are tagged with where one pipeline would have made them.
    public init(
        configuration: ExporterConfiguration, exchangeLog: (any HTTPExchangeSink)? = nil, replacing previous: Pipeline? = nil,
        forwardStepLimit: Duration? = nil, order: EventOrder? = nil
    ) throws {
        self.configuration = configuration
        let metricsConfiguration = try MetricsConfiguration(configuration)
        if let previous, previous.metrics.configuration == metricsConfiguration {
            metrics = previous.metrics
        } else {
            // New families; the counters of what became of the observations go on.
            metrics = ChannelMetrics(configuration: metricsConfiguration, countingOnFrom: previous?.metrics)
        }
        // A shard's series carry where one pipeline would have seen them first (`ChannelMetrics.merged`).
        if let order { metrics.order = order }
        // Without a log the metrics are the sink themselves: through a fan-out, each exchange took one
        // more call (and a test of the absent log) on its way.
        let metrics = metrics
        let sink: any HTTPExchangeSink = exchangeLog.map { ExchangeFanout(metrics: metrics, log: $0) } ?? metrics
        flowSettings = FlowSettings(configuration)
        clock = PacketClock(forwardLimit: forwardStepLimit ?? Self.replayForwardStepLimit)
        if let previous, previous.flowSettings == flowSettings {
            // The exchanges and outcomes still to come, of connections old and new, go to the new sinks.
            decoder = previous.decoder
            // Which tunnels to open is the decoder's only setting; its counters go on.
            decoder.tunnels = TunnelSettings(configuration)
            decoder.fragments.limits = FragmentLimits(configuration)
            reassembler = previous.reassembler
            http = previous.http
            amqp = previous.amqp
            router = previous.router
            // Other key logs: the same decryptor (its counters go on), secrets from the new ones;
            // none: connections that begin from now on are left as TLS.
            tls = previous.tls
            if previous.tlsSettings != configuration.tls {
                tls = Self.decryptor(configuration.tls, replacingKeysOf: previous.tls)
                router.tls = configuration.tls.keylogFiles.isEmpty ? nil : tls
            }
            tlsSettings = configuration.tls
            replaced = previous.replaced
            firstPacketTime = previous.firstPacketTime
            // The connections' times are the old clock's: go on with its offset (and its counters,
            // which go on with the flow table's).
            clock = previous.clock
            http.replaceSink(sink)
            amqp.replaceSink(metrics)
            continuesFlows = true
            return
        }
        decoder.tunnels = TunnelSettings(configuration)
        decoder.fragments.limits = FragmentLimits(configuration)
        http = HTTPObserver(configuration: flowSettings.http, sink: sink)
        amqp = AMQPObserver(configuration: flowSettings.amqp, sink: metrics)
        tlsSettings = configuration.tls
        tls = Self.decryptor(configuration.tls, replacingKeysOf: nil)
        router = ConnectionRouter(amqpPorts: flowSettings.amqpPorts, http: http, amqp: amqp, tls: tls)
        // A shard: its outputs ordered, its sweeps the driver's (at one pipeline's segments), its NAT
        // copy detector's table uses kept for the audit.
        reassembler = TCPReassembler(
            configuration: flowSettings.reassembly, factory: router, order: order, sweepsOnItsOwn: order == nil,
            recordsNATTableUses: order != nil)
        // The old flow table goes, with its connections; what it counted stays in the counters.
        replaced = previous?.statistics.carriedOver
        continuesFlows = false
    }

    /// The per-packet path.
    @inline(__always)
    public func process(_ packet: CapturedPacket) {
        let time = clock.time(of: packet.timestamp)
        if firstPacketTime == nil { firstPacketTime = time }
        let reassembler = reassembler
        decoder.decode(
            packet.bytes, originalLength: packet.originalLength, linkType: packet.linkType, timestamp: time
        ) { reassembler.process($0) }
    }

    /// A shard's path (`ShardPipeline`): a segment the reading thread decoded.
    @inline(__always)
    func process(_ segment: TCPSegment) {
        reassembler.process(segment)
    }

    /// A shard's idle sweep, at the time the reading thread found one pipeline's reassembler sweeps.
    func sweep(at time: Timestamp) {
        reassembler.expireIdle(now: time)
    }

    /// A shard's end of input, at the replay's last packet time (the same for every shard).
    func finish(at time: Timestamp) {
        reassembler.finish(at: time)
    }

    /// A shard's connections opened, by id (`ShardLogWriter`, for the exchange log's renumbering).
    var connectionsOpened: ((UInt64) -> Void)? {
        get { router.opened }
        set { router.opened = newValue }
    }

    /// Whether a bound over all connections ever held anything back or was passed (in a shard: its
    /// share, `ExporterConfiguration.budgetShare`): the reassembler's connections, buffered bytes and
    /// NAT candidates, what the HTTP and AMQP observers keep, TLS ciphertext held, a family's series
    /// or label bytes. While no shard reached its share, one pipeline reached no whole either.
    var reachedGlobalBudget: Bool {
        reassembler.statistics.globalBudgetHits > 0 || http.reachedGlobalBudget || amqp.reachedGlobalBudget
            || tls?.reachedGlobalBudget == true || metrics.statistics().seriesRefused.values.contains { $0 > 0 }
    }

    /// A shard's NAT copy detector's table uses (`NATTableUse`); nil when too many to keep.
    var natTableUses: [NATTableUse]? { reassembler.natTableUses }

    /// Live: a forward jump of packet time past this is the host's clock stepped. Idle ticks come
    /// every 250 ms on a quiet interface, so time passing never shows such a jump; 5 s leaves room
    /// for a capture block held back and a busy machine.
    public static let liveForwardStepLimit = Duration.seconds(5)

    /// Replay: a recording in which nothing at all happens for this long cannot be told from a
    /// clock stepped forward, and is taken as one (counted). Ten minutes: far more than the pauses
    /// of real traffic, which an idle timeout set short must still see (`client-go.pcap`: a pooled
    /// connection idle 6 s, expired with `idle_timeout_seconds: 5`), and less than the hour's step
    /// of a clock set to another zone or an `editcap -t 3600`.
    public static let replayForwardStepLimit = Duration.seconds(600)

    /// Live, when no packet came for a while: time goes on without packets. Connections idle for
    /// the idle timeout end now (their unanswered requests are reported) and old holes are given
    /// up, as the next packet would have done had one come at `now`. Nothing happens before the
    /// first packet or when `now` is not past the last packet's time. `now` is the wall clock
    /// (the one packets are stamped with): it goes through the packet clock, so a step of the
    /// host's clock between packets is taken as one there too.
    public func advanceIdle(to now: Timestamp) {
        guard let time = clock.idleTime(of: now) else { return }
        decoder.expireFragments(now: time)
        reassembler.expireIdle(now: time)
    }

    /// A decryptor reading the key logs of `settings`: `previous` with a new key store (an empty one
    /// without key logs: its secrets are let go), or a new decryptor; nil without key logs or `previous`.
    private static func decryptor(_ settings: ExporterConfiguration.TLS, replacingKeysOf previous: TLSDecryptor?) -> TLSDecryptor? {
        guard !settings.keylogFiles.isEmpty || previous != nil else { return nil }
        let keys = TLSKeyStore(files: settings.keylogFiles, maxEntries: settings.maxKeys)
        guard let previous else { return TLSDecryptor(keys: keys, limits: TLSDecryptionLimits(settings)) }
        previous.replaceKeys(with: keys)
        return previous
    }

    /// Adds TLS secrets in NSS key log form (a pcapng Decryption Secrets Block's): connections
    /// that begin from now on are read with them.
    public func addDecryptionSecrets(_ text: String) {
        if tls == nil { tls = TLSDecryptor(keys: TLSKeyStore(maxEntries: tlsSettings.maxKeys), limits: TLSDecryptionLimits(tlsSettings)) }
        if router.tls == nil { router.tls = tls }
        tls?.keys.add(text: text)
    }

    /// End of input: every open connection ends (`captureEnded`), pending requests are reported.
    public func finish() {
        reassembler.finish(at: lastPacketTime ?? .zero)
    }

    /// Counters of every stage, for the replay summary and the self-metrics: since the process
    /// began (those of the flow tables reloads replaced added), the gauges of this one.
    public var statistics: PipelineStatistics {
        var statistics = PipelineStatistics(
            decode: decoder.counters, reassembly: reassembler.statistics, http: http.statistics,
            amqp: amqp.statistics, httpKeptBytes: Level(http.keptBytes),
            amqpOutstanding: Level(amqp.outstandingDeliveries), amqpBufferedBytes: Level(amqp.bufferedMethodBytesNow),
            amqpKeptBytes: Level(amqp.keptBytesNow),
            fragmentedDatagramsHeld: decoder.fragments.heldDatagrams, fragmentBytesHeld: decoder.fragments.heldBytes,
            clock: clock.counters,
            tls: tls?.statistics ?? TLSDecryptionStatistics(), tlsKeys: tls?.keyStatistics ?? TLSKeyStoreStatistics(),
            decryptsTLS: tls != nil,
            firstPacketTime: firstPacketTime, lastPacketTime: lastPacketTime)
        if let replaced { statistics.add(replaced) }
        return statistics
    }
}

/// Everything the flow table's parts (reassembler, protocol observers, router) are built from.
private struct FlowSettings: Equatable {
    var reassembly: ReassemblyConfiguration
    var http: HTTPObserverConfiguration
    var amqp: AMQPObserverConfiguration
    var amqpPorts: Set<UInt16>

    init(_ configuration: ExporterConfiguration) {
        reassembly = ReassemblyConfiguration(configuration)
        http = HTTPObserverConfiguration(configuration)
        amqp = AMQPObserverConfiguration(configuration)
        amqpPorts = Set(configuration.amqp.ports)
    }
}

/// A quantity a bound holds down (bytes kept, deliveries awaiting their answer): how much is held
/// now, and the most held at once.
public struct Level: Sendable, Hashable {
    public var now = 0
    public var peak = 0

    public init(now: Int = 0, peak: Int = 0) {
        self.now = now
        self.peak = peak
    }

    init(_ level: (now: Int, peak: Int)) {
        self.init(now: level.now, peak: level.peak)
    }

    /// Adds another pipeline's (one a reload replaced): what both hold, the higher peak.
    mutating func add(_ other: Level) {
        now &+= other.now
        peak = Swift.max(peak, other.peak)
    }
}

/// Every stage's counters at one moment (a value: safe to hand to another thread).
public struct PipelineStatistics: Sendable {
    public var decode: DecodeCounters
    public var reassembly: ReassemblyStatistics
    public var http: HTTPObserverStatistics
    public var amqp: AMQPStatistics
    /// Bytes the HTTP observer's connections keep (`HTTPObserver.keptBytes`).
    public var httpKeptBytes = Level()
    /// Unanswered deliveries the AMQP observer keeps (`AMQPObserver.outstandingDeliveries`).
    public var amqpOutstanding = Level()
    /// Bytes of AMQP method frames split over segments (`AMQPObserver.bufferedMethodBytesNow`).
    public var amqpBufferedBytes = Level()
    /// Bytes the AMQP observer's channels keep (`AMQPObserver.keptBytesNow`).
    public var amqpKeptBytes = Level()
    /// IP datagrams being reassembled from fragments now, and the bytes held for them as
    /// `limits.max_fragment_bytes_total` counts them (`FragmentReassembler.heldDatagrams`, `heldBytes`).
    public var fragmentedDatagramsHeld = 0
    public var fragmentBytesHeld = 0
    /// Packets stamped back in time and the clock steps taken (`PacketClock`).
    public var clock = PacketClockCounters()
    /// TLS decryption's counters and its key store's (zero without keys).
    public var tls = TLSDecryptionStatistics()
    public var tlsKeys = TLSKeyStoreStatistics()
    /// Whether TLS was decrypted (keys configured or carried by a capture file) at any time in the
    /// process: the `tls_*` decryption counters are served from then on.
    public var decryptsTLS = false
    public var firstPacketTime: Timestamp?
    public var lastPacketTime: Timestamp?

    /// What a pipeline replaced by a reload had counted, to add to its successor's so that the
    /// self-metrics' counters go on from where they were: every counter, none of the gauges
    /// (its connections and buffered bytes went with it).
    var carriedOver: PipelineStatistics {
        var carried = self
        carried.reassembly.connectionsActive = 0
        carried.reassembly.bufferedBytes = 0
        carried.httpKeptBytes.now = 0
        carried.amqpOutstanding.now = 0
        carried.amqpBufferedBytes.now = 0
        carried.amqpKeptBytes.now = 0
        carried.fragmentedDatagramsHeld = 0
        carried.fragmentBytesHeld = 0
        carried.tlsKeys.held = 0
        return carried
    }

    /// Adds another pipeline's statistics (a pipeline a reload replaced: its `carriedOver`).
    mutating func add(_ other: PipelineStatistics) {
        decode.add(other.decode)
        reassembly.add(other.reassembly)
        http.add(other.http)
        amqp.add(other.amqp)
        httpKeptBytes.add(other.httpKeptBytes)
        amqpOutstanding.add(other.amqpOutstanding)
        amqpBufferedBytes.add(other.amqpBufferedBytes)
        amqpKeptBytes.add(other.amqpKeptBytes)
        fragmentedDatagramsHeld += other.fragmentedDatagramsHeld
        fragmentBytesHeld += other.fragmentBytesHeld
        clock.add(other.clock)
        tls.add(other.tls)
        tlsKeys.add(other.tlsKeys)
        decryptsTLS = decryptsTLS || other.decryptsTLS
        firstPacketTime = [firstPacketTime, other.firstPacketTime].compactMap { $0 }.min()
        lastPacketTime = [lastPacketTime, other.lastPacketTime].compactMap { $0 }.max()
    }
}

/// Sends each exchange to the metrics and to the exchange log (`--exchanges`).
final class ExchangeFanout: HTTPExchangeSink {
    let metrics: ChannelMetrics
    let log: any HTTPExchangeSink

    init(metrics: ChannelMetrics, log: any HTTPExchangeSink) {
        self.metrics = metrics
        self.log = log
    }

    func observe(_ exchange: HTTPExchange) {
        metrics.observe(exchange)
        log.observe(exchange)
    }

    func observe(_ exchange: HTTPExchange, responseBody: UnsafeRawBufferPointer) {
        metrics.observe(exchange, responseBody: responseBody)
        log.observe(exchange, responseBody: responseBody)
    }
}
