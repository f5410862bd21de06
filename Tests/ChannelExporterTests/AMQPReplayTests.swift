@testable import ChannelExporter
import ChannelMetrics
import Testing

/// Replays real RabbitMQ traffic (captures/amqp/make-fixtures.sh: a real broker, pika and
/// py-amqp consumers that time their own workers) through the whole pipeline and compares
/// `<SYSCODE>_consumer_metrics` with what the consumers measured: per queue and code, the
/// count and the observations in each bucket.
@Suite struct AMQPReplayTests {
    static let scenarios = [
        "ack-nack-reject", "cancel-and-drop", "get-poller", "multiple-ack", "prefetch-burst", "two-queues-k2",
        // make-more-fixtures.sh
        "large-body", "channels-interleaved", "auto-ack", "qos-recover", "transactions", "confirms-return",
        "server-cancel", "blocked-restart", "kombu", "aio-pika", "amqpstorm", "channel-errors", "lossy",
        // make-polyglot-fixtures.sh: Go, Java, C, Ruby, PHP consumers
        "go-amqp091", "go-batch", "java-client", "c-rabbitmq", "ruby-bunny", "php-amqplib",
        // make-feature-fixtures.sh: quorum and stream queues, single active consumer, priorities,
        // direct reply-to, field tables, the consumer timeout
        "quorum-redelivery", "stream-offset", "sac-priority", "direct-reply-to", "field-tables", "rpc-chain",
        "consumer-timeout",
    ]
    /// Workers per channel of each fixture's consumers (captures/amqp/README.md): the
    /// service-time rule's k, as `amqp.consumer_concurrency` would say for that service.
    static let workers = ["multiple-ack": 3, "two-queues-k2": 2, "go-batch": 3]

    @Test(arguments: scenarios)
    func consumerMetricsMatchTheWorkersOwnTimes(scenario: String) throws {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.amqp.ports = [5682]
        config.amqp.consumerConcurrency = Self.workers[scenario] ?? 1
        let pipeline = try Pipeline(configuration: config)
        _ = try ReplayRunner.run(files: [Fixtures.path("amqp/\(scenario).pcap")], pipeline: pipeline)
        let ours = Self.consumerRows(pipeline.metrics.render(.prometheusText))
        let expected = try Self.expectedRows(Fixtures.path("amqp/\(scenario).expected.txt"))
        #expect(!expected.isEmpty)
        #expect(ours == expected, "ours:\n\(ours.sorted { $0.key < $1.key })\nexpected:\n\(expected.sorted { $0.key < $1.key })")
    }

    /// The replay summary says what was not turned into an outcome, and why: auto-ack
    /// deliveries (nothing to time), answers that matched nothing, drops by reason.
    @Test func summaryCountsWhatIsNotAnOutcome() throws {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.amqp.ports = [5682]
        let pipeline = try Pipeline(configuration: config)
        let result = try ReplayRunner.run(
            files: ["auto-ack", "channel-errors"].map { Fixtures.path("amqp/\($0).pcap") }, pipeline: pipeline)
        let text = ReplaySummary.text(result)
        #expect(text.contains("amqp unused:   6 no-ack deliveries, 1 unmatched answers, 0 lost deliveries, 0 of unknown queue [dropped_channel_close=2]"), "\(text)")
        let json = ReplaySummary.json(result)
        #expect(json.contains("\"no_ack_deliveries\":6,\"unmatched_answers\":1,"), "\(json)")
        #expect(json.contains("\"amqp_dropped_deliveries\":{\"channel_close\":2}"), "\(json)")
        let exposition = SelfMetrics.render(SelfMetricsInput(pipeline: result.statistics), metrics: nil, format: .prometheusText)
        #expect(exposition.contains("channel_exporter_amqp_no_ack_deliveries_total 6.0"), "\(exposition)")
        #expect(exposition.contains("channel_exporter_amqp_unmatched_answers_total 1.0"))
    }

    /// A full AMQP bound is counted in the self-metrics as in the replay summary (it was in the
    /// summary alone: live, nothing showed it). One unanswered delivery allowed in all.
    @Test func amqpLimitHitsAreSelfMetrics() throws {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.amqp.ports = [5682]
        config.limits.maxAMQPOutstandingDeliveries = 1
        let pipeline = try Pipeline(configuration: config)
        let result = try ReplayRunner.run(files: [Fixtures.path("amqp/prefetch-burst.pcap")], pipeline: pipeline)
        let hits = result.statistics.amqp.limitHits[.outstandingTotal] ?? 0
        #expect(hits > 0)
        let exposition = SelfMetrics.render(SelfMetricsInput(pipeline: result.statistics), metrics: nil, format: .prometheusText)
        #expect(exposition.contains(#"channel_exporter_amqp_limit_hits_total{limit="outstanding_total"} \#(Double(hits))"#), "\(exposition)")
    }

