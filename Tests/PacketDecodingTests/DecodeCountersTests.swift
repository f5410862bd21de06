import PacketDecoding
import Testing

@Suite struct DecodeCountersTests {
    @Test func everyAnomalyHasASlotAndAUniqueSnakeCaseLabel() {
        #expect(DecodeAnomaly.allCases.count == DecodeCounters.anomalyCount)
        let labels = DecodeAnomaly.allCases.map(\.label)
        #expect(Set(labels).count == labels.count)
        for label in labels {
            #expect(label.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "\(label)")
        }
        #expect(DecodeAnomaly.truncatedIPv4Header.label == "truncated_ipv4_header")
        #expect(DecodeAnomaly.malformedTCPDataOffset.label == "malformed_tcp_data_offset")
        #expect(DecodeAnomaly.allCases.filter(\.isTruncation).count == 10)
        #expect(DecodeAnomaly.allCases.filter(\.isMalformation).count == 14)
        #expect(TunnelKind.allCases.count == DecodeCounters.tunnelKindCount)
        #expect(FragmentDrop.allCases.count == DecodeCounters.fragmentDropCount)
        let dropLabels = FragmentDrop.allCases.map(\.label)
        #expect(Set(dropLabels).count == dropLabels.count)
    }

    @Test func decoderCountsPacketsBytesSegmentsAndReasons() {
        typealias B = PacketBytes
        let good = B.ethernet(type: 0x0800, payload: B.ipv4(payload: B.tcp(payload: [1, 2, 3, 4, 5])))
        let arp = B.ethernet(type: 0x0806, payload: Array(repeating: 0, count: 28))
        let udp = B.ethernet(type: 0x0800, payload: B.ipv4(protocol: 17, payload: Array(repeating: 0, count: 8)))
        var decoder = PacketDecoder()
        func feed(_ bytes: [UInt8], captured: Int? = nil) -> Bool {
            bytes.withUnsafeBytes { raw in
                decoder.decode(
                    UnsafeRawBufferPointer(rebasing: raw[0..<(captured ?? bytes.count)]), originalLength: bytes.count,
                    linkType: .ethernet, timestamp: testTimestamp) != nil
            }
        }
        #expect(feed(good))
        #expect(feed(good, captured: good.count - 2))  // payload cut by snaplen
        #expect(!feed(arp))
        #expect(!feed(arp))
        #expect(!feed(udp))
        #expect(!feed(good, captured: 20))
        let c = decoder.counters
        #expect(c.packets == 6)
        #expect(c.bytes == UInt64(3 * good.count + 2 * arp.count + udp.count))
        #expect(c.tcpSegments == 2)
        #expect(c.tcpPayloadBytes == 8)
        #expect(c.truncatedPayloadSegments == 1)
        #expect(c[.notIP] == 2)
        #expect(c[.notTCP] == 1)
        #expect(c[.truncatedIPv4Header] == 1)
        #expect(c.anomalies == 4)
        #expect(c.nonZeroAnomalies.map(\.anomaly) == [.truncatedIPv4Header, .notIP, .notTCP])

        var total = DecodeCounters()
        total.add(c)
        total.add(c)
        #expect(total.packets == 12 && total[.notIP] == 4 && total.anomalies == 8)
        #expect(total != c)
    }
}
