import ChannelExporter
import ChannelMetrics
import Testing

/// Replays real RabbitMQ traffic (captures/amqp/make-fixtures.sh: a real broker, pika and
/// py-amqp consumers that time their own workers) through the whole pipeline and compares
/// `<SYSCODE>_consumer_metrics` with what the consumers measured: per queue and code, the
/// count and the observations in each bucket.
@Suite struct AMQPReplayTests {
    static let scenarios = ["ack-nack-reject", "cancel-and-drop", "get-poller", "multiple-ack", "prefetch-burst", "two-queues-k2"]

    @Test(arguments: scenarios)
    func consumerMetricsMatchTheWorkersOwnTimes(scenario: String) throws {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.amqp.ports = [5682]
        config.amqp.consumerConcurrency = scenario.hasSuffix("-k2") ? 2 : 1
        let pipeline = try Pipeline(configuration: config)
        _ = try ReplayRunner.run(files: [Fixtures.path("amqp/\(scenario).pcap")], pipeline: pipeline)
        let ours = Self.consumerRows(pipeline.metrics.render(.prometheusText))
        let expected = try Self.expectedRows(Fixtures.path("amqp/\(scenario).expected.txt"))
        #expect(!expected.isEmpty)
        #expect(ours == expected, "ours:\n\(ours.sorted { $0.key < $1.key })\nexpected:\n\(expected.sorted { $0.key < $1.key })")
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
