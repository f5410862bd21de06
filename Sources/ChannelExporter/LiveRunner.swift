import ChannelMetrics
import Dispatch
import Logging
import PacketCapture
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `channel-exporter run`: live capture on an interface, metrics served over HTTP.
///
/// The capture thread owns the pipeline and never waits on a scrape: it
/// publishes a statistics snapshot every few thousand packets into a mutex
/// that the scrape handler reads; `ChannelMetrics` renders its own snapshot.
/// SIGTERM/SIGINT stop the capture; SIGHUP re-reads the configuration and,
/// when it is valid, swaps in a new pipeline between two packets (which keeps
/// the old one's metrics and flow table where their settings are unchanged).
public final class LiveRunner: @unchecked Sendable {
    public struct Options: Sendable {
        public var configurationPath: String?
        public var listen: String?
        public var telemetryPath: String?
        public var interface: String?
        public var exchangesPath: String?
        /// Applied to every configuration read (the command-line overrides).
        public var overrides: @Sendable (inout ExporterConfiguration) -> Void

        public init(
            configurationPath: String?, listen: String?, telemetryPath: String?, interface: String?,
            exchangesPath: String?, overrides: @escaping @Sendable (inout ExporterConfiguration) -> Void
        ) {
            self.configurationPath = configurationPath
            self.listen = listen
            self.telemetryPath = telemetryPath
            self.interface = interface
            self.exchangesPath = exchangesPath
            self.overrides = overrides
        }
    }

    private let options: Options
    private let logger: Logger
    private let scrape = Mutex<ScrapeState>(ScrapeState())
    private let reloadRequested = Atomic<Bool>(false)
    /// Set by a scrape: the capture thread publishes fresh statistics at the next packet or idle wake-up.
    private let statisticsWanted = Atomic<Bool>(false)