    /// `queue code` → [count, then observations per bucket (not cumulative), +Inf last].
    static func expectedRows(_ path: String) throws -> [String: [Int]] {
        var rows = [String: [Int]]()
        for line in try ConfigurationFile.readText(path: path, what: "expected").split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: " ")
            guard f.count > 3 else { continue }
            rows["\(f[0]) \(f[1])"] = f.dropFirst(2).map { Int($0)! }
        }
        return rows
    }

    static func consumerRows(_ exposition: String) -> [String: [Int]] {
        let samples = ExpositionSamples(exposition)
        var rows = [String: [Int]]()
        for (key, values) in samples.series where key.hasPrefix("A123010101_consumer_metrics{") {
            let topic = label("topic", in: key), code = label("code", in: key)
            let bounds = values.keys.filter { $0.hasPrefix("le=") }.map { $0 == "le=inf" ? Double.infinity : Double($0.dropFirst(3))! }.sorted()
            var previous = 0.0
            var perBucket = [Int]()
            for bound in bounds {
                let cumulative = values[bound.isInfinite ? "le=inf" : "le=\(bound)"] ?? 0
                perBucket.append(Int(cumulative - previous))
                previous = cumulative
            }
            rows["\(topic) \(code)"] = [Int(values["count"] ?? -1)] + perBucket
        }
        return rows
    }

    static func label(_ name: String, in key: String) -> String {
        guard let start = key.range(of: "\(name)=\"") else { return "?" }
        let rest = key[start.upperBound...]
        return String(rest[..<rest.firstIndex(of: "\"")!])
    }
}

/// The damaged copies of `prefetch-burst` (captures/amqp/README.md) through the real reassembler.
@Suite struct AMQPDamagedReplayTests {
    static func rows(_ fixture: String) throws -> ([String: [Int]], PipelineStatistics) {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.amqp.ports = [5682]
        let pipeline = try Pipeline(configuration: config)
        let result = try ReplayRunner.run(files: [Fixtures.path("amqp/\(fixture).pcap")], pipeline: pipeline)
        return (AMQPReplayTests.consumerRows(pipeline.metrics.render(.prometheusText)), result.statistics)
    }

    @Test func captureStartedMidConnectionLearnsQueuesFromRoutingKeys() throws {
        let (ours, statistics) = try Self.rows("prefetch-burst-midstream")
        #expect(ours == (try AMQPReplayTests.expectedRows(Fixtures.path("amqp/prefetch-burst.expected.txt"))))
        #expect(statistics.amqp.routingKeyQueueDeliveries > 0)
    }

    /// Direct reply-to replies (their tags the channel's next, not used up) in captures begun at the
    /// first delivery: every series of the full capture, no drop (captures/amqp/README.md).
    @Test(arguments: ["rpc-chain", "direct-reply-to"])
    func captureStartedMidConnectionWithDirectReplies(_ fixture: String) throws {
        let (ours, statistics) = try Self.rows("\(fixture)-midstream")
        #expect(ours == (try AMQPReplayTests.expectedRows(Fixtures.path("amqp/\(fixture).expected.txt"))))
        #expect(statistics.amqp.droppedDeliveries.isEmpty && statistics.amqp.unmatchedAnswers == 0)
        #expect(statistics.amqp.noAckDeliveries > 0)
    }

    @Test func lostSegmentsLoseOutcomesButInventNone() throws {
        let (full, _) = try Self.rows("prefetch-burst")
        let (damaged, statistics) = try Self.rows("prefetch-burst-dropped")
        let fullCount = full.values.reduce(0) { $0 + $1[0] }
        let damagedCount = damaged.values.reduce(0) { $0 + $1[0] }
        #expect(damagedCount < fullCount)
        #expect(damagedCount > 0)
        #expect(statistics.reassembly.gaps > 0)
        // Every bucket of the damaged copy holds at most what the full capture's holds.
        for (key, row) in damaged {
            let reference = try #require(full[key])
            for (a, b) in zip(row.dropFirst(), reference.dropFirst()) { #expect(a <= b, "\(key)") }
        }
    }
}
