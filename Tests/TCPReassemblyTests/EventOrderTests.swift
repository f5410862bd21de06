// The reassembler in a pipeline of a split replay: connection ids from an `EventOrder`.

import PacketDecoding
import Testing
@testable import TCPReassembly

@Suite struct EventOrderTests {
    /// Feeds `packets`, each with its ordinal (from `first`, one a packet) set in `order` first.
    private func feed(_ reassembler: TCPReassembler, _ packets: [Packet], order: EventOrder, ordinals: [UInt64]) {
        for (position, packet) in packets.enumerated() {
            order.packet = ordinals[position]
            TCPReassemblyTests.feed(reassembler, packet, millisecond: packet.millisecond ?? Int64(position))
        }
    }

    @Test func withAnOrderAConnectionsIdIsTheOrdinalOfItsOpeningPacket() {
        let factory = RecordingFactory()
        let order = EventOrder()
        let reassembler = TCPReassembler(factory: factory, order: order)
        feed(reassembler, [c(1, "a", port: 1), c(2, "b", port: 1), c(1, "c", port: 2), c(1, "d", port: 3)],
             order: order, ordinals: [7, 9, 12, 40])
        #expect(factory.consumers.map(\.info.id) == [7, 12, 40])
    }

    @Test func withoutAnOrderIdsCountConnectionsFromOne() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        TCPReassemblyTests.feed(reassembler, [c(1, "a", port: 1), c(2, "b", port: 1), c(1, "c", port: 2),
                                              c(1, "d", port: 3)])
        #expect(factory.consumers.map(\.info.id) == [1, 2, 3])
    }
}
