import PacketDecoding
import Testing

@Suite struct LinkLayerTests {
    static let payload: [UInt8] = Array("GET / HTTP/1.1\r\n\r\n".utf8)
    static let segment = PacketBytes.tcp(
        sequence: 0xFFFF_FFF0, acknowledgment: 7, flags: 0x18, window: 0xFFFF, payload: payload)
    static let v4 = PacketBytes.ipv4(payload: segment)
    static let v6 = PacketBytes.ipv6(payload: segment)

    static let expectedV4 = Outcome.Segment(
        source: Endpoint(address: IPAddress("10.0.0.1")!, port: 40000),
        destination: Endpoint(address: IPAddress("192.168.1.2")!, port: 80),
        sequence: 0xFFFF_FFF0, acknowledgment: 7, flags: 0x18, window: 0xFFFF,
        payload: payload, payloadLength: payload.count, timestamp: testTimestamp)
    static var expectedV6: Outcome.Segment {
        var s = expectedV4
        s.source.address = IPAddress("2001:db8::1")!
        s.destination.address = IPAddress("2001:db8::2")!
        return s
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var linkType: LinkType
        var bytes: [UInt8]
        var isIPv6: Bool
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "Ethernet IPv4", linkType: .ethernet, bytes: PacketBytes.ethernet(type: 0x0800, payload: v4),
            isIPv6: false),
        Case(
            name: "Ethernet IPv6", linkType: .ethernet, bytes: PacketBytes.ethernet(type: 0x86DD, payload: v6),
            isIPv6: true),
        Case(
            name: "802.1Q", linkType: .ethernet,
            bytes: PacketBytes.ethernet(type: 0x0800, tags: [(0x8100, 42)], payload: v4), isIPv6: false),
        Case(
            name: "QinQ 802.1ad + 802.1Q", linkType: .ethernet,
            bytes: PacketBytes.ethernet(type: 0x86DD, tags: [(0x88A8, 100), (0x8100, 42)], payload: v6), isIPv6: true),
        Case(
            name: "QinQ 0x9100 + 802.1Q + 802.1Q", linkType: .ethernet,
            bytes: PacketBytes.ethernet(type: 0x0800, tags: [(0x9100, 1), (0x8100, 2), (0x8100, 3)], payload: v4),
            isIPv6: false),
        Case(
            name: "Linux SLL IPv4", linkType: .linuxSLL, bytes: PacketBytes.linuxSLL(protocol: 0x0800, payload: v4),
            isIPv6: false),
        Case(
            name: "Linux SLL IPv6", linkType: .linuxSLL, bytes: PacketBytes.linuxSLL(protocol: 0x86DD, payload: v6),
            isIPv6: true),
        // What libpcap gives on `any` for a frame received with an 802.1Q tag: the tag the
        // kernel kept beside the packet written back after the SLL header.
        Case(
            name: "Linux SLL 802.1Q IPv4", linkType: .linuxSLL,
            bytes: PacketBytes.linuxSLL(protocol: 0x8100, payload: PacketBytes.be16(100) + PacketBytes.be16(0x0800) + v4),
            isIPv6: false),
        Case(
            name: "Linux SLL QinQ IPv6", linkType: .linuxSLL,
            bytes: PacketBytes.linuxSLL(
                protocol: 0x88A8,
                payload: PacketBytes.be16(100) + PacketBytes.be16(0x8100) + PacketBytes.be16(42) + PacketBytes.be16(0x86DD) + v6),
            isIPv6: true),
        Case(
            name: "Linux SLL2 IPv4", linkType: .linuxSLL2, bytes: PacketBytes.linuxSLL2(protocol: 0x0800, payload: v4),
            isIPv6: false),
        Case(
            name: "Linux SLL2 802.1Q IPv4", linkType: .linuxSLL2,
            bytes: PacketBytes.linuxSLL2(protocol: 0x8100, payload: PacketBytes.be16(100) + PacketBytes.be16(0x0800) + v4),
            isIPv6: false),
        Case(
            name: "Linux SLL2 IPv6", linkType: .linuxSLL2, bytes: PacketBytes.linuxSLL2(protocol: 0x86DD, payload: v6),
            isIPv6: true),
        Case(
            name: "NULL little-endian AF_INET", linkType: .null,
            bytes: PacketBytes.null(family: 2, littleEndian: true, payload: v4), isIPv6: false),
        Case(
            name: "NULL big-endian AF_INET", linkType: .null,
            bytes: PacketBytes.null(family: 2, littleEndian: false, payload: v4), isIPv6: false),
        Case(
            name: "NULL little-endian AF_INET6 (Darwin 30)", linkType: .null,
            bytes: PacketBytes.null(family: 30, littleEndian: true, payload: v6), isIPv6: true),
        Case(
            name: "NULL big-endian AF_INET6 (FreeBSD 28)", linkType: .null,
            bytes: PacketBytes.null(family: 28, littleEndian: false, payload: v6), isIPv6: true),
        Case(
            name: "NULL AF_INET6 (Linux 10)", linkType: .null,
            bytes: PacketBytes.null(family: 10, littleEndian: true, payload: v6), isIPv6: true),
        Case(
            name: "LOOP AF_INET", linkType: .loop, bytes: PacketBytes.null(family: 2, littleEndian: false, payload: v4),
            isIPv6: false),
        Case(
            name: "LOOP AF_INET6 (OpenBSD 24)", linkType: .loop,
            bytes: PacketBytes.null(family: 24, littleEndian: false, payload: v6), isIPv6: true),
        Case(name: "raw IPv4", linkType: .raw, bytes: v4, isIPv6: false),
        Case(name: "raw IPv6", linkType: .raw, bytes: v6, isIPv6: true),
        Case(name: "LINKTYPE_IPV4", linkType: .ipv4, bytes: v4, isIPv6: false),
        Case(name: "LINKTYPE_IPV6", linkType: .ipv6, bytes: v6, isIPv6: true),
    ]

    @Test(arguments: cases)
    func decodesTheSameSegmentOnEveryLink(_ c: Case) {
        #expect(decode(c.bytes, c.linkType) == .segment(c.isIPv6 ? Self.expectedV6 : Self.expectedV4))
    }

    @Test func linkTypesMapFromDLTValues() {
        let expected: [Int32: LinkType] = [
            0: .null, 1: .ethernet, 12: .raw, 14: .raw, 101: .raw, 108: .loop, 113: .linuxSLL, 228: .ipv4, 229: .ipv6,
            276: .linuxSLL2,
        ]
        for (dlt, type) in expected { #expect(LinkType(dlt: dlt) == type) }
        #expect(LinkType(dlt: 147) == nil)
        #expect(LinkType(dlt: 105) == nil)  // 802.11
    }

    struct NotIPCase: Sendable, CustomTestStringConvertible {
        var name: String
        var linkType: LinkType
        var bytes: [UInt8]
        var testDescription: String { name }
    }

    @Test(arguments: [
        NotIPCase(
            name: "ARP", linkType: .ethernet,
            bytes: PacketBytes.ethernet(type: 0x0806, payload: Array(repeating: 0, count: 28))),
        NotIPCase(
            name: "ARP in 802.1Q", linkType: .ethernet,
            bytes: PacketBytes.ethernet(type: 0x0806, tags: [(0x8100, 5)], payload: Array(repeating: 0, count: 28))),
        NotIPCase(
            name: "802.3 length field", linkType: .ethernet,
            bytes: PacketBytes.ethernet(type: 46, payload: Array(repeating: 0, count: 46))),
        NotIPCase(
            name: "SLL ARP", linkType: .linuxSLL, bytes: PacketBytes.linuxSLL(protocol: 0x0806, payload: [1, 2])),
        NotIPCase(
            name: "SLL2 LLDP", linkType: .linuxSLL2, bytes: PacketBytes.linuxSLL2(protocol: 0x88CC, payload: [1, 2])),
        NotIPCase(
            name: "NULL AF 7", linkType: .null, bytes: PacketBytes.null(family: 7, littleEndian: true, payload: v4)),
        NotIPCase(
            name: "LOOP little-endian AF_INET is not AF_INET", linkType: .loop,
            bytes: PacketBytes.null(family: 2, littleEndian: true, payload: v4)),
    ])
    func otherProtocolsAreNotIP(_ c: NotIPCase) {
        #expect(decode(c.bytes, c.linkType) == .anomaly(.notIP))
    }

    @Test func ipVersionMustMatchTheLinkLayer() {
        #expect(
            decode(PacketBytes.ethernet(type: 0x0800, payload: Self.v6), .ethernet) == .anomaly(.malformedIPVersion))
        #expect(
            decode(PacketBytes.ethernet(type: 0x86DD, payload: Self.v4), .ethernet) == .anomaly(.malformedIPVersion))
        #expect(decode(Self.v6, .ipv4) == .anomaly(.malformedIPVersion))
        #expect(decode(Self.v4, .ipv6) == .anomaly(.malformedIPVersion))
        #expect(decode([0x50] + Self.v4.dropFirst(), .raw) == .anomaly(.malformedIPVersion))
    }

    @Test func shortFramesAreMalformedWhenThePacketItselfIsShort() {
        // A 10-byte frame that was 10 bytes on the wire: malformed, not truncated.
        #expect(decode(Array(repeating: 0, count: 10), .ethernet) == .anomaly(.malformedLinkHeader))
        #expect(decode(Array(repeating: 0, count: 10), .ethernet, originalLength: 60) == .anomaly(.truncatedLinkHeader))
        #expect(decode(Array(repeating: 0, count: 15), .linuxSLL) == .anomaly(.malformedLinkHeader))
        let sllTag = PacketBytes.linuxSLL(protocol: 0x8100, payload: [0, 100])
        #expect(decode(sllTag, .linuxSLL, originalLength: 100) == .anomaly(.truncatedVLANTag))
        #expect(decode(sllTag, .linuxSLL) == .anomaly(.malformedLinkHeader))
        #expect(
            decode(Array(repeating: 0, count: 19), .linuxSLL2, originalLength: 100) == .anomaly(.truncatedLinkHeader))
        let sll2Tag = PacketBytes.linuxSLL2(protocol: 0x8100, payload: [0, 100])
        #expect(decode(sll2Tag, .linuxSLL2, originalLength: 100) == .anomaly(.truncatedVLANTag))
        #expect(decode([2, 0, 0], .null) == .anomaly(.malformedLinkHeader))
        // Exactly long enough on the wire: the capture cut it.
        #expect(decode(Array(repeating: 0, count: 10), .ethernet, originalLength: 14) == .anomaly(.truncatedLinkHeader))
        #expect(decode(Array(repeating: 0, count: 10), .ethernet, originalLength: 13) == .anomaly(.malformedLinkHeader))
        #expect(decode([0x45, 0, 0, 20], .raw, originalLength: 20) == .anomaly(.truncatedIPv4Header))
        #expect(decode([0x45, 0, 0, 20], .raw, originalLength: 19) == .anomaly(.malformedIPv4Header))
        #expect(decode([], .raw) == .anomaly(.malformedIPv4Header))
        #expect(decode([], .raw, originalLength: 40) == .anomaly(.truncatedIPv4Header))
        let tagged = PacketBytes.ethernet(type: 0x0800, tags: [(0x8100, 42)], payload: Self.v4)
        #expect(
            decode(Array(tagged.prefix(16)), .ethernet, originalLength: tagged.count) == .anomaly(.truncatedVLANTag))
        #expect(decode(Array(tagged.prefix(16)), .ethernet) == .anomaly(.malformedLinkHeader))
    }
}
