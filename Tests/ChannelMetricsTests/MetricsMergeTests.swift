import AMQPObserver
import ChannelMetrics
import HTTP1Observer
import PacketDecoding
import TCPReassembly
import Testing

/// Metrics recorded by pipelines that each saw some of the connections, merged, are the metrics one
/// pipeline that saw them all records: the same exposition to the byte, the same counters.
@Suite struct MetricsMergeTests {
    /// One observation of a random stream: what it is and which connection it came on.
    enum Observation {
        case exchange(HTTPExchange)
        case outcome(ConsumerOutcome)
    }

    /// A random stream: inbound, outgoing (partner hosts among them) and consumer observations on
    /// `connections` connections, labels from small sets (series repeat) and sometimes unique ones
    /// (series keep appearing), durations from 0 to 9 s at nanosecond resolution, some negative.
    static func stream(count: Int, connections: Int, using random: inout some RandomNumberGenerator)
        -> [(connection: Int, observation: Observation)]
    {
        var result: [(Int, Observation)] = []
        for n in 0..<count {
            let nanos = Int64.random(in: -2_000...9_000_000_000, using: &random)
            let path = Int.random(in: 0..<10, using: &random) == 0 ? "/unique/\(n)" : "/api/\(Int.random(in: 0..<5, using: &random))"
            let body = Array("{\"code\": \(Int.random(in: 0..<3, using: &random))}".utf8)
            let status = [200, 200, 201, 404, 500].randomElement(using: &random)!
            let observation: Observation
            switch Int.random(in: 0..<4, using: &random) {
            case 0, 1:
                observation = .exchange(Self.exchange(
                    port: 8080, request: Make.request(target: path, headers: [("User-Agent", "ua\(n % 3)")]),
                    response: Make.response(status: status, body: body), nanos: nanos))
            case 2:
                let host = ["b123456789.svc", "api.partner.example", "other.example"].randomElement(using: &random)!
                observation = .exchange(Self.exchange(
                    port: 443, request: Make.request(target: path, host: host), response: Make.response(status: status, body: body),
                    nanos: nanos))
            default:
                let queue = ["q1", "q2", "q\(n)"].randomElement(using: &random)!
                let answer: DeliveryAnswer = Bool.random(using: &random) ? .ack : .nack(requeue: false)
                observation = .outcome(Make.outcome(queue: queue, answer: answer, deliver: 0, start: 0, end: nanos))
            }
            result.append((Int.random(in: 0..<connections, using: &random), observation))
        }
        return result
    }

    static func exchange(port: UInt16, request: HTTPRequestSummary, response: HTTPResponseSummary, nanos: Int64) -> HTTPExchange {
        var exchange = Make.exchange(serverPort: port, request: request, response: response, micros: 0)
        // Inbound: last request byte → first response byte; outgoing: call start → last response byte.
        exchange.responseFirstByte = Timestamp(nanoseconds: exchange.requestLastByte!.nanoseconds + nanos)
        exchange.responseLastByte = exchange.responseFirstByte
        return exchange
    }

    static func feed(_ observation: Observation, to metrics: ChannelMetrics) {
        switch observation {
        case .exchange(let exchange): metrics.observe(exchange)
        case .outcome(let outcome): metrics.observe(outcome)
        }
    }

    /// Each observation to the part of its connection, with its position (its packet) in the
    /// order; the parts merged.
    static func merged(
        _ stream: [(connection: Int, observation: Observation)], parts count: Int, configuration: MetricsConfiguration,
        partConfiguration: MetricsConfiguration? = nil
    ) -> ChannelMetrics {
        let parts = (0..<count).map { _ in
            let metrics = ChannelMetrics(configuration: partConfiguration ?? configuration)
            metrics.order = EventOrder()
            return metrics
        }
        for (n, (connection, observation)) in stream.enumerated() {
            let part = parts[connection % count]
            part.order!.packet = UInt64(n + 1)
            feed(observation, to: part)
        }
        return ChannelMetrics.merged(parts, configuration: configuration)
    }

    @Test(arguments: [1, 2, 3, 7])
    func mergedPartsAreOnePipeline(parts: Int) {
        var random = AdversarialInputTests.SeededGenerator(state: 0x5eed &+ UInt64(parts))
        let configuration = Make.configuration()
        for round in 0..<20 {
            let stream = Self.stream(count: 400, connections: 1 + round * 3, using: &random)
            let whole = ChannelMetrics(configuration: configuration)
            for (_, observation) in stream { Self.feed(observation, to: whole) }
            let merged = Self.merged(stream, parts: parts, configuration: configuration)
            #expect(merged.render(.prometheusText) == whole.render(.prometheusText), "round \(round)")
            #expect(merged.render(.openMetrics) == whole.render(.openMetrics), "round \(round)")
            #expect(merged.statistics() == whole.statistics(), "round \(round)")
        }
    }

    /// The sum is the exact total, rounded once: three calls of 100.1 ms are 300.3 ms (added as
    /// doubles one by one, 300.29999999999995).
    @Test func sumsAreExactTotals() {
        let metrics = ChannelMetrics(configuration: Make.configuration())
        for _ in 0..<3 {
            metrics.observe(Self.exchange(
                port: 8080, request: Make.request(), response: Make.response(body: Array("{}".utf8)), nanos: 100_100_000))
        }
        let one: Double = 100_100_000 / 1e9 * 1000
        let doubles: Double = one + one + one
        #expect(doubles == 300.29999999999995)  // what adding doubles gave
        let sum = metrics.render(.prometheusText).split(separator: "\n").first { $0.hasPrefix("A123010101_inner_metrics_sum") }
        #expect(sum?.hasSuffix(" 300.3") == true, "\(sum ?? "")")
    }

    /// Parts given a share of the series cap that none reached: the whole refuses none either, and
    /// is one pipeline's. A part that reached its share is what the caller must notice.
    @Test func capSharesThatWereNotReachedMergeExactly() {
        var random = AdversarialInputTests.SeededGenerator(state: 42)
        let stream = Self.stream(count: 300, connections: 10, using: &random)
        let whole = ChannelMetrics(configuration: Make.configuration(maxSeries: 200))
        for (_, observation) in stream { Self.feed(observation, to: whole) }
        let merged = Self.merged(
            stream, parts: 2, configuration: Make.configuration(maxSeries: 200), partConfiguration: Make.configuration(maxSeries: 100))
        #expect(whole.statistics().seriesRefused.values.allSatisfy { $0 == 0 })
        #expect(merged.render(.prometheusText) == whole.render(.prometheusText))
    }

    /// Where the whole would refuse series, the merge refuses at the whole's cap in first-seen
    /// order: the same series as one pipeline, and the refused observations counted.
    @Test func theWholeCapIsAppliedInFirstSeenOrder() {
        var random = AdversarialInputTests.SeededGenerator(state: 7)
        let stream = Self.stream(count: 500, connections: 9, using: &random)
        let whole = ChannelMetrics(configuration: Make.configuration(maxSeries: 20))
        for (_, observation) in stream { Self.feed(observation, to: whole) }
        // Parts without a cap to speak of: none refuses, the merge does.
        let merged = Self.merged(
            stream, parts: 3, configuration: Make.configuration(maxSeries: 20), partConfiguration: Make.configuration())
        #expect(whole.statistics().seriesRefused.values.contains { $0 > 0 })
        #expect(merged.render(.prometheusText) == whole.render(.prometheusText))
        #expect(merged.statistics().seriesRefused == whole.statistics().seriesRefused)
    }
}
