// The self-metrics' counters across configuration reloads: counters of the process, never going back.
@testable import ChannelExporter
import ChannelMetrics
import PacketCapture
import Testing

/// Replays captures of every kind the self-metrics count (HTTPS with key logs, IP fragments, AMQP)
/// with reloads between two packets, as a SIGHUP does live, and reads the `channel_exporter_*`
/// exposition just before and just after each reload: no counter may go down or vanish. Prometheus
/// takes a counter that goes down for a restart, and `rate()` then counts its whole value again.
@Suite struct ReloadCounterTests {
    static let tls = "http/tls-decrypt/"
    static let files = [
        tls + "tls13-aes128gcm.pcap", tls + "tls12-ecdhe-aes128gcm.pcap", tls + "tls13-resumption.pcap",
        "http/fragments/nodf.pcap", "amqp/two-queues-k2.pcap",
    ]
    static let keylogs = ["tls13-aes128gcm", "tls12-ecdhe-aes128gcm", "tls13-resumption"].map { Fixtures.path(tls + $0 + ".keylog") }

    static func configuration() -> ExporterConfiguration {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [18443, 8080]
        config.amqp.ports = [5682]
        config.tls.keylogFiles = keylogs
        return config
    }

    /// The reloads: each a change of configuration, applied in turn.
    enum Change: String, CaseIterable, CustomTestStringConvertible {
        /// Other key log settings, the same secrets: connections from then on are read with the new ones.
        case keylogs
        /// The key logs taken out of the configuration, then put back.
        case keylogsRemovedThenBack
        /// Other buckets: new metric families, the same flow table.
        case metrics
        /// Another idle timeout: a new flow table.
        case connections

        var testDescription: String { rawValue }

        func configurations(_ config: ExporterConfiguration) -> [ExporterConfiguration] {
            var next = config
            switch self {
            case .keylogs:
                next.tls.keylogFiles.reverse()
                next.tls.maxKeys -= 1
                return [next]
            case .keylogsRemovedThenBack:
                next.tls.keylogFiles = []
                return [next, config]
            case .metrics:
                next.buckets.inner = [1, 10, 100_000]
                return [next]
            case .connections:
                next.limits.idleTimeoutSeconds += 1
                return [next]
            }
        }
    }

    /// The counters (`_total` samples) of the `channel_exporter_*` self-metrics.
    static func counters(_ pipeline: Pipeline) -> [String: Double] {
        let text = SelfMetrics.render(SelfMetricsInput(pipeline: pipeline.statistics), metrics: pipeline.metrics, format: .prometheusText)
        return ExpositionSamples(text, ignoring: []).series.compactMapValues { $0["total"] }
    }

    /// What went down or vanished between two readings, one line each.
    static func decreases(from before: [String: Double], to after: [String: Double]) -> [String] {
        before.keys.sorted().compactMap { key in
            guard let now = after[key] else { return "\(key) vanished (was \(before[key]!))" }
            return now < before[key]! ? "\(key) went from \(before[key]!) to \(now)" : nil
        }
    }

    struct Replay {
        var pipeline: Pipeline
        var packets: Int
        var decreases: [String] = []
    }

    /// Replays `files` through a pipeline with `config`; the reloads of `change` come one after
    /// another, the first after packet `reloadAt`, the next `spacing` packets later.
    static func replay(_ config: ExporterConfiguration, change: Change? = nil, at reloadAt: Int = 0, spacing: Int = 0) throws -> Replay {
        var pending = change?.configurations(config) ?? []
        var pipeline = try Pipeline(configuration: config)
        var packets = 0
        var next = reloadAt
        var decreases: [String] = []
        var failure: (any Error)?
        _ = try PacketSource.files(files.map(Fixtures.path)).run { packet in
            if packets == next, !pending.isEmpty {
                let before = counters(pipeline)
                do { pipeline = try Pipeline(configuration: pending.removeFirst(), replacing: pipeline) } catch { failure = error }
                decreases += Self.decreases(from: before, to: counters(pipeline)).map { "reload after packet \(packets): \($0)" }
                next += spacing
            }
            pipeline.process(packet)
            packets += 1
        }
        if let failure { throw failure }
        pipeline.finish()
        return Replay(pipeline: pipeline, packets: packets, decreases: decreases)
    }

    @Test(arguments: Change.allCases)
    func noCounterGoesDownAtAReload(change: Change) throws {
        let config = Self.configuration()
        let whole = try Self.replay(config)
        let statistics = whole.pipeline.statistics
        // What the captures give, so that each kind of counter has something to lose.
        #expect(statistics.tls.decryptedConnections == 4)
        #expect(statistics.decode.fragments > 0)
        #expect(statistics.amqp.acks > 0)
        #expect(Self.counters(whole.pipeline)["channel_exporter_observations{kind=\"inbound\"}"] ?? 0 > 0)
        for reloadAt in stride(from: 3, to: whole.packets, by: whole.packets / 9) {
            let split = try Self.replay(config, change: change, at: reloadAt, spacing: 40)
            #expect(split.decreases == [], "first reload after packet \(reloadAt)")
        }
    }

    /// Other key log settings with the same secrets: the connections open at the reload go on
    /// being read, those after it are read with the new settings, and the counts are those of the
    /// replay without a reload.
    @Test func aReloadOfTheKeyLogsLosesNoDecryption() throws {
        let config = Self.configuration()
        let whole = try Self.replay(config)
        for reloadAt in stride(from: 1, to: whole.packets, by: 17) {
            let split = try Self.replay(config, change: .keylogs, at: reloadAt)
            #expect(split.pipeline.continuesFlows)
            #expect(split.pipeline.statistics.tls == whole.pipeline.statistics.tls, "reload after packet \(reloadAt)")
            #expect(split.pipeline.statistics.http == whole.pipeline.statistics.http, "reload after packet \(reloadAt)")
        }
    }

    /// With the key logs taken out, connections that begin are TLS, not read; put back, the
    /// connections after are read again, and the counters go on from where they were.
    @Test func keyLogsRemovedThenBack() throws {
        let config = Self.configuration()
        let whole = try Self.replay(config)
        // Removed before the first packet, back in the middle of the first capture's connection
        // (`PacketSource.files` reads the files in the order given: the TLS 1.3 capture's 260 packets first).
        let split = try Self.replay(config, change: .keylogsRemovedThenBack, at: 0, spacing: 130)
        #expect(split.decreases == [])
        let tls = split.pipeline.statistics.tls
        #expect(tls.decryptedConnections == whole.pipeline.statistics.tls.decryptedConnections - 1)
        #expect(split.pipeline.statistics.http.tlsConnections == 1)
        #expect(split.pipeline.statistics.decryptsTLS)
    }
}
