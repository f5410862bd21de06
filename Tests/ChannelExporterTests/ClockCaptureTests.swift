import ChannelExporter
import Foundation
import HTTP1Observer
import PacketCapture
import PacketDecoding
import Testing

/// `captures/http/clock/`: one real recording (requests sessions open all along, a slow call in flight at
/// 2.2 s) and copies of it whose timestamps jump as real ones do (`make-clock-fixtures.sh`). Each copy
/// must give the recording's exchanges, no negative latency, no connection ended by a leap of time, and
/// the counts of `clock.expected.json` (a second witness of the clock's rule, in Python).
@Suite struct ClockCaptureTests {
    struct Described: Decodable {
        struct Clock: Decodable, Equatable {
            var packets_back_in_time: UInt64
            var steps_back: UInt64
            var steps_forward: UInt64
            var returns_to_previous_clock: UInt64
        }
        struct File: Decodable {
            var file: String
            var packets: Int
            var clock: Clock
        }
        var files: [File]
    }

    static let described: [String: Described.File] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("http/clock/clock.expected.json")))
        let files = try! JSONDecoder().decode(Described.self, from: data).files
        return Dictionary(uniqueKeysWithValues: files.map { ($0.file, $0) })
    }()

    static let copies = ["step-back.pcap", "step-back-30s.pcap", "step-forward.pcap", "zero.pcap", "garbage.pcap", "reordered.pcap"]

    struct Replayed {
        var result: ReplayResult
        var exchanges: [HTTPExchange]
        var exposition: String
    }

    static func replay(_ files: [String]) throws -> Replayed {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [18081]
        let sink = TsharkCrossCheckTests.ExchangeCollector()
        let pipeline = try Pipeline(configuration: config, exchangeLog: sink)
        let result = try ReplayRunner.run(files: files.map { Fixtures.path("http/clock/" + $0) }, pipeline: pipeline)
        return Replayed(result: result, exchanges: sink.exchanges, exposition: pipeline.metrics.render(.prometheusText))
    }

    /// What identifies an exchange whatever its times and the order connections opened in: client,
    /// request line, status.
    static func pairs(_ exchanges: [HTTPExchange]) -> [String] {
        exchanges.map { "\($0.client) \($0.request?.method ?? "-") \($0.request?.target ?? "-") \($0.response?.status ?? 0)" }.sorted()
    }

    static func innerCount(_ exposition: String) -> Double {
        exposition.split(separator: "\n").filter { $0.hasPrefix("A123010101_inner_metrics_count{") }
            .compactMap { Double($0.split(separator: " ").last!) }.reduce(0, +)
    }

    static func innerSum(_ exposition: String) -> Double {
        exposition.split(separator: "\n").filter { $0.hasPrefix("A123010101_inner_metrics_sum{") }
            .compactMap { Double($0.split(separator: " ").last!) }.reduce(0, +)
    }

    @Test func theRecordingItself() throws {
        let base = try Self.replay(["clock.pcap"])
        #expect(base.exchanges.count == 17)
        #expect(base.result.statistics.clock == PacketClockCounters())
        let clientLog = try String(contentsOfFile: Fixtures.path("http/clock/clock.client.jsonl"), encoding: .utf8)
        #expect(clientLog.split(separator: "\n").count == 17)
    }

    /// Before (session 17, main's build): step-back gave an `_sum` of −3,596,784 ms (one latency of
    /// −3,600 s observed into the histogram), step-forward two connections expired at the step, a
    /// request without response and a response without request (16 exchanges), garbage 6 expired
    /// connections and an `_sum` of 2.6·10¹² ms.
    @Test(arguments: copies)
    func aCopyWithJumpingTimestampsGivesTheRecordingsExchanges(_ file: String) throws {
        let base = try Self.replay(["clock.pcap"])
        let copy = try Self.replay([file])
        #expect(Self.pairs(copy.exchanges) == Self.pairs(base.exchanges))
        let t = copy.result.statistics.reassembly
        #expect(t.connectionsExpired == 0 && t.connectionsOpened == base.result.statistics.reassembly.connectionsOpened)
        let h = copy.result.statistics.http
        #expect(h.responsesWithoutRequest == 0 && h.requestsWithoutResponse == 0)
        for exchange in copy.exchanges {
            let times = [exchange.requestFirstByte, exchange.requestLastByte, exchange.responseFirstByte, exchange.responseLastByte]
                .compactMap { $0 }
            #expect(times == times.sorted(), "\(exchange.request?.target ?? "-"): times go back")
        }
        #expect(Self.innerCount(copy.exposition) == 17)
        // Never more than the recording's latencies, never below zero; the call in flight across
        // a step loses the time between the packets on either side of it, nothing else.
        let sum = Self.innerSum(copy.exposition), baseSum = Self.innerSum(base.exposition)
        #expect(sum >= 0 && sum <= baseSum + 1)
        if file.hasPrefix("step") || file == "reordered.pcap" { #expect(sum > baseSum - 500) }
        // The counts the Python witness gives, here and in the summary.
        let expected = try #require(Self.described[file])
        let clock = copy.result.statistics.clock
        #expect(
            Described.Clock(
                packets_back_in_time: clock.packetsBackInTime, steps_back: clock.stepsBack, steps_forward: clock.stepsForward,
                returns_to_previous_clock: clock.returnsToPreviousClock) == expected.clock)
        #expect(copy.result.packetsBackInTime == Int(expected.clock.packets_back_in_time))
        #expect(copy.result.packets == UInt64(expected.packets))
    }

    /// `mergecap -a` of the recording with itself: time goes back at the seam (one step, counted),
    /// the second half is read as the first was.
    @Test func concatenatedRecordings() throws {
        let base = try Self.replay(["clock.pcap"])
        let both = try Self.replay(["concatenated.pcap"])
        #expect(both.exchanges.count == 2 * base.exchanges.count)
        #expect(both.result.statistics.clock.stepsBack == 1 && both.result.packetsBackInTime == 1)
        #expect(abs(Self.innerSum(both.exposition) - 2 * Self.innerSum(base.exposition)) < 1)
        let summary = ReplaySummary.json(both.result)
        #expect(summary.contains("\"packets_back_in_time\":1"))
        #expect(summary.contains("\"clock_steps\":{\"back\":1,\"forward\":0,\"previous\":0}"))
        #expect(ReplaySummary.text(both.result).contains("jumped 1 times back"))
    }
}