    private struct ScrapeState: ~Copyable {
        var metrics: ChannelMetrics?
        var statistics: PipelineStatistics?
        var capture: CaptureStatistics?
        var reloads = 0
        var reloadFailures = 0
        var startTime: Double = 0
    }

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT. Throws a one-line error when it cannot start.
    public func run(initial configuration: ExporterConfiguration) throws {
        var config = configuration
        if let interface = options.interface { config.interface = interface }
        let listenText = options.listen ?? config.listen
        guard let listen = ListenAddress(listenText) else {
            throw ExporterError("--web.listen-address \"\(listenText)\" is not host:port, :port or [address]:port")
        }
        let telemetryPath = options.telemetryPath ?? config.telemetryPath

        let exchangeLog = try options.exchangesPath.map { path throws(ExporterError) in try ExchangeLogFile(path: path) }
        // (A write error was reported when it happened; at exit there is nothing more to do about it.)
        defer { try? exchangeLog?.close() }
        var pipeline = try Pipeline(
            configuration: config, exchangeLog: exchangeLog, forwardStepLimit: Pipeline.liveForwardStepLimit)
        let filter = Self.captureFilter(config.bpfFilter, excludingPort: listen.port)
        let source: PacketSource
        do {
            source = try PacketSource.live(
                LiveCaptureOptions(
                    interface: config.interface, filter: filter,
                    snapshotLength: Int32(config.capture.snaplen),
                    // Not immediate mode: there libpcap takes TPACKET_V2, whose fixed slots on an
                    // Ethernet device with offloads hold 65,553 bytes, and cuts the larger
                    // super-packets of BIG TCP (up to 512 KiB); TPACKET_V3's blocks hold them whole.
                    // Packets then wait for a full block or the block timeout, the wake-up
                    // interval (250 ms): nothing here needs them sooner.
                    immediateMode: false,
                    bufferSize: Int32(clamping: config.capture.bufferSizeMiB << 20),
                    promiscuous: config.capture.promiscuous,
                    // An interface that goes away while we run (a pod's veth when the pod dies, a
                    // container's interface while it restarts) is opened again when it is back (within
                    // a second); the process, its counters and its connections stay.
                    reopenDelays: Self.reopenDelays))
        } catch {
            throw ExporterError(error.description)
        }
        // The counters exist (at zero) from the first scrape, even before any packet.
        let initial = pipeline.statistics
        scrape.withLock {
            $0.metrics = pipeline.metrics
            $0.statistics = initial
            $0.startTime = Self.wallClockSeconds()
        }

        let server = try MetricsServer(host: listen.host, port: listen.port, logger: logger) { [self] path, accept in
            respond(path: path, accept: accept, telemetryPath: telemetryPath, source: source)
        }
        defer { server.shutdown() }

        let signals = installSignalHandlers(source: source)
        defer { signals.forEach { $0.cancel() } }
        if let warning = BridgeWarning.message(interface: config.interface, promiscuous: config.capture.promiscuous) {
            logger.warning("\(warning)")
        }
        logger.info(
            "capturing", metadata: ["interface": "\(config.interface)", "filter": "\(filter)", "syscode": "\(config.syscode)"])

        // Statistics are published every 4096 packets, every second of packet time, and at
        // the first packet after a scrape asked for them, so a quiet interface's counters
        // reach the next scrape instead of waiting for thousands of packets. When no packet
        // comes for a wake-up interval, time goes on all the same: idle connections end, and
        // a wanted publication or a reload happens then.
        var sincePublish = 0
        var nextPublish = Int64.min
        // Due at `nextPublish`, or when the wall clock (packets' and ticks' times) was stepped back
        // past the last publication: else nothing would be published, nor the exchange log flushed,
        // until the clock came back (an hour for an hour's step) but when a scrape asks.
        func publishDue(_ time: Int64) -> Bool {
            time >= nextPublish || nextPublish &- time > 2_000_000_000
        }
        // A pipeline's statistics count from the process's start: those of the pipelines reloads
        // replaced are in them (`Pipeline.statistics`), so no counter goes back at a SIGHUP.
        func publish(_ pipeline: Pipeline) {
            let statistics = pipeline.statistics
            scrape.withLock { $0.statistics = statistics }
            exchangeLog?.flush()
        }
        func applyReload() {
            guard reloadRequested.load(ordering: .relaxed) else { return }
            reloadRequested.store(false, ordering: .relaxed)
            // Whatever the configuration, a SIGHUP is also how logrotate says the log was moved away.
            do throws(ExporterError) {
                try exchangeLog?.reopen()
            } catch {
                logger.error("SIGHUP: \(error); the exchange log goes on in the old file")
            }
            if let next = reload(replacing: pipeline, exchangeLog: exchangeLog) {
                config = next.configuration
                pipeline = next
                scrape.withLock { $0.metrics = next.metrics }
                publish(next)
            }
        }
        let summary = try source.run(
            whenIdle: { now in
                pipeline.advanceIdle(to: now)
                if publishDue(now.nanoseconds) || statisticsWanted.load(ordering: .relaxed) {
                    statisticsWanted.store(false, ordering: .relaxed)
                    sincePublish = 0
                    nextPublish = now.nanoseconds &+ 1_000_000_000
                    publish(pipeline)
                }
                applyReload()
            },
            whenCaptureChanges: { [logger] event in
                let interface = config.interface
                switch event {
                case .lost(let detail):
                    logger.error(
                        "capture lost; opening the interface again when it is back (channel_exporter_capture_up 0)",
                        metadata: ["interface": "\(interface)", "reason": "\(detail)"])
                case .reopenFailed(let detail):
                    logger.warning("capture still lost", metadata: ["interface": "\(interface)", "reason": "\(detail)"])
                case .resumed(let seconds):
                    logger.info(
                        "capturing again", metadata: ["interface": "\(interface)", "after": "\(Int(seconds.rounded())) s"])
                }
            }
        ) { packet in
            pipeline.process(packet)
            sincePublish &+= 1
            if sincePublish >= 4096 || publishDue(packet.timestamp.nanoseconds)
                || statisticsWanted.load(ordering: .relaxed)
            {
                statisticsWanted.store(false, ordering: .relaxed)
                sincePublish = 0
                nextPublish = packet.timestamp.nanoseconds &+ 1_000_000_000
                publish(pipeline)
            }
            applyReload()
        }
        pipeline.finish()
        publish(pipeline)
        logger.info("stopped", metadata: ["packets": "\(summary.packets)"])
    }

