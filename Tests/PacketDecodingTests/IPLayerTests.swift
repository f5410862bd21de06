import PacketDecoding
import Testing

@Suite struct IPLayerTests {
    typealias B = PacketBytes
    static let payload: [UInt8] = Array("hello".utf8)

    @Test func ipv4OptionsAndTCPOptionsAreSkipped() throws {
        let options: [UInt8] = [0x94, 0x04, 0, 0, 1, 1, 1, 0]  // router alert + NOP NOP NOP EOL
        let tcpOptions: [UInt8] = [2, 4, 0x05, 0xB4, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]  // MSS, NOP NOP, timestamps
        let bytes = B.ethernet(
            type: 0x0800, payload: B.ipv4(options: options, payload: B.tcp(options: tcpOptions, payload: Self.payload)))
        let segment = try #require(decode(bytes, .ethernet).segment)
        #expect(segment.payload == Self.payload)
        #expect(segment.payloadLength == 5)
        #expect(segment.destination.port == 80)
    }

    @Test func ethernetPaddingBeyondTheIPPacketIsIgnored() throws {
        // A bare ACK: 40 bytes of IP in a minimum 60-byte frame with 6 bytes of padding.
        let bytes =
            B.ethernet(type: 0x0800, payload: B.ipv4(payload: B.tcp(flags: 0x10))) + Array(repeating: 0xEE, count: 6)
        #expect(bytes.count == 60)
        let segment = try #require(decode(bytes, .ethernet).segment)
        #expect(segment.payload == [])
        #expect(segment.payloadLength == 0)
        #expect(segment.flags == 0x10)
    }

    @Test func offloadedIPv4WithTotalLengthZeroTrustsTheCapture() throws {
        let bytes = B.ipv4(totalLength: 0, payload: B.tcp(payload: Self.payload))
        let segment = try #require(decode(bytes, .raw).segment)
        #expect(segment.payload == Self.payload)
        #expect(segment.payloadLength == 5)
    }

    @Test func ipv6PayloadLengthZeroTrustsTheCapture() throws {
        let bytes = B.ipv6(payloadLength: 0, payload: B.tcp(payload: Self.payload))
        let segment = try #require(decode(bytes, .raw).segment)
        #expect(segment.payload == Self.payload)
        #expect(segment.payloadLength == 5)
    }

    @Test func ipv6ExtensionHeadersAreWalked() throws {
        let extensions =
            B.extensionHeader(next: 60, units: 0)  // hop-by-hop -> destination options
            + B.extensionHeader(next: 43, units: 1)  // destination options -> routing
            + B.extensionHeader(next: 44, units: 0)  // routing -> fragment
            + B.fragmentHeader(next: 51)  // atomic fragment -> AH
            + B.authenticationHeader(next: 6, units: 4)  // AH -> TCP
        let bytes = B.ipv6(nextHeader: 0, extensions: extensions, payload: B.tcp(payload: Self.payload))
        let segment = try #require(decode(bytes, .ipv6).segment)
        #expect(segment.payload == Self.payload)
        #expect(segment.source.address == IPAddress("2001:db8::1"))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var expected: DecodeAnomaly
        var testDescription: String { "\(name) -> \(expected.label)" }
    }

    static let tcp = B.tcp(payload: payload)

