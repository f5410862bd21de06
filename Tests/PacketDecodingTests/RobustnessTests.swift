import PacketDecoding
import Testing

/// Every prefix of a valid packet, and random garbage, must give a named answer and never crash.
@Suite struct RobustnessTests {
    typealias B = PacketBytes
    static let payload: [UInt8] = Array("POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc".utf8)

    /// A valid packet and, in order, where each header ends with the reason a capture
    /// that stops before that point must give.
    struct Layered: Sendable, CustomTestStringConvertible {
        var name: String
        var linkType: LinkType
        var bytes: [UInt8]
        var boundaries: [(end: Int, reason: DecodeAnomaly)]
        var testDescription: String { name }
    }

    static let packets: [Layered] = {
        let tcpOptions: [UInt8] = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]
        let tcp = B.tcp(options: tcpOptions, payload: payload)  // 32-byte header
        let v4 = B.ipv4(options: [1, 1, 1, 0], payload: tcp)  // 24-byte header
        let extensions =
            B.extensionHeader(next: 44, units: 1) + B.fragmentHeader(next: 51)
            + B.authenticationHeader(next: 6, units: 1)
        let v6 = B.ipv6(nextHeader: 0, extensions: extensions, payload: tcp)
        return [
            Layered(
                name: "Ethernet QinQ IPv4 options TCP options", linkType: .ethernet,
                bytes: B.ethernet(type: 0x0800, tags: [(0x88A8, 1), (0x8100, 2)], payload: v4),
                boundaries: [
                    (14, .truncatedLinkHeader), (18, .truncatedVLANTag), (22, .truncatedVLANTag),
                    (42, .truncatedIPv4Header), (46, .truncatedIPv4Header), (66, .truncatedTCPHeader),
                    (78, .truncatedTCPHeader),
                ]),
            Layered(
                name: "SLL2 IPv6 extension headers", linkType: .linuxSLL2,
                bytes: B.linuxSLL2(protocol: 0x86DD, payload: v6),
                boundaries: [
                    (20, .truncatedLinkHeader), (60, .truncatedIPv6Header), (76, .truncatedIPv6ExtensionHeader),
                    (84, .truncatedIPv6ExtensionHeader), (96, .truncatedIPv6ExtensionHeader),
                    (128, .truncatedTCPHeader),
                ]),
            Layered(
                name: "NULL IPv4", linkType: .null, bytes: B.null(family: 2, littleEndian: true, payload: v4),
                boundaries: [(4, .truncatedLinkHeader), (28, .truncatedIPv4Header), (60, .truncatedTCPHeader)]),
            Layered(
                name: "SLL IPv6", linkType: .linuxSLL,
                bytes: B.linuxSLL(protocol: 0x86DD, payload: B.ipv6(payload: tcp)),
                boundaries: [(16, .truncatedLinkHeader), (56, .truncatedIPv6Header), (88, .truncatedTCPHeader)]),
        ]
    }()

    @Test(arguments: packets)
    func everySnaplenPrefixIsTruncatedAtTheRightLayer(_ packet: Layered) throws {
        let full = packet.bytes.count
        let headerEnd = packet.boundaries.last!.end
        #expect(full == headerEnd + Self.payload.count)
        for length in 0...full {
            let outcome = decode(Array(packet.bytes.prefix(length)), packet.linkType, originalLength: full)
            if length < headerEnd {
                let expected = packet.boundaries.first { length < $0.end }!.reason
                #expect(outcome == .anomaly(expected), "prefix \(length)")
            } else {
                let segment = try #require(outcome.segment, "prefix \(length)")
                #expect(segment.payload == Array(Self.payload.prefix(length - headerEnd)), "prefix \(length)")
                #expect(segment.payloadLength == Self.payload.count)
            }
        }
    }

    @Test(arguments: packets)
    func aPacketShorterThanItsHeadersSayIsMalformed(_ packet: Layered) {
        // The same prefixes, but as whole packets (nothing cut by the capture).
        for length in 0..<packet.bytes.count {
            let outcome = decode(Array(packet.bytes.prefix(length)), packet.linkType)
            #expect(outcome.anomaly?.isMalformation == true, "length \(length): \(outcome)")
        }
    }

    @Test func randomGarbageNeverCrashesAndIsAlwaysCounted() {
        var random = SeededGenerator(seed: 0xC0FFEE)
        let linkTypes: [LinkType] = [.ethernet, .null, .loop, .raw, .ipv4, .ipv6, .linuxSLL, .linuxSLL2]
        var decoder = PacketDecoder()
        var buffer = [UInt8](repeating: 0, count: 256)
        let rounds = 200_000
        for _ in 0..<rounds {
            let count = Int.random(in: 0...buffer.count, using: &random)
            for i in 0..<count { buffer[i] = UInt8.random(in: 0...255, using: &random) }
            // Bias towards plausible headers so the deeper layers are reached too.
            if count > 0 && Bool.random(using: &random) {
                buffer[0] = [0x45, 0x46, 0x4F, 0x60][Int.random(in: 0..<4, using: &random)]
            }
            let original = count + (Bool.random(using: &random) ? 0 : Int.random(in: 0...2000, using: &random))
            let linkType = linkTypes.randomElement(using: &random)!
            buffer.withUnsafeBytes { bytes in
                let captured = UnsafeRawBufferPointer(rebasing: bytes[0..<count])
                if let segment = decoder.decode(
                    captured, originalLength: original, linkType: linkType, timestamp: testTimestamp)
                {
                    #expect(segment.payload.count <= segment.payloadLength)
                    if let start = segment.payload.baseAddress, let base = captured.baseAddress {
                        #expect(start >= base && start + segment.payload.count <= base + count)
                    }
                }
            }
        }
        #expect(decoder.counters.packets == UInt64(rounds))
        #expect(decoder.counters.tcpSegments + decoder.counters.anomalies == UInt64(rounds))
    }

    @Test func mutatedValidPacketsNeverCrash() {
        var random = SeededGenerator(seed: 42)
        var decoder = PacketDecoder()
        let rounds = 100_000
        for round in 0..<rounds {
            var bytes = Self.packets[round % Self.packets.count].bytes
            let linkType = Self.packets[round % Self.packets.count].linkType
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            let cut = Int.random(in: 0...bytes.count, using: &random)
            bytes.withUnsafeBytes { raw in
                _ = decoder.decode(
                    UnsafeRawBufferPointer(rebasing: raw[0..<cut]), originalLength: bytes.count, linkType: linkType,
                    timestamp: testTimestamp)
            }
        }
        #expect(decoder.counters.tcpSegments + decoder.counters.anomalies == UInt64(rounds))
        #expect(decoder.counters.tcpSegments > 0)
    }
}