    /// Reads the configuration again; nil (and the old one kept) when it is invalid.
    /// The series are kept when the metric settings are unchanged, the connections in progress when
    /// the settings that follow connections are (see `Pipeline.init`).
    private func reload(replacing old: Pipeline, exchangeLog: ExchangeLogFile?) -> Pipeline? {
        let current = old.configuration
        guard let path = options.configurationPath else {
            logger.warning("SIGHUP: no --config.file to reload")
            return nil
        }
        do {
            var next = try ConfigurationFile.load(path: path)
            options.overrides(&next)
            if let interface = options.interface { next.interface = interface }
            // The server keeps its address and path too: a new `telemetry_path` was dropped without a word.
            if next.interface != current.interface || next.capture != current.capture || next.listen != current.listen
                || next.telemetryPath != current.telemetryPath
            {
                logger.warning("SIGHUP: interface, capture, listen and telemetry_path settings take effect only after a restart")
            }
            next.interface = current.interface
            next.capture = current.capture
            next.listen = current.listen
            next.telemetryPath = current.telemetryPath
            let pipeline = try Pipeline(
                configuration: next, exchangeLog: exchangeLog, replacing: old, forwardStepLimit: Pipeline.liveForwardStepLimit)
            scrape.withLock { $0.reloads += 1 }
            logger.info(
                "configuration reloaded",
                metadata: [
                    "file": "\(path)",
                    "connections": "\(pipeline.continuesFlows ? "kept" : "dropped (connection settings changed)")",
                ])
            return pipeline
        } catch {
            scrape.withLock { $0.reloadFailures += 1 }
            logger.error("SIGHUP: keeping the old configuration: \(error)")
            return nil
        }
    }

    private func installSignalHandlers(source: PacketSource) -> [any DispatchSourceSignal] {
        let queue = DispatchQueue(label: "channel-exporter.signals")
        var sources = [any DispatchSourceSignal]()
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: number, queue: queue)
            s.setEventHandler { [logger] in
                logger.info("signal \(number): stopping")
                source.stop()
            }
            s.resume()
            sources.append(s)
        }
        signal(SIGHUP, SIG_IGN)
        let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
        hup.setEventHandler { [self] in
            logger.info("SIGHUP: reload requested (applied at the next packet, or within 250 ms on a quiet interface)")
            reloadRequested.store(true, ordering: .relaxed)
        }
        hup.resume()
        sources.append(hup)
        return sources
    }

    private func respond(path: String, accept: String, telemetryPath: String, source: PacketSource) -> ScrapeResponse {
        if path == telemetryPath {
            let format = ExpositionFormat.negotiate(accept: accept.isEmpty ? nil : accept)
            let capture = source.statistics()
            statisticsWanted.store(true, ordering: .relaxed)
            let (metrics, body) = scrape.withLock { state -> (ChannelMetrics?, SelfMetricsInput) in
                (state.metrics, SelfMetricsInput(
                    pipeline: state.statistics, capture: capture, reloads: state.reloads,
                    reloadFailures: state.reloadFailures, startTime: state.startTime))
            }
            var writer = ExpositionWriter(format: format)
            metrics?.write(to: &writer)
            SelfMetrics.write(body, metrics: metrics, to: &writer)
            return ScrapeResponse(contentType: format.contentType, pieces: writer.finishPieces())
        }
        if path == "/" {
            return ScrapeResponse(
                contentType: "text/html; charset=utf-8",
                body: "<html><head><title>channel-exporter</title></head><body><h1>channel-exporter</h1>"
                    + "<p><a href=\"\(telemetryPath)\">Metrics</a></p></body></html>\n")
        }
        return ScrapeResponse(status: .notFound, contentType: "text/plain; charset=utf-8", body: "not found\n")
    }

    /// The configured filter without our own metrics port: the scrapes of `/metrics` are
    /// not the service's traffic and must not be counted as its outgoing calls.
    /// The port is left out behind a hop-by-hop header too (see `ExporterConfiguration.tcpFilter`):
    /// its TCP header starts `ip6[41]` × 8 bytes after the smallest (8-byte) one.
    static func captureFilter(_ filter: String, excludingPort port: Int) -> String {
        guard port > 0 else { return filter }
        let afterHopByHop = "ip6[6] = 0 and ip6[40] = 6 and (ip6[48 + ip6[41] * 8 : 2] = \(port) or ip6[50 + ip6[41] * 8 : 2] = \(port))"
        return "(\(filter)) and not (tcp port \(port) or (\(afterHopByHop)))"
    }

    /// Milliseconds before each attempt to open a lost capture again: 250, doubling to 1000. What
    /// crosses the interface between its return and the next attempt is not seen, and an attempt
    /// on an interface still absent costs one failed `pcap_activate`: a second is the compromise.
    static let reopenDelays: ClosedRange<Int32> = 250...1000

    static func wallClockSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
