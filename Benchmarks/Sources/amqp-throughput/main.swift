// main.swift — AMQPObserver throughput: a synthetic consumer stream (deliver + header + body, acks),
// cut into 1448-byte segments like a loopback/Ethernet MSS, fed through StreamConsumer calls.

import AMQPObserver
#if canImport(Glibc)
import Glibc
#endif
import PacketDecoding
import TCPReassembly

final class CountingSink: ConsumerOutcomeSink {
    var count = 0
    var nanoseconds: Int64 = 0
    func observe(_ outcome: ConsumerOutcome) {
        count += 1
        nanoseconds &+= outcome.durationNanoseconds()
    }
}

func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
func be32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
func be64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }
func shortstr(_ s: String) -> [UInt8] { [UInt8(s.utf8.count)] + Array(s.utf8) }
func frame(_ type: UInt8, _ channel: UInt16, _ payload: [UInt8]) -> [UInt8] {
    [type] + be16(channel) + be32(UInt32(payload.count)) + payload + [0xCE]
}
func method(_ channel: UInt16, _ c: UInt16, _ m: UInt16, _ args: [UInt8]) -> [UInt8] {
    frame(1, channel, be16(c) + be16(m) + args)
}

/// `value` with `digits` decimals (no Foundation).
func fmt(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    let whole = String(scaled / Int(scale))
    guard digits > 0 else { return whole }
    let fraction = String(scaled % Int(scale))
    return whole + "." + String(repeating: "0", count: digits - fraction.count) + fraction
}

let deliveries = 200_000
let bodySize = Int(CommandLine.arguments.dropFirst().first ?? "64") ?? 64
let tag = "amq.ctag-benchmark-consumer-0001"
var server: [UInt8] = method(1, 60, 21, shortstr(tag))
var client: [UInt8] = Array("AMQP".utf8) + [0, 0, 9, 1]
client += method(1, 20, 10, shortstr(""))
let consumeArguments: [UInt8] = be16(0) + shortstr("orders") + shortstr(tag) + [0] + be32(0)
client += method(1, 60, 20, consumeArguments)
server.reserveCapacity(deliveries * (bodySize + 120))
/// Where message i's deliver (with content) ends in `server`, and its ack in `client`.
let clientPreamble = client.count
var serverEnds: [Int] = []
var clientEnds: [Int] = []
for i in 1...deliveries {
    var deliverArguments = shortstr(tag) + be64(UInt64(i))
    deliverArguments += [0] + shortstr("") + shortstr("orders")
    server += method(1, 60, 60, deliverArguments)
    let header: [UInt8] = be16(60) + be16(0) + be64(UInt64(bodySize)) + be16(0)
    server += frame(2, 1, header)
    server += frame(3, 1, [UInt8](repeating: 0x61, count: bodySize))
    client += method(1, 60, 80, be64(UInt64(i)) + [0])
    serverEnds.append(server.count)
    clientEnds.append(client.count)
}
let frames = 2 + deliveries * 4  // consume, consume-ok; per message deliver, header, body, ack
let segment = 1448

/// Interleaves the two directions segment by segment, as a capture would.
/// CPU time of this thread: on a shared machine wall time also counts the waits for a core.
func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

func run(server: [UInt8], client: [UInt8], serverEnds: [Int], clientEnds: [Int]) -> (outcomes: Int, seconds: Double, cpu: Double) {
    let sink = CountingSink()
    let observer = AMQPObserver(sink: sink)
    let info = ConnectionInfo(
        id: 1, client: Endpoint(address: IPAddress(ipv4: 0x0A00_0001), port: 40000),
        server: Endpoint(address: IPAddress(ipv4: 0x0A00_0002), port: 5672), roleSource: .handshake,
        synTime: Timestamp(nanoseconds: 0), firstSeen: Timestamp(nanoseconds: 0))
    let connection = observer.makeConnectionObserver(for: info)
    let clock = ContinuousClock()
    let start = clock.now
    let cpuStart = threadCPUSeconds()
    server.withUnsafeBytes { s in
        client.withUnsafeBytes { c in
            var si = 0, ci = 0, t: Int64 = 1, answered = 0
            var clientLimit = clientPreamble  // header, channel.open, basic.consume
            while si < s.count || ci < c.count {
                if si == 0 {
                    // The consume goes first.
                    connection.streamData(UnsafeRawBufferPointer(rebasing: c[0..<clientPreamble]), direction: .clientToServer, time: Timestamp(nanoseconds: t))
                    ci = clientPreamble
                }
                if si < s.count {
                    let n = min(segment, s.count - si)
                    connection.streamData(UnsafeRawBufferPointer(rebasing: s[si..<si + n]), direction: .serverToClient, time: Timestamp(nanoseconds: t))
                    si += n
                    t += 1000
                }
                // The client answers each delivery once the broker's bytes carried it.
                while answered < serverEnds.count && serverEnds[answered] <= si {
                    clientLimit = clientEnds[answered]
                    answered += 1
                }
                while ci < clientLimit {
                    let n = min(segment, clientLimit - ci)
                    connection.streamData(UnsafeRawBufferPointer(rebasing: c[ci..<ci + n]), direction: .clientToServer, time: Timestamp(nanoseconds: t))
                    ci += n
                    t += 1000
                }
            }
        }
    }
    let cpu = threadCPUSeconds() - cpuStart
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    precondition(observer.statistics.anomalies.isEmpty)
    return (sink.count, seconds, cpu)
}

print("AMQP throughput: \(deliveries) messages, body \(bodySize) B, \(frames) frames, \(server.count + client.count) bytes, segments of \(segment) B")
var best = Double.infinity
var bestCPU = Double.infinity
for round in 1...5 {
    let (outcomes, seconds, cpu) = run(server: server, client: client, serverEnds: serverEnds, clientEnds: clientEnds)
    precondition(outcomes == deliveries)
    best = min(best, seconds)
    bestCPU = min(bestCPU, cpu)
    let framesPerSecond = Double(frames) / seconds / 1e6
    let bytesPerSecond = Double(server.count + client.count) / seconds / 1e6
    print("round \(round): \(fmt(seconds, 3)) s wall, \(fmt(cpu, 3)) s CPU, \(fmt(framesPerSecond, 2)) M frames/s, \(fmt(bytesPerSecond, 0)) MB/s")
}
let bestFrames = Double(frames) / best / 1e6
let bestOutcomes = Double(deliveries) / best / 1e6
print("best: \(fmt(bestFrames, 2)) M frames/s, \(fmt(bestOutcomes, 2)) M outcomes/s (wall)")
print("best CPU: \(fmt(Double(frames) / bestCPU / 1e6, 2)) M frames/s, \(fmt(Double(deliveries) / bestCPU / 1e6, 2)) M outcomes/s, \(fmt(bestCPU / Double(frames) * 1e9, 0)) ns/frame")
