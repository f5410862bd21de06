// Test support: a recording consumer and a small language for writing segments.

import PacketDecoding
@testable import TCPReassembly

/// Records every call, per connection.
final class RecordingConsumer: StreamConsumer {
    enum Event: Equatable {
        case data(StreamDirection, [UInt8], time: Int64)
        case gap(StreamDirection, Int, time: Int64)
        case end(StreamDirection, StreamEndReason, time: Int64)
    }

    let info: ConnectionInfo
    private(set) var events: [Event] = []

    init(info: ConnectionInfo) { self.info = info }

    func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
        precondition(!isEnded(direction), "data after end")
        events.append(.data(direction, Array(bytes), time: time.nanoseconds))
    }

    func streamGap(length: Int, direction: StreamDirection, time: Timestamp) {
        precondition(!isEnded(direction), "gap after end")
        events.append(.gap(direction, length, time: time.nanoseconds))
    }

    func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) {
        precondition(!isEnded(direction), "second end")
        events.append(.end(direction, reason, time: time.nanoseconds))
    }

    /// `streamHandshakeEnd` calls (kept apart from `events`, which the data tests compare whole).
    private(set) var handshakeEnds: [Int64] = []

    func streamHandshakeEnd(time: Timestamp) {
        handshakeEnds.append(time.nanoseconds)
    }

    func isEnded(_ direction: StreamDirection) -> Bool {
        events.contains { if case .end(direction, _, _) = $0 { true } else { false } }
    }

    /// One direction as text: data as UTF-8, `[gap N]` for gaps, `|reason` at the end.
    func text(_ direction: StreamDirection) -> String {
        var text = ""
        for event in events {
            switch event {
            case let .data(d, bytes, _) where d == direction: text += String(decoding: bytes, as: UTF8.self)
            case let .gap(d, length, _) where d == direction: text += "[gap \(length)]"
            case let .end(d, reason, _) where d == direction: text += "|\(reason)"
            default: break
            }
        }
        return text
    }

    /// The bytes of one direction, gaps left out.
    func bytes(_ direction: StreamDirection) -> [UInt8] {
        events.flatMap { event -> [UInt8] in
            if case let .data(d, bytes, _) = event, d == direction { return bytes }
            return []
        }
    }

    var client: String { text(.clientToServer) }
    var server: String { text(.serverToClient) }
}

final class RecordingFactory: StreamConsumerFactory {
    private(set) var consumers: [RecordingConsumer] = []
    /// Connections whose id is in here get no consumer.
    var declined: Set<UInt64> = []

    func makeConsumer(for connection: ConnectionInfo) -> (any StreamConsumer)? {
        if declined.contains(connection.id) { return nil }
        let consumer = RecordingConsumer(info: connection)
        consumers.append(consumer)
        return consumer
    }

    var only: RecordingConsumer {
        precondition(consumers.count == 1, "expected one connection, got \(consumers.count)")
        return consumers[0]
    }
}

enum Side { case client, server }

/// One segment to feed, written from the client's or the server's side.
struct Packet: CustomStringConvertible {
    var side: Side
    var sequence: UInt32
    var ack: UInt32?
    var flags: TCPFlags
    var payload: [UInt8]
    /// Announced payload length when snaplen cut it (`payload` is what was captured).
    var announcedLength: Int?
    /// Packet time in milliseconds; nil: the position in the list.
    var millisecond: Int64?
    var clientPort: UInt16 = 40000

    var description: String {
        "\(side) seq \(sequence) \(payload.count)B flags \(flags.rawValue)"
    }
}

let clientAddress = IPAddress(ipv4: 0x0A00_0001)  // 10.0.0.1
let serverAddress = IPAddress(ipv4: 0x0A00_0002)  // 10.0.0.2
let serverPort: UInt16 = 80

func c(
    _ sequence: UInt32, _ text: String = "", _ flags: TCPFlags = [], ack: UInt32? = nil, cut: Int? = nil,
    ms: Int64? = nil, port: UInt16 = 40000
) -> Packet {
    packet(.client, sequence, text, flags, ack: ack, cut: cut, ms: ms, port: port)
}

func s(
    _ sequence: UInt32, _ text: String = "", _ flags: TCPFlags = [], ack: UInt32? = nil, cut: Int? = nil,
    ms: Int64? = nil, port: UInt16 = 40000
) -> Packet {
    packet(.server, sequence, text, flags, ack: ack, cut: cut, ms: ms, port: port)
}

private func packet(
    _ side: Side, _ sequence: UInt32, _ text: String, _ flags: TCPFlags, ack: UInt32?, cut: Int?, ms: Int64?,
    port: UInt16
) -> Packet {
    var bytes = Array(text.utf8)
    var announced: Int?
    if let cut {
        announced = bytes.count
        bytes = Array(bytes.prefix(cut))
    }
    var allFlags = flags
    if ack != nil { allFlags.insert(.ack) }
    return Packet(side: side, sequence: sequence, ack: ack, flags: allFlags, payload: bytes, announcedLength: announced,
                  millisecond: ms, clientPort: port)
}

/// Feeds `packets` in order; packet i is at i milliseconds unless it says otherwise.
func feed(_ reassembler: TCPReassembler, _ packets: [Packet]) {
    for (position, packet) in packets.enumerated() {
        feed(reassembler, packet, millisecond: packet.millisecond ?? Int64(position))
    }
}

func feed(_ reassembler: TCPReassembler, _ packet: Packet, millisecond: Int64) {
    let client = Endpoint(address: clientAddress, port: packet.clientPort)
    let server = Endpoint(address: serverAddress, port: serverPort)
    packet.payload.withUnsafeBytes { payload in
        let segment = TCPSegment(
            source: packet.side == .client ? client : server,
            destination: packet.side == .client ? server : client,
            sequenceNumber: packet.sequence, acknowledgmentNumber: packet.ack ?? 0, flags: packet.flags,
            window: 65535, payload: payload, payloadLength: packet.announcedLength ?? payload.count,
            timestamp: Timestamp(nanoseconds: millisecond * 1_000_000))
        reassembler.process(segment)
    }
}

func ms(_ millisecond: Int64) -> Timestamp { Timestamp(nanoseconds: millisecond * 1_000_000) }

/// The usual three-way handshake: client ISN 1000 (data from 1001), server ISN 5000 (data from 5001).
let handshake: [Packet] = [
    c(1000, "", .syn),
    s(5000, "", .syn, ack: 1001),
    c(1001, ack: 5001),
]

/// A small deterministic generator (SplitMix64), so random tests repeat.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
