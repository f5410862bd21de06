/// `bench metrics`: the metrics' cost per exchange alone, on exchanges taken from a capture.
import ArgumentParser
import ChannelExporter
import ChannelMetrics
import HTTP1Observer
import PacketCapture
import PacketDecoding
import TCPReassembly

/// Times `ChannelMetrics.observe` over real exchanges held in memory (no capture, no
/// parsing in the loop), and the body rule alone over the same exchanges: the rest is the
/// label rules, the series lookup and the histogram update.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "ns per exchange of ChannelMetrics.observe (and of its body rule alone) on a capture's exchanges.")

    @Argument(help: "A pcap or pcapng capture (e.g. /tmp/channel-exporter-bench/keepalive.pcap).")
    var file: String

    @Option(help: "Exchanges taken from the start of the capture.")
    var exchanges = 20_000

    @Option(help: "The service's port; default: the first SYN's.")
    var serverPort: UInt16?

    @Flag(help: "Treat every exchange as an outgoing call (no inbound port).")
    var callsOut = false

    @Option(help: "CPU seconds per measurement.")
    var seconds: Double = 0.5

    @Option(help: "Measurements of each; the fastest is reported.")
    var rounds: Int = 5

    @Option(help: "Time only this: observe, body or tiny (for profilers).")
    var only: String?

    @Option(help: "Exactly this many calls per measurement instead of timed ones (for valgrind's instruction counts).")
    var calls: Int?

    func run() throws {
        let port = try resolveServerPort(file: file, given: serverPort)
        let sample = try collectExchanges(path: file, serverPort: port, limit: exchanges)
        guard !sample.isEmpty else { throw BenchError(description: "\(file): no exchanges") }
        let configuration = try Pipeline(configuration: benchmarkConfiguration(serverPort: port, callsOut: callsOut)).metrics.configuration
        let metrics = ChannelMetrics(configuration: configuration)
        let rules = LabelRules(maxJSONDepth: configuration.maxJSONDepth)
        let bodyBytes = sample.reduce(0) { $0 + ($1.response?.bodyPrefix.count ?? 0) }
        print("\(file): \(sample.count) exchanges, \(bodyBytes / sample.count) body bytes each on average")

        // The same exchanges with a 10-byte body: the label rules, series and histogram
        // with (almost) no body to check, measured directly rather than as a difference.
        let tinyBody = Array(#"{"code":0}"#.utf8)
        let tiny = sample.map { exchange -> HTTPExchange in
            var exchange = exchange
            exchange.response?.bodyPrefix = tinyBody
            exchange.response?.bodyLength = tinyBody.count
            return exchange
        }
        var next = 0
        func timeObserve(_ exchanges: [HTTPExchange]) -> Double {
            next = 0
            // Through the buffer: `exchanges[next]` would copy the exchange (a retain per field).
            return exchanges.withUnsafeBufferPointer { buffer in
                bestSecondsPerCall(seconds: seconds, rounds: rounds, calls: calls) {
                    metrics.observe(buffer[next])
                    next = next + 1 == buffer.count ? 0 : next + 1
                    return next
                }.secondsPerCall * 1e9
            }
        }
        func wanted(_ name: String) -> Bool { only == nil || only == name }
        let observeNs = wanted("observe") ? timeObserve(sample) : .nan
        next = 0
        let bodyNs = !wanted("body") ? .nan : bestSecondsPerCall(seconds: seconds, rounds: rounds, calls: calls) {
            defer { next = next + 1 == sample.count ? 0 : next + 1 }
            guard let response = sample[next].response else { return 0 }
            return callsOut ? rules.outgoingCode(response).label.utf8.count : rules.innerCode(response).label.utf8.count
        }.secondsPerCall * 1e9
        let tinyNs = wanted("tiny") ? timeObserve(tiny) : .nan
        print(String(format: "  observe:                   %7.0f ns per exchange", observeNs))
        print(String(format: "  body code alone:           %7.0f ns per exchange", bodyNs))
        print(String(format: "  observe, body {\"code\":0}: %7.0f ns per exchange (label rules, series, histogram)", tinyNs))
        print("  series: \(metrics.statistics().series.filter { $0.value > 0 })")
    }
}

/// Keeps the exchanges it is given, up to a limit.
final class CollectingSink: HTTPExchangeSink {
    let limit: Int
    var exchanges: [HTTPExchange] = []

    init(limit: Int) { self.limit = limit }

    func observe(_ exchange: HTTPExchange) {
        if exchanges.count < limit { exchanges.append(exchange) }
    }
}

/// The first `limit` exchanges the HTTP observer reports for `path`.
func collectExchanges(path: String, serverPort: UInt16, limit: Int) throws -> [HTTPExchange] {
    var decoder = PacketDecoder()
    let sink = CollectingSink(limit: limit)
    let http = HTTPObserver(configuration: HTTPObserverConfiguration(), sink: sink)
    let reassembler = TCPReassembler(configuration: ReassemblyConfiguration(serverPorts: [serverPort]), factory: http)
    var last = Timestamp.zero
    let source = try PacketSource.files([path])
    _ = try source.run { packet in
        last = packet.timestamp
        if let segment = decoder.decode(
            packet.bytes, originalLength: packet.originalLength, linkType: packet.linkType, timestamp: packet.timestamp)
        {
            reassembler.process(segment)
        }
        if sink.exchanges.count >= limit { source.stop() }
    }
    reassembler.finish(at: last)
    return sink.exchanges
}