/// `amqp-step-back.pcap` / `amqp-step-forward.pcap`: `captures/amqp/channels-interleaved.pcap` (pika
/// consumers on three channels, 30 answers) with the rest shifted by ∓3600 s from its middle packet,
/// while deliveries are outstanding. Before (session 17, main's build): back, an `_sum` of
/// −10,791,797 ms (three answers timed −3,600 s); forward, 27 answers (the connection idled out at the
/// step, its deliveries lost).
@Suite struct AMQPClockStepTests {
    static func replay(_ file: String) throws -> (count: Double, sum: Double, PipelineStatistics) {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.amqp.ports = [5682]
        let pipeline = try Pipeline(configuration: config)
        let result = try ReplayRunner.run(files: [Fixtures.path(file)], pipeline: pipeline)
        let lines = pipeline.metrics.render(.prometheusText).split(separator: "\n")
        func total(_ prefix: String) -> Double {
            lines.filter { $0.hasPrefix(prefix) }.compactMap { Double($0.split(separator: " ").last!) }.reduce(0, +)
        }
        return (total("A123010101_consumer_metrics_count{"), total("A123010101_consumer_metrics_sum{"), result.statistics)
    }

    @Test(arguments: ["amqp-step-back.pcap", "amqp-step-forward.pcap"])
    func consumerAnswersAcrossAStep(_ file: String) throws {
        let base = try Self.replay("amqp/channels-interleaved.pcap")
        let stepped = try Self.replay("http/clock/" + file)
        #expect(base.count == 30 && stepped.count == base.count)
        // The answers in flight lose the time between the packets on either side of the step.
        #expect(stepped.sum >= 0 && stepped.sum <= base.sum + 1 && stepped.sum > base.sum - 50)
        #expect(stepped.2.reassembly.connectionsExpired == 0)
        #expect(stepped.2.clock.stepsBack + stepped.2.clock.stepsForward == 1)
    }
}

/// pcapng of two interfaces whose clocks disagree by 10 s (the recording's connections taken in turn,
/// in the recording's order; the reader's 2 s window cannot put them in order). Each clock keeps its
/// offset. The first turn from the clock behind to the one ahead looks like 10 s passing (nothing tells
/// them apart then: the calls in flight take 10 s more, once); every later turn goes back to the
/// other offset. A first version, with one offset, took every turn one way for a step back and the
/// turn after it for 10 s passing, so time ran away by 10 s at every second turn: the committed
/// copies' inner `_sum` grew to 27,181 ms (behind) and 18,611 ms (ahead) from the recording's 3,216 ms.
@Suite struct SkewedInterfaceClockTests {
    @Test(arguments: ["skewed-behind.pcapng", "skewed-ahead.pcapng"])
    func interfacesWhoseClocksDisagreeEachKeepTheirOffset(_ file: String) throws {
        let base = try ClockCaptureTests.replay(["clock.pcap"])
        let skewed = try ClockCaptureTests.replay([file])
        #expect(ClockCaptureTests.pairs(skewed.exchanges) == ClockCaptureTests.pairs(base.exchanges))
        #expect(skewed.result.statistics.reassembly.connectionsExpired == 0)
        let clock = skewed.result.statistics.clock
        #expect(clock.stepsBack == 1 && clock.stepsForward == 0 && clock.returnsToPreviousClock > 0)
        // The pipeline's time spans the recording and one turn's 10 s at most.
        func span(_ r: ClockCaptureTests.Replayed) -> Int64 {
            r.result.statistics.lastPacketTime! - r.result.statistics.firstPacketTime!
        }
        #expect(span(skewed) <= span(base) + 10_500_000_000)
        #expect(ClockCaptureTests.innerSum(skewed.exposition) >= ClockCaptureTests.innerSum(base.exposition) - 5)
    }
}

