// FixtureReplay.swift — feeds the per-packet TCP payloads of a real capture (captures/amqp/*.payloads.txt) to the observer.

import AMQPObserver
import Foundation
import PacketDecoding
import TCPReassembly

/// The broker port of the fixtures (captures/amqp/make-fixtures.sh).
let fixtureBrokerPort: UInt16 = 5682
let fixtureDirectory: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // Tests/AMQPObserverTests/FixtureReplay.swift
    return parts.joined(separator: "/") + "/captures/amqp/"
}()

func readFixture(_ name: String) throws -> String {
    try String(contentsOfFile: fixtureDirectory + name, encoding: .utf8)
}

/// One line of `tshark -T fields -e frame.number -e frame.time_epoch -e tcp.srcport -e tcp.dstport
/// -e tcp.seq_raw -e tcp.flags -e tcp.payload`.
struct CapturedPacket {
    var frame: Int
    var time: Timestamp
    var sourcePort: UInt16
    var destinationPort: UInt16
    var sequence: UInt32
    var flags: UInt16
    var payload: [UInt8]

    init?(line: Substring) {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count >= 6, let frame = Int(fields[0]), let src = UInt16(fields[2]), let dst = UInt16(fields[3]),
            let seq = UInt32(fields[4]), let flags = UInt16(fields[5].dropFirst(2), radix: 16)
        else { return nil }
        let time = fields[1].split(separator: ".")
        guard time.count == 2, let seconds = Int64(time[0]), let fraction = Int64(time[1].padding(toLength: 9, withPad: "0", startingAt: 0))
        else { return nil }
        self.frame = frame
        self.time = Timestamp(seconds: seconds, nanoseconds: fraction)
        sourcePort = src
        destinationPort = dst
        sequence = seq
        self.flags = flags
        let hex = fields.count > 6 ? Array(fields[6].utf8) : []
        payload = stride(from: 0, to: hex.count - 1, by: 2).map { UInt8(String(decoding: hex[$0...$0 + 1], as: UTF8.self), radix: 16)! }
    }
}

/// A minimal in-order replayer for clean loopback captures: sequence numbers detect lost
/// segments (reported as gaps), retransmitted bytes are trimmed, FIN/RST end directions.
/// (The real reassembler is TCPReassembly's; this stands in for it in these tests.)
final class FixtureReplayer {
    struct Connection {
        var observer: AMQPConnectionObserver
        var next: [UInt32?] = [nil, nil]
        var ended: [Bool] = [false, false]
    }

    let observer: AMQPObserver
    let sink = OutcomeCollector()
    private var connections: [UInt16: Connection] = [:]
    private var currentFrame = 0
    /// Frames the observer completed, by the capture frame that completed them.
    private(set) var framesByPacket: [Int: [(StreamDirection, AMQPFrameSummary)]] = [:]

    init(configuration: AMQPObserverConfiguration) {
        observer = AMQPObserver(configuration: configuration, sink: sink)
    }

    func replay(_ text: String) {
        for line in text.split(separator: "\n") {
            guard let packet = CapturedPacket(line: line) else { continue }
            feed(packet)
        }
        for (port, connection) in connections {
            for direction in StreamDirection.allCases where !connection.ended[Int(direction.rawValue)] {
                connection.observer.streamEnd(direction: direction, reason: .captureEnded, time: .zero)
                connections[port]?.ended[Int(direction.rawValue)] = true
            }
        }
    }

