/// The four stages a benchmark round runs over one capture, each a complete pass over the file.
import CBareLoop
import ChannelExporter
import HTTP1Observer
import PacketCapture
import PacketDecoding
import TCPReassembly

/// One stage of the exporter's path, cumulative: each includes the ones before it.
enum Stage: String, CaseIterable, Codable, Sendable {
    /// The shared bench's floor (`pcapcount read`): a bare `pcap_next_ex` loop in C on a file
    /// libpcap opens and reads itself, 4 KiB at a time. Not cumulative: a second floor.
    case libpcapFloor = "libpcap-floor"
    /// A bare `pcap_next_ex` loop in C with a 1 MiB stdio buffer: the floor (stricter than
    /// `libpcapFloor`: the same loop, 18–30 % faster reads).
    case floor
    /// `PacketSource` + `PacketDecoder`: link, IP and TCP headers decoded.
    case decode
    /// Decoding + `TCPReassembler`, delivering to a consumer that discards the bytes.
    case reassembly
    /// Decoding + reassembly + `HTTPObserver` (default limits), exchanges counted and discarded:
    /// the pipeline without the metrics.
    case http
    /// The whole `Pipeline`: reassembly, HTTP and AMQP observers, metrics.
    case pipeline

    var title: String {
        switch self {
        case .libpcapFloor: "A0 pcapcount read (libpcap reads)"
        case .floor: "A floor: bare pcap_next_ex (C)"
        case .decode: "B PacketSource + decode"
        case .reassembly: "C + TCP reassembly"
        case .http: "H + HTTP observer (no metrics)"
        case .pipeline: "D full Pipeline (HTTP + metrics)"
        }
    }
}

/// What one pass of a stage counted (what the stage saw, not how long it took).
struct StageOutput: Codable, Sendable {
    var packets: UInt64 = 0
    /// TCP segments decoded (B, C, D).
    var segments: UInt64?
    /// Payload bytes the reassembler delivered in order (C).
    var deliveredBytes: UInt64?
    /// Connections the reassembler opened (C, D).
    var connections: UInt64?
    /// Requests paired with their response (D).
    var exchanges: Int?
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
}

/// Runs one stage over `path` once.
func runStage(_ stage: Stage, path: String, serverPort: UInt16) throws -> StageOutput {
    switch stage {
    case .libpcapFloor: return try runFloor(path: path, bigBuffer: false)
    case .floor: return try runFloor(path: path)
    case .decode: return try runDecode(path: path)
    case .reassembly: return try runReassembly(path: path, serverPort: serverPort)
    case .http: return try runHTTP(path: path, serverPort: serverPort)
    case .pipeline: return try runPipeline(path: path, serverPort: serverPort).output
    }
}

/// `bigBuffer`: through a 1 MiB stdio buffer (the `floor` stage); false: libpcap opens the
/// file and reads it itself (`libpcapFloor`, as `pcapcount read`).
func runFloor(path: String, bigBuffer: Bool = true) throws -> StageOutput {
    let result = bare_loop_run(path, bigBuffer ? 1 : 0)
    guard result.error == 0 else { throw BenchError(description: "\(path): the bare libpcap loop failed (\(result.error))") }
    return StageOutput(packets: result.packets)
}

func runDecode(path: String) throws -> StageOutput {
    var decoder = PacketDecoder()
    var segments: UInt64 = 0
    let summary = try PacketSource.files([path]).run { packet in
        if decoder.decode(
            packet.bytes, originalLength: packet.originalLength, linkType: packet.linkType, timestamp: packet.timestamp)
            != nil
        {
            segments &+= 1
        }
    }
    return StageOutput(packets: UInt64(summary.packets), segments: segments)
}

/// A consumer that only adds up what it is given: reassembly's own cost, nothing downstream.
final class DiscardingConsumer: StreamConsumer, StreamConsumerFactory {
    var bytes: UInt64 = 0
    var gaps: UInt64 = 0

    func makeConsumer(for connection: ConnectionInfo) -> (any StreamConsumer)? { self }
    func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
        self.bytes &+= UInt64(bytes.count)
    }
    func streamGap(length: Int, direction: StreamDirection, time: Timestamp) { gaps &+= 1 }
    func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) {}
}

