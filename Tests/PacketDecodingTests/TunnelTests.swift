// Tunnels: each header layout opened to the segment inside, every cut of one named as a
// truncation, every malformed header named, the nesting bound, the settings obeyed.
import Testing

@testable import PacketDecoding

@Suite struct TunnelTests {
    typealias B = PacketBytes

    static let tcp = B.tcp(payload: Array("GET / HTTP/1.1\r\nHost: pod\r\n\r\n".utf8))
    static let innerV4 = B.ipv4(payload: tcp)
    static let innerV6 = B.ipv6(payload: tcp)
    static let innerEthernet = B.ethernet(type: 0x0800, payload: innerV4)
    /// What the inner packets give on their own.
    static let segmentV4 = decode(innerV4, .ipv4)
    static let segmentV6 = decode(innerV6, .ipv6)

    static let nodeA: [UInt8] = [172, 16, 0, 1]
    static let nodeB: [UInt8] = [172, 16, 0, 2]

    /// Ethernet + IPv4 between two nodes, carrying `payload` as protocol `proto`.
    static func overIPv4(_ proto: UInt8, _ payload: [UInt8]) -> [UInt8] {
        B.ethernet(type: 0x0800, payload: B.ipv4(protocol: proto, source: nodeA, destination: nodeB, payload: payload))
    }