    private func feed(_ packet: CapturedPacket) {
        currentFrame = packet.frame
        let direction: StreamDirection = packet.sourcePort == fixtureBrokerPort ? .serverToClient : .clientToServer
        let clientPort = direction == .clientToServer ? packet.sourcePort : packet.destinationPort
        let syn = packet.flags & 0x02 != 0, fin = packet.flags & 0x01 != 0, rst = packet.flags & 0x04 != 0
        if connections[clientPort] == nil {
            let loopback = IPAddress("127.0.0.1")!
            let handshake = syn && packet.flags & 0x10 == 0
            let info = ConnectionInfo(
                id: UInt64(connections.count + 1), client: Endpoint(address: loopback, port: clientPort),
                server: Endpoint(address: loopback, port: fixtureBrokerPort),
                roleSource: handshake ? .handshake : .configuredPort, synTime: handshake ? packet.time : nil,
                firstSeen: packet.time)
            let consumer = observer.makeConnectionObserver(for: info)
            consumer.frameTap = { [unowned self] direction, frame in
                framesByPacket[currentFrame, default: []].append((direction, frame))
            }
            connections[clientPort] = Connection(observer: consumer)
        }
        guard var connection = connections[clientPort] else { return }
        let d = Int(direction.rawValue)
        defer { connections[clientPort] = connection }
        if syn {
            connection.next[d] = packet.sequence &+ 1
            return
        }
        guard !connection.ended[d] else { return }
        var payload = packet.payload[...]
        if !payload.isEmpty {
            let expected = connection.next[d] ?? packet.sequence
            let offset = Int32(bitPattern: packet.sequence &- expected)
            if offset > 0 {
                connection.observer.streamGap(length: Int(offset), direction: direction, time: packet.time)
            } else if offset < 0 {
                payload = payload.dropFirst(Int(-offset))  // retransmitted bytes
            }
            connection.next[d] = max(expected, packet.sequence) &+ UInt32(payload.count)
            if offset < 0 { connection.next[d] = expected &+ UInt32(payload.count) }
            if !payload.isEmpty {
                Array(payload).withUnsafeBytes { connection.observer.streamData($0, direction: direction, time: packet.time) }
            }
        }
        if fin || rst {
            for end in rst ? StreamDirection.allCases : [direction] where !connection.ended[Int(end.rawValue)] {
                connection.observer.streamEnd(direction: end, reason: rst ? .reset : .fin, time: packet.time)
                connection.ended[Int(end.rawValue)] = true
            }
        }
    }
}

/// The default consumer buckets (ms), `le` inclusive.
let consumerBuckets: [Double] = [100, 200, 500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000]

func bucketIndex(milliseconds: Double) -> Int {
    consumerBuckets.firstIndex { milliseconds <= $0 } ?? consumerBuckets.count
}

/// Per (queue, code): count and per-bucket counts, as in `NAME.expected.txt`.
struct HistogramRow: Hashable, CustomStringConvertible {
    var queue: String
    var code: Int
    var buckets: [Int]
    var count: Int { buckets.reduce(0, +) }
    var description: String { "\(queue) \(code) \(count) \(buckets.map(String.init).joined(separator: " "))" }
}

func histogram(_ outcomes: [ConsumerOutcome], rule: ConsumerDurationRule) -> [HistogramRow] {
    var rows: [String: HistogramRow] = [:]
    for outcome in outcomes {
        let key = "\(outcome.queue ?? "-") \(outcome.answer.code)"
        var row = rows[key] ?? HistogramRow(queue: outcome.queue ?? "-", code: outcome.answer.code, buckets: Array(repeating: 0, count: consumerBuckets.count + 1))
        row.buckets[bucketIndex(milliseconds: Double(outcome.durationNanoseconds(rule)) / 1e6)] += 1
        rows[key] = row
    }
    return rows.values.sorted { ($0.queue, $0.code) < ($1.queue, $1.code) }
}

func expectedHistogram(_ text: String) -> [HistogramRow] {
    text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
        let f = line.split(separator: " ")
        return HistogramRow(queue: String(f[0]), code: Int(f[1])!, buckets: f[3...].map { Int($0)! })
    }
}

/// What the workers measured: (queue, delivery tag) → durations in ms, in the order the
/// workers answered (a tag recurs on a new channel or connection: RabbitMQ numbers each
/// channel's deliveries from 1).
func workerDurations(_ text: String) throws -> [String: [Double]] {
    let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    var out: [String: [Double]] = [:]
    for record in json["records"] as! [[String: Any]] {
        guard let tag = record["delivery_tag"] as? Int, let duration = record["duration_ms"] as? Double else { continue }
        out["\(record["queue"] as! String)#\(tag)", default: []].append(duration)
    }
    return out
}

/// A top-level array or object of a fixture's `workers.json` (`unanswered`, `notes`).
func workersJSON(_ text: String, _ key: String) throws -> Any? {
    let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    return json[key]
}
