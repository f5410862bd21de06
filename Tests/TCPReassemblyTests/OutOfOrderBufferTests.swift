// The out-of-order buffer keeps sorted, non-overlapping pieces and says what each insert did.

import PacketDecoding
import Testing
@testable import TCPReassembly

@Suite struct OutOfOrderBufferTests {
    private func insert(
        _ buffer: OutOfOrderBuffer, _ sequence: UInt32, _ text: String
    ) -> OutOfOrderBuffer.InsertOutcome {
        Array(text.utf8).withUnsafeBytes { bytes in
            buffer.insert(sequence: TCPSequence(sequence), bytes: bytes, missingAfter: 0, time: .zero,
                          base: TCPSequence(1000))
        }
    }

    private func contents(_ buffer: OutOfOrderBuffer) -> [String] {
        buffer.pieces.map { "\($0.sequence):" + String(decoding: $0.bytes, as: UTF8.self) }
    }

    @Test func overlapEndingWhereTheNextPieceStartsAddsNothing() {
        let buffer = OutOfOrderBuffer()
        _ = insert(buffer, 1005, "AB")
        _ = insert(buffer, 1007, "CD")
        let outcome = insert(buffer, 1005, "ABX")
        #expect(contents(buffer) == ["1005:AB", "1007:CD"])
        #expect(outcome.addedPieces == 0)
        #expect(outcome.addedBytes == 0)
        #expect(outcome.duplicateBytes == 3)
        #expect(outcome.conflictingBytes == 1)
        #expect(buffer.byteCount == 4)
    }

    @Test func segmentSpanningPiecesReplacesThemAndKeepsEdges() {
        let buffer = OutOfOrderBuffer()
        _ = insert(buffer, 1002, "bc")
        _ = insert(buffer, 1006, "f")
        _ = insert(buffer, 1009, "ij")
        let outcome = insert(buffer, 1003, "CDEFGHI")  // 1003..<1010
        #expect(contents(buffer) == ["1002:bc", "1004:DEFGH", "1009:ij"])
        #expect(outcome.addedPieces == 0)  // one added, one ("f") replaced
        #expect(outcome.addedBytes == 4)
        #expect(outcome.duplicateBytes == 3)  // "c", "f", "i"
        #expect(outcome.conflictingBytes == 3)  // "c" vs "C", "f" vs "F", "i" vs "I"
        #expect(buffer.byteCount == 9)
        #expect(buffer.footprint == 9 + 3 * OutOfOrderBuffer.pieceOverhead)
    }

    @Test func piecesComeOutInSequenceOrder() {
        let buffer = OutOfOrderBuffer()
        _ = insert(buffer, 1020, "c")
        _ = insert(buffer, 1001, "a")
        _ = insert(buffer, 1010, "b")
        #expect(contents(buffer) == ["1001:a", "1010:b", "1020:c"])
        #expect(buffer.removeFirst().sequence == TCPSequence(1001))
        #expect(buffer.byteCount == 2)
    }
}

@Suite struct MoreReassemblyTests {
    @Test func keepAliveProbeIsNotDelivered() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, handshake + [c(1001, "hi", ack: 5001), c(1002, "x", ack: 5001), c(1003, "!", ack: 5001)])
        #expect(factory.only.client == "hi!")
        #expect(reassembler.statistics.retransmittedBytes == 1)
    }

    @Test func refusedConnectionEndsByReset() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, [c(1000, "", .syn), s(0, "", .rst, ack: 1001)])
        #expect(factory.only.client == "|reset")
        #expect(factory.only.server == "|reset")
        #expect(reassembler.statistics.connectionsClosedByReset == 1)
        #expect(reassembler.activeConnections == 0)
    }

    @Test func ipv6ConnectionsAreKeptApartFromIPv4() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        let v6Client = Endpoint(address: IPAddress("fe80::1")!, port: 40000)
        let v6Server = Endpoint(address: IPAddress("fe80::2")!, port: 80)
        let bytes = Array("six".utf8)
        bytes.withUnsafeBytes { payload in
            reassembler.process(TCPSegment(source: v6Client, destination: v6Server, sequenceNumber: 1,
                                           acknowledgmentNumber: 0, flags: [], window: 0, payload: payload,
                                           payloadLength: 3, timestamp: ms(1)))
        }
        feed(reassembler, [c(1, "four")])
        #expect(factory.consumers.map(\.client) == ["six", "four"])
        #expect(factory.consumers[0].info.client == v6Client)
    }
}