/// Live, time also comes from idle ticks (the wall clock, every 250 ms on a quiet interface:
/// `Pipeline.advanceIdle`). The host's clock cannot be stepped on a shared machine, so these feed the
/// recording and ticks whose times are stepped, through the pipeline's own seams.
@Suite struct LiveClockStepTests {
    static let second: Int64 = 1_000_000_000

    /// The recording's packets up to `upTo` (seconds after its first), each shifted by `shift`.
    static func feed(_ pipeline: Pipeline, from: Double = 0, upTo: Double, shift: Int64 = 0) throws -> Timestamp {
        let source = try PacketSource.files([Fixtures.path("http/clock/clock.pcap")])
        var first: Int64?
        var last = Timestamp.zero
        _ = try source.run { packet in
            let t = packet.timestamp.nanoseconds
            if first == nil { first = t }
            let at = Double(t - first!) / 1e9
            guard at >= from && at < upTo else { return }
            var shifted = packet
            shifted.timestamp = Timestamp(nanoseconds: t + shift)
            pipeline.process(shifted)
            last = shifted.timestamp
        }
        return last
    }

    static func pipeline(idleSeconds: Double) throws -> (Pipeline, TsharkCrossCheckTests.ExchangeCollector) {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [18081]
        config.limits.idleTimeoutSeconds = idleSeconds
        let sink = TsharkCrossCheckTests.ExchangeCollector()
        return (try Pipeline(configuration: config, exchangeLog: sink, forwardStepLimit: Pipeline.liveForwardStepLimit), sink)
    }

    /// The clock stepped back an hour while the interface is quiet: the ticks still end idle
    /// connections after the idle timeout. Before: the ticks were all before the last packet's time, and
    /// nothing ended for an hour.
    @Test func aStepBackOnAQuietInterfaceStillEndsIdleConnections() throws {
        let (pipeline, _) = try Self.pipeline(idleSeconds: 10)
        let last = try Self.feed(pipeline, upTo: 2.2)
        #expect(pipeline.statistics.reassembly.connectionsActive > 0)
        var now = last.nanoseconds - 3600 * Self.second
        for _ in 0..<(4 * 12) {
            now += Self.second / 4
            pipeline.advanceIdle(to: Timestamp(nanoseconds: now))
        }
        let s = pipeline.statistics
        #expect(s.reassembly.connectionsActive == 0 && s.reassembly.connectionsExpired > 0)
        #expect(s.clock.stepsBack == 1)
    }

    /// The clock stepped forward an hour while the interface is quiet (a tick an hour ahead), then the
    /// connections go on: nothing expired, every exchange read. Before: every connection ended at the
    /// tick, the slow call in flight was a request without response and its answer a response without
    /// request.
    @Test func aStepForwardOnAQuietInterfaceEndsNothing() throws {
        let (pipeline, sink) = try Self.pipeline(idleSeconds: 300)
        let last = try Self.feed(pipeline, upTo: 2.2)
        pipeline.advanceIdle(to: last + 3600 * Self.second)
        _ = try Self.feed(pipeline, from: 2.2, upTo: 1e9, shift: 3600 * Self.second)
        pipeline.finish()
        let s = pipeline.statistics
        #expect(s.reassembly.connectionsExpired == 0)
        #expect(s.http.responsesWithoutRequest == 0 && s.http.requestsWithoutResponse == 0)
        #expect(sink.exchanges.count == 17)
        #expect(s.clock.stepsForward == 1)
    }

    /// Stepped forward an hour between two packets of a busy interface: the same.
    @Test func aStepForwardBetweenPacketsEndsNothing() throws {
        let (pipeline, sink) = try Self.pipeline(idleSeconds: 300)
        _ = try Self.feed(pipeline, upTo: 2.2)
        _ = try Self.feed(pipeline, from: 2.2, upTo: 1e9, shift: 3600 * Self.second)
        pipeline.finish()
        #expect(pipeline.statistics.reassembly.connectionsExpired == 0)
        #expect(sink.exchanges.count == 17 && pipeline.statistics.clock.stepsForward == 1)
    }
}
