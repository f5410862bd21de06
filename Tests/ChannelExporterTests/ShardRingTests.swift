// The hand-off of a sharded replay: segments, sweeps, secrets and the end go through a shard's ring
// in order, whole, whatever their size, while the consumer runs on another thread.
@testable import ChannelExporter
import Foundation
import PacketDecoding
import Testing

@Suite struct ShardRingTests {
    /// A segment whose payload is `count` bytes of `seed`.
    static func segment(payload: UnsafeRawBufferPointer, time: Int64) -> TCPSegment {
        TCPSegment(
            source: Endpoint(address: IPAddress(ipv4: 0x0A00_0001), port: 40_000),
            destination: Endpoint(address: IPAddress(ipv4: 0x0A00_0002), port: 80), sequenceNumber: 7,
            acknowledgmentNumber: 9, flags: [.ack, .psh], window: 512, payload: payload, payloadLength: payload.count,
            timestamp: Timestamp(nanoseconds: time))
    }

    /// What the consumer read, as text lines (kind, ordinal, payload size and checksum or time).
    final class Reader: @unchecked Sendable {
        var lines: [String] = []
    }

    @Test func recordsArriveInOrderWholeThroughSmallBuffers() async throws {
        // Buffers smaller than some payloads: those grow their buffer; many batches are handed over.
        let ring = ShardRing(bufferSize: 4096, count: 2)
        let reader = Reader()
        let consumer = Thread {
            outer: while true {
                var batch = ShardBatchReader(ring.take())
                while let (header, body) = batch.next() {
                    switch header.kind {
                    case ShardRecord.segment:
                        let segment = ShardBatchReader.segment(at: body)
                        let sum = segment.payload.reduce(0) { $0 &+ Int($1) }
                        reader.lines.append("segment \(header.ordinal) \(segment.payload.count) \(sum) \(segment.sequenceNumber)")
                    case ShardRecord.sweep:
                        reader.lines.append("sweep \(header.ordinal) \(ShardBatchReader.time(at: body).nanoseconds)")
                    case ShardRecord.secrets:
                        reader.lines.append("secrets \(String(decoding: ShardBatchReader.secrets(at: body), as: UTF8.self))")
                    default:
                        reader.lines.append("end \(ShardBatchReader.time(at: body).nanoseconds)")
                        ring.release()
                        break outer
                    }
                }
                ring.release()
            }
        }
        consumer.start()
        var writer = ShardWriter(ring: ring)
        var expected: [String] = []
        for ordinal in UInt64(1)...300 {
            let count = Int(ordinal % 7 == 0 ? 70_000 + ordinal : ordinal * 13 % 1500)
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(ordinal)) }
            if ordinal % 50 == 0 {
                writer.append(ShardRecord.sweep, ordinal: ordinal, time: Timestamp(nanoseconds: Int64(ordinal) * 1000))
                expected.append("sweep \(ordinal) \(ordinal * 1000)")
            }
            if ordinal == 120 {
                let text = Array("CLIENT_RANDOM 00 11\n".utf8)
                text.withUnsafeBytes { writer.appendSecrets($0, ordinal: ordinal) }
                expected.append("secrets CLIENT_RANDOM 00 11\n")
            }
            bytes.withUnsafeBytes { writer.append(Self.segment(payload: $0, time: Int64(ordinal)), ordinal: ordinal) }
            expected.append("segment \(ordinal) \(count) \(bytes.reduce(0) { $0 &+ Int($1) }) 7")
        }
        writer.append(ShardRecord.end, ordinal: .max, time: Timestamp(nanoseconds: 42))
        writer.flush()
        expected.append("end 42")
        while !consumer.isFinished { try await Task.sleep(for: .milliseconds(5)) }
        #expect(reader.lines == expected)
    }

    @Test func theShardOfAConnectionIsTheSameBothWays() {
        // The reading thread's shard 3 parts, each worker's 5, the floating one 2: 3/15, 5/15, 5/15, 2/15.
        let split = ShardSplit(threads: 3)
        var counts = [Int](repeating: 0, count: 4)
        let server = Endpoint(address: IPAddress(ipv4: 0x0A00_0002), port: 80)
        for port in UInt16(30_000)..<UInt16(33_000) {
            let client = Endpoint(address: IPAddress(ipv4: 0x0A00_0001), port: port)
            var there = Self.segment(payload: UnsafeRawBufferPointer(start: nil, count: 0), time: 0)
            there.source = client
            there.destination = server
            var back = there
            back.source = server
            back.destination = client
            let shard = split.shard(of: there)
            #expect(split.shard(of: back) == shard)
            counts[shard] += 1
        }
        // Spread by the weights: each shard within 15 % of its part (3000 connections: a 2/15 part is
        // 400 ± 19 for random choices).
        let expected = split.weights.map { 3000 * $0 / split.totalWeight }
        #expect(zip(counts, expected).allSatisfy { abs($0 - $1) < $1 * 15 / 100 }, "\(counts) against \(expected)")
    }
}
