// Helpers.swift — AMQP 0-9-1 frame builders and a StreamConsumer driver for the observer's tests.

import AMQPObserver
import PacketDecoding
import TCPReassembly

final class OutcomeCollector: ConsumerOutcomeSink {
    var outcomes: [ConsumerOutcome] = []
    func observe(_ outcome: ConsumerOutcome) { outcomes.append(outcome) }
}

/// Milliseconds since an arbitrary origin, as a packet timestamp.
func ms(_ value: Int64) -> Timestamp { Timestamp(nanoseconds: 1_700_000_000_000_000_000 + value * 1_000_000) }

let client = Endpoint(address: IPAddress("10.0.0.1")!, port: 40000)
let broker = Endpoint(address: IPAddress("10.0.0.2")!, port: 5672)

func connectionInfo(handshake: Bool = true, id: UInt64 = 1) -> ConnectionInfo {
    ConnectionInfo(
        id: id, client: client, server: broker, roleSource: handshake ? .handshake : .configuredPort,
        synTime: handshake ? ms(-1) : nil, firstSeen: ms(-1))
}

/// Builds AMQP 0-9-1 frames (§4.2.3) and method arguments (amqp0-9-1.xml).
enum AMQP {
    static let protocolHeader: [UInt8] = Array("AMQP".utf8) + [0, 0, 9, 1]

    static func frame(type: UInt8, channel: UInt16, payload: [UInt8], end: UInt8 = 0xCE) -> [UInt8] {
        var out: [UInt8] = [type, UInt8(channel >> 8), UInt8(channel & 0xff)]
        out += long(UInt32(payload.count))
        return out + payload + [end]
    }

