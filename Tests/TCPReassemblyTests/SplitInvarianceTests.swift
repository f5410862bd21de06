// Split invariance: however the same byte streams are segmented, reordered or duplicated,
// the delivered streams are identical.

import PacketDecoding
import Testing
@testable import TCPReassembly

@Suite struct SplitInvarianceTests {
    enum Segmentation: Sendable, CustomTestStringConvertible {
        case whole
        case byteByByte
        case randomCuts(seed: UInt64)
        case randomCutsReorderedAndDuplicated(seed: UInt64)

        var testDescription: String {
            switch self {
            case .whole: "whole"
            case .byteByByte: "byte by byte"
            case let .randomCuts(seed): "random cuts, seed \(seed)"
            case let .randomCutsReorderedAndDuplicated(seed): "random cuts, reordered, duplicated, seed \(seed)"
            }
        }
    }

    static let clientISN: UInt32 = 0xFFFF_FE00  // the client stream crosses 2^32
    static let serverISN: UInt32 = 7_000

    static func stream(count: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// Data segments of one direction, cut as `segmentation` says, plus overlapping retransmissions.
    static func segments(
        of bytes: [UInt8], side: Side, isn: UInt32, segmentation: Segmentation, random: inout SplitMix64
    ) -> [Packet] {
        func piece(_ range: Range<Int>) -> Packet {
            Packet(side: side, sequence: isn &+ 1 &+ UInt32(range.lowerBound), ack: nil, flags: [],
                   payload: Array(bytes[range]), announcedLength: nil, millisecond: nil)
        }
        var packets: [Packet] = []
        switch segmentation {
        case .whole:
            packets.append(piece(0..<bytes.count))
        case .byteByByte:
            for i in 0..<bytes.count { packets.append(piece(i..<i + 1)) }
        case .randomCuts, .randomCutsReorderedAndDuplicated:
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + 1 + Int(random.next() % 300))
                packets.append(piece(start..<end))
                start = end
            }
        }
        if case .randomCutsReorderedAndDuplicated = segmentation {
            // Retransmissions with other boundaries than the originals.
            for _ in 0..<(packets.count / 3) {
                let start = Int(random.next() % UInt64(bytes.count))
                let end = min(bytes.count, start + 1 + Int(random.next() % 500))
                packets.insert(piece(start..<end), at: Int(random.next() % UInt64(packets.count + 1)))
            }
        }
        return packets
    }

    static let segmentations: [Segmentation] =
        [.whole, .byteByByte] + (1...6).map { .randomCuts(seed: $0) }
        + (1...12).map { .randomCutsReorderedAndDuplicated(seed: $0) }

    @Test(arguments: segmentations)
    func deliveredStreamsAreIdentical(_ segmentation: Segmentation) {
        let request = Self.stream(count: 3000, seed: 11)
        let response = Self.stream(count: 4500, seed: 12)
        var random = SplitMix64(seed: 99)
        let clientPackets = Self.segments(of: request, side: .client, isn: Self.clientISN, segmentation: segmentation,
                                          random: &random)
        let serverPackets = Self.segments(of: response, side: .server, isn: Self.serverISN,
                                          segmentation: segmentation, random: &random)
        // Interleave the two directions at random, keeping each one's order.
        var data: [Packet] = []
        var ci = 0, si = 0
        while ci < clientPackets.count || si < serverPackets.count {
            if si == serverPackets.count || (ci < clientPackets.count && random.next() % 2 == 0) {
                data.append(clientPackets[ci]); ci += 1
            } else {
                data.append(serverPackets[si]); si += 1
            }
        }
        if case .randomCutsReorderedAndDuplicated = segmentation {
            // Move packets up to 8 places later.
            for i in data.indices {
                let j = min(data.count - 1, i + Int(random.next() % 9))
                data.swapAt(i, j)
            }
        }
        let packets: [Packet] =
            [
                c(Self.clientISN, "", .syn), s(Self.serverISN, "", .syn, ack: Self.clientISN &+ 1),
            ] + data + [
                c(Self.clientISN &+ 1 &+ UInt32(request.count), "", .fin),
                s(Self.serverISN &+ 1 &+ UInt32(response.count), "", .fin),
            ]
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        // All within one second of packet time: no hole may time out.
        for (position, packet) in packets.enumerated() {
            feed(reassembler, packet, millisecond: Int64(position) * 1000 / Int64(packets.count))
        }
        let consumer = factory.only
        #expect(consumer.bytes(.clientToServer) == request)
        #expect(consumer.bytes(.serverToClient) == response)
        #expect(consumer.isEnded(.clientToServer) && consumer.isEnded(.serverToClient))
        #expect(consumer.events.last.map { if case .end(_, .fin, _) = $0 { true } else { false } } == true)
        let stats = reassembler.statistics
        #expect(stats.gaps == 0)
        #expect(stats.conflictingOverlapBytes == 0)
        #expect(stats.bufferedBytes == 0)
        #expect(stats.connectionsClosedByFin == 1)
        #expect(stats.connectionsActive == 0)
    }
}
