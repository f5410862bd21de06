// Dropped segments become gaps of exactly their size and place, however the rest is reordered.

import PacketDecoding
import Testing
@testable import TCPReassembly

@Suite struct GapPlacementTests {
    /// Delivered data with each gap as that many nils, for one direction.
    private func positions(_ consumer: RecordingConsumer, _ direction: StreamDirection) -> [UInt8?] {
        var result: [UInt8?] = []
        for event in consumer.events {
            switch event {
            case let .data(d, bytes, _) where d == direction: result += bytes.map { Optional($0) }
            case let .gap(d, length, _) where d == direction: result += Array(repeating: nil, count: length)
            default: break
            }
        }
        return result
    }

    enum Resolution: String, Sendable, CaseIterable { case finish, peerAck, holeTimeout }

    @Test(arguments: Array(1...8).flatMap { seed in Resolution.allCases.map { (UInt64(seed), $0) } })
    func droppedSegmentsBecomeGapsInPlace(seed: UInt64, resolution: Resolution) {
        var random = SplitMix64(seed: seed)
        let isn: UInt32 = 0xFFFF_F000
        let stream = (0..<6000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        var expected = stream.map { Optional($0) }
        var packets: [Packet] = []
        var start = 0
        var index = 0
        while start < stream.count {
            let end = min(stream.count, start + 1 + Int(random.next() % 400))
            // Never drop the first or the last segment: the stream's ends are known.
            if index > 0 && end < stream.count && random.next() % 5 == 0 {
                for k in start..<end { expected[k] = nil }
            } else {
                packets.append(Packet(side: .client, sequence: isn &+ 1 &+ UInt32(start), ack: nil, flags: [],
                                      payload: Array(stream[start..<end]), announcedLength: nil, millisecond: nil))
            }
            start = end
            index += 1
        }
        for i in packets.indices.dropFirst() {
            packets.swapAt(i, min(packets.count - 1, i + Int(random.next() % 5)))
        }
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, c(isn, "", .syn), millisecond: 0)
        for (i, packet) in packets.enumerated() { feed(reassembler, packet, millisecond: 1 + Int64(i)) }
        let last = Int64(packets.count) + 1
        let streamEnd = isn &+ 1 &+ UInt32(stream.count)
        switch resolution {
        case .finish:
            reassembler.finish(at: ms(last + 1))
        case .peerAck:
            feed(reassembler, s(1, ack: streamEnd), millisecond: last)
        case .holeTimeout:
            // Each expiry gives up on one hole; the clock keeps moving.
            for k in 1...200 { reassembler.expireIdle(now: ms(last + 2_000 * Int64(k))) }
        }
        let consumer = factory.only
        #expect(positions(consumer, .clientToServer) == expected)
        #expect(reassembler.statistics.gapBytes == UInt64(expected.filter { $0 == nil }.count))
        #expect(reassembler.statistics.bufferedBytes == 0)
    }
}
