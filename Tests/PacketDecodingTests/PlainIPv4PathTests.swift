@testable import PacketDecoding
import Testing

/// The one-pass IPv4/TCP path must give exactly what the layered decoder gives, for every packet it accepts.
@Suite struct PlainIPv4PathTests {
    typealias B = PacketBytes
    static let payload: [UInt8] = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)

    /// IPv4 packets over each link type the fast path knows (with and without options), and one it does not.
    static let packets: [(name: String, linkType: LinkType, bytes: [UInt8])] = {
        let plain = B.ipv4(payload: B.tcp(payload: payload))
        let withOptions = B.ipv4(
            options: [1, 1, 1, 0], payload: B.tcp(options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2], payload: payload))
        return [
            ("Ethernet", .ethernet, B.ethernet(type: 0x0800, payload: plain)),
            ("Ethernet, options", .ethernet, B.ethernet(type: 0x0800, payload: withOptions)),
            ("Ethernet, VLAN", .ethernet, B.ethernet(type: 0x0800, tags: [(0x8100, 5)], payload: plain)),
            ("SLL", .linuxSLL, B.linuxSLL(protocol: 0x0800, payload: plain)),
            ("SLL2", .linuxSLL2, B.linuxSLL2(protocol: 0x0800, payload: withOptions)),
            ("raw", .raw, plain),
            ("IPv4", .ipv4, withOptions),
            ("NULL", .null, B.null(family: 2, littleEndian: true, payload: plain)),
        ]
    }()

    /// What the fast path gives, or nil when it declines.
    static func fast(_ bytes: [UInt8], _ linkType: LinkType, originalLength: Int) -> Outcome.Segment? {
        bytes.withUnsafeBytes { buffer in
            let frame = Frame(bytes: buffer, wireLength: max(originalLength, buffer.count), timestamp: testTimestamp)
            return frame.decodePlainIPv4TCP(linkType).map { s in
                Outcome.Segment(
                    source: s.source, destination: s.destination, sequence: s.sequenceNumber,
                    acknowledgment: s.acknowledgmentNumber, flags: s.flags.rawValue, window: s.window,
                    payload: Array(s.payload), payloadLength: s.payloadLength, timestamp: s.timestamp)
            }
        }
    }

    /// What the layered decoder alone gives.
    static func layered(_ bytes: [UInt8], _ linkType: LinkType, originalLength: Int) -> Outcome {
        var decapsulated: [TunnelKind] = []
        return layered(bytes, linkType, originalLength: originalLength, decapsulated: &decapsulated)
    }

    /// What the layered decoder alone gives (tunnels opened as by default), and the tunnels it took off.
    static func layered(
        _ bytes: [UInt8], _ linkType: LinkType, originalLength: Int, decapsulated: inout [TunnelKind]
    ) -> Outcome {
        bytes.withUnsafeBytes { buffer in
            let frame = Frame(bytes: buffer, wireLength: max(originalLength, buffer.count), timestamp: testTimestamp)
            var counters = DecodeCounters()
            var fragments = FragmentReassembler(limits: .off)
            let result = PacketDecoder.decodeLayers(
                frame, linkType: linkType, tunnels: .standard, counters: &counters, fragments: &fragments)
            for kind in TunnelKind.allCases { decapsulated += repeatElement(kind, count: Int(counters[decapsulated: kind])) }
            switch result {
            case .anomaly(let anomaly): return .anomaly(anomaly)
            case .segment(let s):
                return .segment(
                    Outcome.Segment(
                        source: s.source, destination: s.destination, sequence: s.sequenceNumber,
                        acknowledgment: s.acknowledgmentNumber, flags: s.flags.rawValue, window: s.window,
                        payload: Array(s.payload), payloadLength: s.payloadLength, timestamp: s.timestamp))
            }
        }
    }

    /// Packet `round % packets.count` with up to `changes` random byte changes in its headers, a random
    /// original length (±8) and a random cut: the captured bytes and the original length.
    static func mutated(round: Int, changes: ClosedRange<Int>, using random: inout SeededGenerator)
        -> (packet: (name: String, linkType: LinkType, bytes: [UInt8]), captured: [UInt8], original: Int)
    {
        let packet = packets[round % packets.count]
        var bytes = packet.bytes
        let headerEnd = bytes.count - payload.count
        for _ in 0..<Int.random(in: changes, using: &random) {
            let at = Int.random(in: 0..<headerEnd, using: &random)
            bytes[at] = Bool.random(using: &random) ? UInt8.random(in: 0...255, using: &random) : bytes[at] ^ 0x01
        }
        let original = bytes.count + (Bool.random(using: &random) ? 0 : Int.random(in: -8...8, using: &random))
        let cut = Bool.random(using: &random) ? bytes.count : Int.random(in: 0...bytes.count, using: &random)
        return (packet, Array(bytes.prefix(cut)), original)
    }

    @Test func acceptsTheCommonPacketsAndDeclinesTheOthers() {
        for packet in Self.packets {
            let accepted = Self.fast(packet.bytes, packet.linkType, originalLength: packet.bytes.count) != nil
            #expect(accepted == !["Ethernet, VLAN", "NULL"].contains(packet.name), "\(packet.name)")
            #expect(Self.layered(packet.bytes, packet.linkType, originalLength: packet.bytes.count).segment != nil)
        }
    }

    /// Random byte changes (biased to the header bytes) and random cuts: wherever the
    /// fast path gives a segment, the layered decoder gives the same one.
    @Test func agreesWithTheLayeredDecoderOnMutatedAndCutPackets() {
        var random = SeededGenerator(seed: 0x1F_A57)
        var accepted = 0, declined = 0
        for round in 0..<200_000 {
            let (packet, captured, original) = Self.mutated(round: round, changes: 0...3, using: &random)
            guard let segment = Self.fast(captured, packet.linkType, originalLength: original) else {
                declined += 1
                continue
            }
            accepted += 1
            #expect(Self.layered(captured, packet.linkType, originalLength: original) == .segment(segment),
                    "round \(round): \(packet.name)")
        }
        // Both branches are exercised.
        #expect(accepted > 20_000)
        #expect(declined > 20_000)
    }
}
