// A configuration reload in the middle of a capture: what it keeps of the flow table.
import ChannelExporter
import PacketCapture
import Testing

/// Replays real captures with a reload after every possible packet, as a SIGHUP between two
/// packets does live, and compares with the replay without a reload.
@Suite struct ReloadFlowTests {
    /// The HTTP fixtures: pipelined requests in flight at most packets, and two keep-alive sessions.
    static let httpFixtures = ["http/pipeline-wrk.pcap", "http/keepalive-requests.pcap"]

    static func httpConfiguration() -> ExporterConfiguration {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [18080, 18081]
        return config
    }

    /// New buckets and a partner table: new metrics, the same way of following connections.
    static func otherMetrics(_ config: ExporterConfiguration) -> ExporterConfiguration {
        var changed = config
        changed.buckets.inner = [1, 10, 100_000]
        changed.buckets.consumer = [1, 10, 100_000]
        changed.partners = []
        return changed
    }

    @Test(arguments: httpFixtures)
    func aReloadOfTheMetricsAloneLosesNoExchange(fixture: String) throws {
        let config = Self.httpConfiguration()
        let whole = try Self.replay(fixture, config)
        let exchanges = whole.last.statistics.http.exchangesComplete
        #expect(exchanges >= 12)
        for reloadAt in 1..<whole.packets {
            let split = try Self.replay(fixture, config, reloadingAt: reloadAt, to: Self.otherMetrics(config))
            #expect(split.last.continuesFlows)
            #expect(split.last.metrics !== split.first.metrics)
            #expect(split.last.statistics.http == whole.last.statistics.http, "reload after packet \(reloadAt)")
            #expect(split.last.statistics.reassembly == whole.last.statistics.reassembly, "reload after packet \(reloadAt)")
            let counted = Self.observations(split.first) + Self.observations(split.last)
            #expect(counted == Self.observations(whole.last), "reload after packet \(reloadAt)")
        }
    }

    /// A change to how connections are followed (here the idle timeout) starts a new flow table,
    /// as before: the exchanges in flight at the reload are lost. Shows the test above can fail.
    @Test func aReloadOfTheConnectionSettingsStartsAfresh() throws {
        let config = Self.httpConfiguration()
        var changed = config
        changed.limits.idleTimeoutSeconds = config.limits.idleTimeoutSeconds + 1
        let whole = try Self.replay("http/pipeline-wrk.pcap", config)
        var lost = 0
        for reloadAt in 1..<whole.packets {
            let split = try Self.replay("http/pipeline-wrk.pcap", config, reloadingAt: reloadAt, to: changed)
            #expect(!split.last.continuesFlows)
            #expect(split.last.metrics === split.first.metrics)
            lost += Self.observations(whole.last) - Self.observations(split.last)
        }
        #expect(lost > 0)
    }

    /// A consumer connection lives for days: a reload must not forget which queue each consumer
    /// tag reads, nor the deliveries awaiting their answer.
    @Test func aReloadOfTheMetricsAloneKeepsTheConsumers() throws {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.amqp.ports = [5682]
        config.amqp.consumerConcurrency = 2
        let fixture = "amqp/two-queues-k2.pcap"
        let whole = try Self.replay(fixture, config)
        #expect(whole.last.statistics.amqp.acks >= 12)
        for reloadAt in stride(from: 1, to: whole.packets, by: 3) {
            let split = try Self.replay(fixture, config, reloadingAt: reloadAt, to: Self.otherMetrics(config))
            #expect(split.last.continuesFlows)
            #expect(split.last.statistics.amqp == whole.last.statistics.amqp, "reload after packet \(reloadAt)")
            let counted = Self.observations(split.first) + Self.observations(split.last)
            #expect(counted == Self.observations(whole.last), "reload after packet \(reloadAt)")
        }
    }

    struct Replay {
        var first: Pipeline
        var last: Pipeline
        var packets: Int
    }

    /// Replays `fixture` through a pipeline with `config`; after packet `reloadAt`, through its
    /// successor with `next` (made as a reload makes it).
    static func replay(
        _ fixture: String, _ config: ExporterConfiguration, reloadingAt reloadAt: Int? = nil, to next: ExporterConfiguration? = nil
    ) throws -> Replay {
        let first = try Pipeline(configuration: config)
        var pipeline = first
        var packets = 0
        var failure: (any Error)?
        _ = try PacketSource.files([Fixtures.path(fixture)]).run { packet in
            if packets == reloadAt, let next {
                do { pipeline = try Pipeline(configuration: next, replacing: pipeline) } catch { failure = error }
            }
            pipeline.process(packet)
            packets += 1
        }
        if let failure { throw failure }
        pipeline.finish()
        return Replay(first: first, last: pipeline, packets: packets)
    }

    /// Observations in every family (histogram counts and counter totals).
    static func observations(_ pipeline: Pipeline) -> Int {
        let samples = ExpositionSamples(pipeline.metrics.render(.prometheusText))
        return samples.series.values.reduce(0) { $0 + Int($1["count"] ?? 0) }
    }
}