    /// Ethernet + IPv6 (with `extensions` first) between two nodes.
    static func overIPv6(_ next: UInt8, extensions: [UInt8] = [], _ payload: [UInt8]) -> [UInt8] {
        let a: [UInt8] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        let b: [UInt8] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]
        return B.ethernet(type: 0x86DD, payload: B.ipv6(nextHeader: next, source: a, destination: b, extensions: extensions, payload: payload))
    }

    struct Layout: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        /// The tunnels taken off, outermost first.
        var kinds: [TunnelKind]
        var innerIsIPv6 = false
        /// Where a UDP tunnel's destination port ends: a capture cut before it is plain UDP for all
        /// the decoder knows.
        var portEnd = 0
        var testDescription: String { name }
    }

    /// ip6tnl's default: a destination options header with a tunnel encapsulation limit (RFC 2473 §5.1).
    static let encapsulationLimit: [UInt8] = [41, 0, 4, 1, 4, 1, 1, 0]

    static let layouts: [Layout] = [
        Layout(
            name: "VXLAN on 4789 over IPv4",
            bytes: overIPv4(17, B.udp(destinationPort: 4789, payload: B.vxlan(payload: innerEthernet))),
            kinds: [.vxlan], portEnd: 14 + 20 + 4),
        Layout(
            name: "VXLAN on 8472 (flannel) over IPv6, inner IPv6",
            bytes: overIPv6(17, B.udp(destinationPort: 8472, payload: B.vxlan(payload: B.ethernet(type: 0x86DD, payload: innerV6)))),
            kinds: [.vxlan], innerIsIPv6: true, portEnd: 14 + 40 + 4),
        Layout(
            name: "VXLAN with the group policy flag, inner frame tagged",
            bytes: overIPv4(
                17, B.udp(destinationPort: 4789, payload: B.vxlan(flags: 0x88, payload: B.ethernet(type: 0x0800, tags: [(0x8100, 7)], payload: innerV4)))),
            kinds: [.vxlan], portEnd: 14 + 20 + 4),
        Layout(
            name: "Geneve with two options, Ethernet",
            bytes: overIPv4(
                17, B.udp(destinationPort: 6081, payload: B.geneve(
                    options: B.geneveOption(data: [1, 2, 3, 4]) + B.geneveOption(class: 0x0103, data: Array(repeating: 9, count: 8)),
                    payload: innerEthernet))),
            kinds: [.geneve], portEnd: 14 + 20 + 4),
        Layout(
            name: "Geneve carrying IPv6 directly",
            bytes: overIPv6(17, B.udp(destinationPort: 6081, payload: B.geneve(protocolType: 0x86DD, payload: innerV6))),
            kinds: [.geneve], innerIsIPv6: true, portEnd: 14 + 40 + 4),
        Layout(name: "GRE carrying IPv4", bytes: overIPv4(47, B.gre(payload: innerV4)), kinds: [.gre]),
        Layout(
            name: "GRE with checksum, key and sequence number carrying IPv6",
            bytes: overIPv4(47, B.gre(checksum: true, key: 7, sequence: 99, protocolType: 0x86DD, payload: innerV6)),
            kinds: [.gre], innerIsIPv6: true),
        Layout(
            name: "gretap: GRE with a key carrying Ethernet",
            bytes: overIPv4(47, B.gre(key: 1, protocolType: 0x6558, payload: innerEthernet)), kinds: [.gre]),
        Layout(name: "ip6gre carrying IPv4", bytes: overIPv6(47, B.gre(payload: innerV4)), kinds: [.gre]),
        Layout(name: "IPv4 in IPv4 (ipip)", bytes: overIPv4(4, innerV4), kinds: [.ipv4InIPv4]),
        Layout(name: "IPv6 in IPv4 (sit)", bytes: overIPv4(41, innerV6), kinds: [.ipv6InIPv4], innerIsIPv6: true),
        Layout(
            name: "IPv4 in IPv6 (ip6tnl, encapsulation limit)", bytes: overIPv6(60, extensions: [4] + encapsulationLimit.dropFirst(), innerV4),
            kinds: [.ipv4InIPv6]),
        Layout(
            name: "IPv6 in IPv6 (ip6tnl, encapsulation limit)", bytes: overIPv6(60, extensions: encapsulationLimit, innerV6),
            kinds: [.ipv6InIPv6], innerIsIPv6: true),
        Layout(
            name: "VXLAN inside GRE",
            bytes: overIPv4(47, B.gre(payload: B.ipv4(protocol: 17, payload: B.udp(destinationPort: 4789, payload: B.vxlan(payload: innerEthernet))))),
            kinds: [.gre, .vxlan], portEnd: 14 + 20 + 4 + 20 + 4),
    ]

    @Test(arguments: layouts)
    func eachLayoutGivesTheSegmentInside(_ layout: Layout) {
        #expect(decode(layout.bytes, .ethernet) == (layout.innerIsIPv6 ? Self.segmentV6 : Self.segmentV4))
        var decoder = PacketDecoder()
        layout.bytes.withUnsafeBytes {
            _ = decoder.decode($0, originalLength: $0.count, linkType: .ethernet, timestamp: testTimestamp)
        }
        #expect(decoder.counters.tcpSegments == 1)
        for kind in TunnelKind.allCases {
            #expect(decoder.counters[decapsulated: kind] == UInt64(layout.kinds.count { $0 == kind }), "\(kind)")
        }
        // Off, a tunnel is what it was before: not TCP.
        #expect(decode(layout.bytes, .ethernet, tunnels: .off) == .anomaly(.notTCP))
    }

    /// Whatever the snaplen cuts, the headers left are named as cut (never malformed, never a crash),
    /// or the segment comes with the payload it has.
    @Test(arguments: layouts)
    func everyCutIsNamedATruncation(_ layout: Layout) {
        for cut in 0..<layout.bytes.count {
            switch decode(Array(layout.bytes.prefix(cut)), .ethernet, originalLength: layout.bytes.count) {
            case .anomaly(let anomaly):
                #expect(anomaly.isTruncation || (anomaly == .notTCP && cut < layout.portEnd), "cut at \(cut): \(anomaly)")
            case .segment(let segment):
                #expect(segment.payload.count < segment.payloadLength, "cut at \(cut)")
            }
        }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        var expected: DecodeAnomaly
        var originalLength: Int?
        var testDescription: String { name }
    }

    static let vxlanFrame = B.vxlan(payload: innerEthernet)

    static let anomalyCases: [Case] = [
        Case(name: "plain UDP", bytes: overIPv4(17, B.udp(destinationPort: 53, payload: [1, 2, 3, 4])), expected: .notTCP),
        Case(name: "UDP to 4789 of 6 bytes", bytes: overIPv4(17, [0xC7, 0x38, 0x12, 0xB5, 0, 6]), expected: .malformedUDPHeader),
        Case(
            name: "UDP to 4789 cut in its header",
            bytes: Array(overIPv4(17, B.udp(destinationPort: 4789, payload: vxlanFrame)).prefix(14 + 20 + 6)),
            expected: .truncatedUDPHeader, originalLength: 14 + 20 + 8 + vxlanFrame.count),
        Case(
            name: "UDP length 4", bytes: overIPv4(17, B.udp(destinationPort: 4789, length: 4, payload: vxlanFrame)),
            expected: .malformedUDPHeader),
        Case(
            name: "UDP length beyond the IP packet",
            bytes: overIPv4(17, B.udp(destinationPort: 4789, length: 8 + vxlanFrame.count + 1, payload: vxlanFrame)),
            expected: .malformedUDPHeader),
        Case(
            name: "UDP length that leaves half a VXLAN header",
            bytes: overIPv4(17, B.udp(destinationPort: 4789, length: 12, payload: vxlanFrame)), expected: .malformedVXLANHeader),
        Case(
            name: "VXLAN without the I flag",
            bytes: overIPv4(17, B.udp(destinationPort: 4789, payload: B.vxlan(flags: 0, payload: innerEthernet))),
            expected: .malformedVXLANHeader),
        Case(
            name: "VXLAN cut in its header",
            bytes: Array(overIPv4(17, B.udp(destinationPort: 4789, payload: vxlanFrame)).prefix(14 + 20 + 8 + 5)),
            expected: .truncatedVXLANHeader, originalLength: 14 + 20 + 8 + vxlanFrame.count),
        Case(
            name: "VXLAN carrying 3 bytes",
            bytes: overIPv4(17, B.udp(destinationPort: 4789, payload: B.vxlan(payload: [1, 2, 3]))), expected: .malformedLinkHeader),
        Case(
            name: "VXLAN carrying ARP",
            bytes: overIPv4(17, B.udp(destinationPort: 4789, payload: B.vxlan(payload: B.ethernet(type: 0x0806, payload: [0, 1])))),
            expected: .notIP),
        Case(
            name: "Geneve version 1",
            bytes: overIPv4(17, B.udp(destinationPort: 6081, payload: B.geneve(version: 1, payload: innerEthernet))),
            expected: .malformedGeneveHeader),
        Case(
            name: "Geneve of 6 bytes", bytes: overIPv4(17, B.udp(destinationPort: 6081, payload: [0, 0, 0x65, 0x58, 0, 0])),
            expected: .malformedGeneveHeader),
        Case(
            name: "Geneve options beyond the datagram",
            bytes: overIPv4(17, B.udp(destinationPort: 6081, payload: B.geneve(optionWords: 63, payload: [1, 2, 3, 4]))),
            expected: .malformedGeneveHeader),
        Case(
            name: "Geneve option longer than the options",
            bytes: overIPv4(
                17, B.udp(destinationPort: 6081, payload: B.geneve(options: B.geneveOption(data: [1, 2, 3, 4], words: 2), payload: innerEthernet))),
            expected: .malformedGeneveHeader),
        Case(
            name: "Geneve cut in its options",
            bytes: Array(
                overIPv4(17, B.udp(destinationPort: 6081, payload: B.geneve(options: B.geneveOption(data: [1, 2, 3, 4]), payload: innerEthernet)))
                    .prefix(14 + 20 + 8 + 8 + 6)),
            expected: .truncatedGeneveHeader, originalLength: 14 + 20 + 8 + 8 + 8 + innerEthernet.count),
        Case(
            name: "Geneve carrying ARP",
            bytes: overIPv4(17, B.udp(destinationPort: 6081, payload: B.geneve(protocolType: 0x0806, payload: [0, 1]))),
            expected: .notIP),
        Case(name: "GRE version 2", bytes: overIPv4(47, B.gre(version: 2, payload: innerV4)), expected: .malformedGREHeader),
        Case(name: "GRE version 1 (PPTP)", bytes: overIPv4(47, B.gre(version: 1, protocolType: 0x880B, payload: [1, 2])), expected: .notIP),
        Case(name: "GRE with RFC 1701 routing", bytes: overIPv4(47, B.gre(extraFlags: 0x4000, payload: innerV4)), expected: .malformedGREHeader),
        Case(name: "GRE with strict source route", bytes: overIPv4(47, B.gre(extraFlags: 0x0800, payload: innerV4)), expected: .malformedGREHeader),
        Case(name: "GRE of 2 bytes", bytes: overIPv4(47, [0, 0]), expected: .malformedGREHeader),
        Case(name: "GRE announcing a key it lacks", bytes: overIPv4(47, [0x20, 0, 0x08, 0, 1]), expected: .malformedGREHeader),
        Case(
            name: "GRE cut in its key",
            bytes: Array(overIPv4(47, B.gre(key: 5, payload: innerV4)).prefix(14 + 20 + 6)),
            expected: .truncatedGREHeader, originalLength: 14 + 20 + 8 + innerV4.count),
        Case(name: "GRE carrying PPP", bytes: overIPv4(47, B.gre(protocolType: 0x880B, payload: [1, 2])), expected: .notIP),
        Case(name: "IPv4 in IPv4 carrying IPv6", bytes: overIPv4(4, innerV6), expected: .malformedIPVersion),
        Case(
            name: "IPv4 in IPv4, inner packet longer than the outer",
            bytes: overIPv4(4, B.ipv4(totalLength: innerV4.count + 20, payload: tcp)), expected: .malformedIPv4TotalLength),
        Case(
            name: "IPv6 in IPv4 cut in the inner header",
            bytes: Array(overIPv4(41, innerV6).prefix(14 + 20 + 30)), expected: .truncatedIPv6Header,
            originalLength: 14 + 20 + innerV6.count),
        Case(name: "IPv6 in IPv4 of 30 bytes", bytes: overIPv4(41, Array(innerV6.prefix(30))), expected: .malformedIPv6Header),
    ]

    @Test(arguments: anomalyCases)
    func anomaliesAreNamed(_ c: Case) {
        #expect(decode(c.bytes, .ethernet, originalLength: c.originalLength) == .anomaly(c.expected))
    }

    @Test func nestingStopsAtTheMaximumDepth() {
        var packet = Self.innerV4
        for _ in 0..<TunnelSettings.maximumDepth { packet = B.ipv4(protocol: 4, payload: packet) }
        #expect(decode(packet, .ipv4) == Self.segmentV4)
        let tooDeep = B.ipv4(protocol: 4, payload: packet)
        var decoder = PacketDecoder()
        tooDeep.withUnsafeBytes { _ = decoder.decode($0, originalLength: $0.count, linkType: .ipv4, timestamp: testTimestamp) }
        #expect(decoder.counters[.tunnelTooDeep] == 1)
        #expect(decoder.counters[decapsulated: .ipv4InIPv4] == UInt64(TunnelSettings.maximumDepth))
        #expect(decoder.counters.tcpSegments == 0)
    }

    @Test func udpPortsAreTheConfiguredOnes() {
        let on4790 = Self.overIPv4(17, B.udp(destinationPort: 4790, payload: Self.vxlanFrame))
        #expect(decode(on4790, .ethernet) == .anomaly(.notTCP))
        #expect(decode(on4790, .ethernet, tunnels: TunnelSettings(vxlanPorts: [4790])) == Self.segmentV4)
        // The source port says nothing: replies go to the tunnel port too.
        let fromVXLANPort = Self.overIPv4(17, B.udp(sourcePort: 4789, destinationPort: 40000, payload: Self.vxlanFrame))
        #expect(decode(fromVXLANPort, .ethernet) == .anomaly(.notTCP))
        // Flannel's port, once left out, is plain UDP.
        let on8472 = Self.overIPv4(17, B.udp(destinationPort: 8472, payload: Self.vxlanFrame))
        #expect(decode(on8472, .ethernet, tunnels: TunnelSettings(vxlanPorts: [4789])) == .anomaly(.notTCP))
        // A Geneve port reads Geneve.
        let geneveOn4789 = Self.overIPv4(17, B.udp(destinationPort: 4789, payload: B.geneve(payload: Self.innerEthernet)))
        #expect(decode(geneveOn4789, .ethernet, tunnels: TunnelSettings(vxlanPorts: [], genevePorts: [4789])) == Self.segmentV4)
    }

    @Test func countersAddTheTunnelCounts() {
        var a = DecodeCounters()
        var b = DecodeCounters()
        a[decapsulated: .vxlan] = 2
        b[decapsulated: .vxlan] = 3
        b[decapsulated: .gre] = 1
        #expect(a != b)
        a.add(b)
        #expect(a[decapsulated: .vxlan] == 5)
        #expect(a[decapsulated: .gre] == 1)
        #expect(TunnelKind.allCases.map(\.label) == ["vxlan", "geneve", "gre", "ipv4_in_ipv4", "ipv6_in_ipv4", "ipv4_in_ipv6", "ipv6_in_ipv6"])
    }
}