    static let anomalyCases: [Case] = [
        Case(
            name: "IPv4 more fragments, offset 0", bytes: B.ipv4(flagsAndOffset: 0x2000, payload: tcp),
            expected: .ipv4Fragment),
        Case(
            name: "IPv4 last fragment", bytes: B.ipv4(flagsAndOffset: 0x0010, payload: [1, 2, 3, 4]),
            expected: .ipv4Fragment),
        Case(
            name: "IPv4 middle fragment", bytes: B.ipv4(flagsAndOffset: 0x2010, payload: [1, 2, 3, 4]),
            expected: .ipv4Fragment),
        Case(
            name: "IPv6 first fragment",
            bytes: B.ipv6(nextHeader: 44, extensions: B.fragmentHeader(next: 6, more: true), payload: tcp),
            expected: .ipv6Fragment),
        Case(
            name: "IPv6 later fragment",
            bytes: B.ipv6(nextHeader: 44, extensions: B.fragmentHeader(next: 6, offset: 100), payload: [1, 2]),
            expected: .ipv6Fragment),
        Case(name: "UDP", bytes: B.ipv4(protocol: 17, payload: [0, 53, 0, 53, 0, 8, 0, 0]), expected: .notTCP),
        Case(name: "ICMPv6", bytes: B.ipv6(nextHeader: 58, payload: [128, 0, 0, 0]), expected: .notTCP),
        Case(
            name: "IPv6 no next header",
            bytes: B.ipv6(nextHeader: 0, extensions: B.extensionHeader(next: 59), payload: []), expected: .notTCP),
        Case(
            name: "IPv6 ESP", bytes: B.ipv6(nextHeader: 50, payload: Array(repeating: 9, count: 24)), expected: .notTCP),
        Case(name: "IHL 4", bytes: B.ipv4(ihl: 4, payload: tcp), expected: .malformedIPv4HeaderLength),
        Case(name: "IHL 0", bytes: B.ipv4(ihl: 0, payload: tcp), expected: .malformedIPv4HeaderLength),
        Case(
            name: "total length below IHL", bytes: B.ipv4(totalLength: 19, payload: tcp),
            expected: .malformedIPv4TotalLength),
        Case(
            name: "total length beyond the packet", bytes: B.ipv4(totalLength: 20 + tcp.count + 1, payload: tcp),
            expected: .malformedIPv4TotalLength),
        Case(
            name: "IHL beyond total length", bytes: B.ipv4(ihl: 15, totalLength: 40, payload: tcp),
            expected: .malformedIPv4TotalLength),
        Case(
            name: "IPv4 segment shorter than a TCP header", bytes: B.ipv4(totalLength: 30, payload: tcp),
            expected: .malformedTCPHeader),
        Case(
            name: "TCP data offset 4", bytes: B.ipv4(payload: B.tcp(dataOffset: 4, payload: payload)),
            expected: .malformedTCPDataOffset),
        Case(
            name: "TCP data offset beyond the segment", bytes: B.ipv4(payload: B.tcp(dataOffset: 15, payload: payload)),
            expected: .malformedTCPDataOffset),
        Case(
            name: "IPv6 payload length beyond the packet", bytes: B.ipv6(payloadLength: tcp.count + 8, payload: tcp),
            expected: .malformedIPv6PayloadLength),
        Case(
            name: "IPv6 extension header beyond the payload",
            bytes: B.ipv6(nextHeader: 0, extensions: [6, 200, 0, 0, 0, 0, 0, 0], payload: tcp),
            expected: .malformedIPv6ExtensionHeader),
        Case(
            name: "IPv6 extension header cut by payload length",
            bytes: B.ipv6(nextHeader: 60, payloadLength: 4, extensions: [], payload: tcp),
            expected: .malformedIPv6ExtensionHeader),
        Case(
            name: "IPv6 segment shorter than a TCP header", bytes: B.ipv6(payloadLength: 12, payload: tcp),
            expected: .malformedTCPHeader),
        Case(
            name: "IPv4 version 5 inside IPv4 link", bytes: B.ipv4(version: 5, payload: tcp),
            expected: .malformedIPVersion),
    ]

    @Test(arguments: anomalyCases)
    func anomaliesAreNamed(_ c: Case) {
        let isIPv6 = c.bytes.first! >> 4 == 6
        #expect(decode(c.bytes, isIPv6 ? .ipv6 : .ipv4) == .anomaly(c.expected))
        // The same packet through raw IP and Ethernet gives the same answer.
        #expect(decode(c.bytes, .raw) == .anomaly(c.expected))
        let type = isIPv6 ? 0x86DD : 0x0800
        #expect(decode(B.ethernet(type: type, payload: c.bytes), .ethernet) == .anomaly(c.expected))
    }

    @Test func dontFragmentAloneIsNotAFragment() {
        #expect(decode(B.ipv4(flagsAndOffset: 0x4000, payload: Self.tcp), .raw).segment != nil)
        #expect(decode(B.ipv4(flagsAndOffset: 0x0000, payload: Self.tcp), .raw).segment != nil)
    }
}