    static func short(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func long(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
    static func longlong(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }
    static func shortstr(_ s: String) -> [UInt8] { [UInt8(s.utf8.count)] + Array(s.utf8) }

    static func method(_ channel: UInt16, _ classID: UInt16, _ methodID: UInt16, _ args: [UInt8] = []) -> [UInt8] {
        frame(type: 1, channel: channel, payload: short(classID) + short(methodID) + args)
    }

    static func tuneOk(frameMax: UInt32) -> [UInt8] { method(0, 10, 31, short(2047) + long(frameMax) + short(60)) }
    static func connectionClose() -> [UInt8] { method(0, 10, 50, short(200) + shortstr("bye") + short(0) + short(0)) }
    static func channelOpen(_ ch: UInt16) -> [UInt8] { method(ch, 20, 10, shortstr("")) }
    static func channelClose(_ ch: UInt16) -> [UInt8] { method(ch, 20, 40, short(200) + shortstr("") + short(0) + short(0)) }
    static func channelCloseOk(_ ch: UInt16) -> [UInt8] { method(ch, 20, 41) }
    static func consume(_ ch: UInt16, queue: String, tag: String, noAck: Bool = false, noWait: Bool = false) -> [UInt8] {
        let bits: UInt8 = (noAck ? 0b10 : 0) | (noWait ? 0b1000 : 0)
        return method(ch, 60, 20, short(0) + shortstr(queue) + shortstr(tag) + [bits] + long(0))
    }
    static func consumeOk(_ ch: UInt16, tag: String) -> [UInt8] { method(ch, 60, 21, shortstr(tag)) }
    static func cancel(_ ch: UInt16, tag: String) -> [UInt8] { method(ch, 60, 30, shortstr(tag) + [0]) }
    static func cancelOk(_ ch: UInt16, tag: String) -> [UInt8] { method(ch, 60, 31, shortstr(tag)) }
    /// basic.deliver with its content header and one body frame.
    static func deliver(
        _ ch: UInt16, tag: String, deliveryTag: UInt64, redelivered: Bool = false, exchange: String = "",
        routingKey: String = "orders", body: [UInt8] = Array("{}".utf8)
    ) -> [UInt8] {
        method(ch, 60, 60, shortstr(tag) + longlong(deliveryTag) + [redelivered ? 1 : 0] + shortstr(exchange)
            + shortstr(routingKey)) + content(ch, body: body)
    }
    static func content(_ ch: UInt16, body: [UInt8]) -> [UInt8] {
        // content header: class-id, weight, body size, property flags (none) — §4.2.6.1
        frame(type: 2, channel: ch, payload: short(60) + short(0) + longlong(UInt64(body.count)) + short(0))
            + frame(type: 3, channel: ch, payload: body)
    }
    static func get(_ ch: UInt16, queue: String, noAck: Bool = false) -> [UInt8] {
        method(ch, 60, 70, short(0) + shortstr(queue) + [noAck ? 1 : 0])
    }
    static func getOk(_ ch: UInt16, deliveryTag: UInt64, exchange: String = "", routingKey: String = "polled") -> [UInt8] {
        method(ch, 60, 71, longlong(deliveryTag) + [0] + shortstr(exchange) + shortstr(routingKey) + long(0))
            + content(ch, body: Array("x".utf8))
    }
    static func getEmpty(_ ch: UInt16) -> [UInt8] { method(ch, 60, 72, shortstr("")) }
    static func ack(_ ch: UInt16, _ tag: UInt64, multiple: Bool = false) -> [UInt8] {
        method(ch, 60, 80, longlong(tag) + [multiple ? 1 : 0])
    }
    static func nack(_ ch: UInt16, _ tag: UInt64, multiple: Bool = false, requeue: Bool = true) -> [UInt8] {
        method(ch, 60, 120, longlong(tag) + [(multiple ? 1 : 0) | (requeue ? 2 : 0)])
    }
    static func reject(_ ch: UInt16, _ tag: UInt64, requeue: Bool = false) -> [UInt8] {
        method(ch, 60, 90, longlong(tag) + [requeue ? 1 : 0])
    }
    static let heartbeat: [UInt8] = frame(type: 8, channel: 0, payload: [])
}

/// One StreamConsumer call.
enum StreamEvent {
    case data(StreamDirection, [UInt8], Timestamp)
    case gap(StreamDirection, Int, Timestamp)
    case end(StreamDirection, Timestamp)
}

func c2s(_ at: Int64, _ bytes: [UInt8]...) -> StreamEvent { .data(.clientToServer, bytes.flatMap { $0 }, ms(at)) }
func s2c(_ at: Int64, _ bytes: [UInt8]...) -> StreamEvent { .data(.serverToClient, bytes.flatMap { $0 }, ms(at)) }

/// How data events are cut before they reach the observer.
enum Split: CustomStringConvertible, Sendable {
    case whole
    case bytewise
    case random(seed: UInt64)
    var description: String {
        switch self {
        case .whole: "whole"
        case .bytewise: "bytewise"
        case .random(let seed): "random(\(seed))"
        }
    }
}

/// SplitMix64: a fixed-seed generator for reproducible cuts.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct RunResult {
    var outcomes: [ConsumerOutcome]
    var statistics: AMQPStatistics
    var anomaly: AMQPAnomaly?
}

func run(
    _ events: [StreamEvent], configuration: AMQPObserverConfiguration = .init(), split: Split = .whole,
    handshake: Bool = true
) -> RunResult {
    let sink = OutcomeCollector()
    let observer = AMQPObserver(configuration: configuration, sink: sink)
    let connection = observer.makeConnectionObserver(for: connectionInfo(handshake: handshake))
    var rng = SplitMix64(state: { if case .random(let s) = split { return s } else { return 0 } }())
    for event in events {
        switch event {
        case .data(let direction, let bytes, let time):
            var pieces: [ArraySlice<UInt8>] = []
            switch split {
            case .whole: pieces = [bytes[...]]
            case .bytewise: pieces = bytes.indices.map { bytes[$0...$0] }
            case .random:
                var i = 0
                while i < bytes.count {
                    let n = Int(rng.next() % 17) + 1
                    pieces.append(bytes[i..<min(bytes.count, i + n)])
                    i += n
                }
            }
            for piece in pieces {
                Array(piece).withUnsafeBytes { connection.streamData($0, direction: direction, time: time) }
            }
        case .gap(let direction, let length, let time):
            connection.streamGap(length: length, direction: direction, time: time)
        case .end(let direction, let time):
            connection.streamEnd(direction: direction, reason: .fin, time: time)
        }
    }
    return RunResult(outcomes: sink.outcomes, statistics: observer.statistics, anomaly: connection.anomaly)
}

extension ConsumerOutcome {
    /// Service start and answer in ms since the test origin.
    var times: (start: Int64, end: Int64) {
        ((serviceStart - ms(0)) / 1_000_000, (answerTime - ms(0)) / 1_000_000)
    }
}

/// Client preamble: protocol header, channel 1 open, consume `orders` with tag `c1` (consume-ok from the server).
func preamble(queue: String = "orders", tag: String = "c1", ch: UInt16 = 1) -> [StreamEvent] {
    [
        c2s(0, AMQP.protocolHeader), c2s(1, AMQP.channelOpen(ch), AMQP.consume(ch, queue: queue, tag: tag)),
        s2c(2, AMQP.consumeOk(ch, tag: tag)),
    ]
}