/// Decoding + reassembly; `observe` is called after each packet with the reassembler (for `memory`).
func runReassembly(
    path: String, serverPort: UInt16, observe: ((TCPReassembler) -> Void)? = nil
) throws -> StageOutput {
    var decoder = PacketDecoder()
    let consumer = DiscardingConsumer()
    let reassembler = TCPReassembler(
        configuration: ReassemblyConfiguration(serverPorts: [serverPort]), factory: consumer)
    var last = Timestamp.zero
    let summary = try PacketSource.files([path]).run { packet in
        last = packet.timestamp
        if let segment = decoder.decode(
            packet.bytes, originalLength: packet.originalLength, linkType: packet.linkType, timestamp: packet.timestamp)
        {
            reassembler.process(segment)
        }
        observe?(reassembler)
    }
    reassembler.finish(at: last)
    return StageOutput(
        packets: UInt64(summary.packets), segments: decoder.counters.tcpSegments, deliveredBytes: consumer.bytes,
        connections: reassembler.statistics.connectionsOpened)
}

/// Counts exchanges and drops them.
final class CountingSink: HTTPExchangeSink {
    var exchanges = 0
    func observe(_ exchange: HTTPExchange) {
        // Pattern matching tests the optionals in place; `!= nil` copied both summaries.
        if case .some = exchange.request, case .some = exchange.response { exchanges += 1 }
    }

    /// Counted the same; the lent body is not copied (the metrics read it in place too).
    func observe(_ exchange: HTTPExchange, responseBody: UnsafeRawBufferPointer) {
        observe(exchange)
    }
}

/// Decoding + reassembly + the HTTP observer: everything but the metrics.
func runHTTP(path: String, serverPort: UInt16) throws -> StageOutput {
    var decoder = PacketDecoder()
    let sink = CountingSink()
    let http = HTTPObserver(configuration: HTTPObserverConfiguration(), sink: sink)
    let reassembler = TCPReassembler(configuration: ReassemblyConfiguration(serverPorts: [serverPort]), factory: http)
    var last = Timestamp.zero
    let summary = try PacketSource.files([path]).run { packet in
        last = packet.timestamp
        if let segment = decoder.decode(
            packet.bytes, originalLength: packet.originalLength, linkType: packet.linkType, timestamp: packet.timestamp)
        {
            reassembler.process(segment)
        }
    }
    reassembler.finish(at: last)
    return StageOutput(
        packets: UInt64(summary.packets), segments: decoder.counters.tcpSegments,
        connections: reassembler.statistics.connectionsOpened, exchanges: http.statistics.exchangesComplete)
}

/// The exporter's configuration for a benchmark: the reference syscode, `serverPort` inbound.
/// With `callsOut` the server port is not the service's: every exchange is an outgoing call
/// (the external families, partner lookup, `tcode`), the other half of the metrics' work.
func benchmarkConfiguration(serverPort: UInt16, callsOut: Bool = false, keylogs: [String] = []) -> ExporterConfiguration {
    var configuration = ExporterConfiguration(syscode: "A123010101")
    configuration.inbound.ports = callsOut ? [] : [serverPort]
    configuration.tls.keylogFiles = keylogs
    return configuration
}

/// The full pipeline, as `channel-exporter replay` runs it (with `keylogs`, as `replay --tls-keylog`
/// does: HTTPS read); `observe` is called every `observeEvery` packets with the pipeline (for `memory`).
func runPipeline(
    path: String, serverPort: UInt16, callsOut: Bool = false, keylogs: [String] = [], observeEvery: UInt64 = 0,
    observe: ((Pipeline) -> Void)? = nil
) throws -> (output: StageOutput, pipeline: Pipeline) {
    let pipeline = try Pipeline(configuration: benchmarkConfiguration(serverPort: serverPort, callsOut: callsOut, keylogs: keylogs))
    var packets: UInt64 = 0
    let mask = observeEvery &- 1
    _ = try PacketSource.files([path]).run { packet in
        pipeline.process(packet)
        packets &+= 1
        if let observe, packets & mask == 0 { observe(pipeline) }
    }
    pipeline.finish()
    let statistics = pipeline.statistics
    let output = StageOutput(
        packets: packets, segments: statistics.decode.tcpSegments,
        connections: statistics.reassembly.connectionsOpened, exchanges: statistics.http.exchangesComplete)
    return (output, pipeline)
}

/// The server port of the first SYN (without ACK) in the file's first 100,000 packets.
func detectServerPort(path: String) throws -> UInt16? {
    var decoder = PacketDecoder()
    var found: UInt16?
    var seen = 0
    let source = try PacketSource.files([path])
    _ = try source.run { packet in
        seen += 1
        if let segment = decoder.decode(
            packet.bytes, originalLength: packet.originalLength, linkType: packet.linkType, timestamp: packet.timestamp),
            segment.flags.contains(.syn), !segment.flags.contains(.ack)
        {
            found = segment.destination.port
            source.stop()
        }
        if seen >= 100_000 { source.stop() }
    }
    return found
}
