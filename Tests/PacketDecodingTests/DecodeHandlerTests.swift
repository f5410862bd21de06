@testable import PacketDecoding
import Testing

/// `decode(…, handle:)` (the pipeline's per-packet call) hands over exactly the segment the
/// layered decoder gives, once, and nothing for an anomaly; its counters are those the
/// outcomes imply, packet by packet.
@Suite struct DecodeHandlerTests {
    typealias Path = PlainIPv4PathTests

    /// A segment as the tests compare it (its payload copied out of the borrowed bytes).
    static func outcome(_ s: TCPSegment) -> Outcome.Segment {
        Outcome.Segment(
            source: s.source, destination: s.destination, sequence: s.sequenceNumber,
            acknowledgment: s.acknowledgmentNumber, flags: s.flags.rawValue, window: s.window,
            payload: Array(s.payload), payloadLength: s.payloadLength, timestamp: s.timestamp)
    }

    @Test func handsOverWhatTheLayeredDecoderGivesAndCountsIt() {
        var random = SeededGenerator(seed: 0xDEC0DE)
        // The reference decodes each packet alone: fragments are not reassembled on either side
        // (two mutated packets may make a datagram; FragmentReassemblerTests covers reassembly).
        var decoder = PacketDecoder(fragmentLimits: .off)
        var expected = DecodeCounters()
        var segments = 0, anomalies = 0
        for round in 0..<100_000 {
            let (packet, captured, original) = Path.mutated(round: round, changes: 0...2, using: &random)
            var handed: [Outcome.Segment] = []
            captured.withUnsafeBytes { raw in
                decoder.decode(raw, originalLength: original, linkType: packet.linkType, timestamp: testTimestamp) {
                    handed.append(Self.outcome($0))
                }
            }
            var decapsulated: [TunnelKind] = []
            let reference = Path.layered(captured, packet.linkType, originalLength: original, decapsulated: &decapsulated)
            for kind in decapsulated { expected[decapsulated: kind] += 1 }
            expected.packets += 1
            expected.bytes += UInt64(max(original, captured.count))
            switch reference {
            case .segment(let segment):
                segments += 1
                #expect(handed == [segment], "round \(round): \(packet.name)")
                expected.tcpSegments += 1
                expected.tcpPayloadBytes += UInt64(segment.payload.count)
                if segment.payload.count < segment.payloadLength { expected.truncatedPayloadSegments += 1 }
            case .anomaly(let anomaly):
                anomalies += 1
                #expect(handed.isEmpty, "round \(round): \(packet.name)")
                expected.record(anomaly)
            }
            if decoder.counters != expected {
                Issue.record("round \(round): \(packet.name): counters \(decoder.counters) != \(expected)")
                return
            }
        }
        // Both outcomes are exercised.
        #expect(segments > 20_000)
        #expect(anomalies > 20_000)
    }
}
