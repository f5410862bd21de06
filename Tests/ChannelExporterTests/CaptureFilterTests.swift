// The filter `run` installs, compiled by libpcap and run on frames in memory: what it lets through.
import PacketCapture
import PacketDecoding
import Testing

@testable import ChannelExporter

@Suite struct CaptureFilterTests {
    static let metricsPort = 19166

    /// What `run` installs on a capture of `linkType` with the default configuration.
    static func installed(_ linkType: LinkType, extra: String? = nil, decapsulate: Bool = true) throws -> PacketFilter {
        var configuration = ExporterConfiguration(syscode: "A123010101")
        configuration.capture.extraFilter = extra
        configuration.tunnels.decapsulate = decapsulate
        let options = LiveCaptureOptions(
            filter: LiveRunner.captureFilter(configuration.bpfFilter, excludingPort: metricsPort))
        let expression = try #require(options.filterExpression(for: linkType))
        return try PacketFilter(expression, linkTypeNumber: linkType == .ethernet ? 1 : 113)
    }

    /// An IPv6 super-packet as Linux's BIG TCP writes it: payload length 0, then a hop-by-hop
    /// header holding only a jumbo payload option (type 0xC2) with the real length.
    static func bigTCPv6(from source: Int, to destination: Int, payload: Int = 100_000) -> [UInt8] {
        let tcp = Frames.tcp(from: source, to: destination)
        let hopByHop: [UInt8] = [6, 0, 0xC2, 4] + Frames.be32(8 + tcp.count + payload)
        return Frames.ipv6(next: 0, payloadLength: 0, hopByHop + tcp)
    }

    @Test func bigTCPIPv6SuperPacketsPassAndTheMetricsPortStaysOut() throws {
        let filter = try Self.installed(.ethernet)
        let big = Self.bigTCPv6(from: 8080, to: 40000)
        // Captured up to its headers; 100 kB on the wire.
        #expect(filter.matches(Frames.ethernet(0x86DD, big), originalLength: 100_000))
        #expect(filter.matches(Frames.ethernet(0x86DD, Self.bigTCPv6(from: 40000, to: 8080))))
        #expect(!filter.matches(Frames.ethernet(0x86DD, Self.bigTCPv6(from: Self.metricsPort, to: 40000))))
        #expect(!filter.matches(Frames.ethernet(0x86DD, Self.bigTCPv6(from: 40000, to: Self.metricsPort))))
        // A hop-by-hop header before something else (an MLD report) is not TCP.
        let mld = Frames.ipv6(next: 0, payloadLength: 16, [58, 0, 5, 2, 0, 0, 1, 0] + [143, 0, 0, 0, 0, 0, 0, 0])
        #expect(!filter.matches(Frames.ethernet(0x86DD, mld)))
        // Linux cooked headers (`any`): the same.
        let cooked = try Self.installed(.linuxSLL)
        #expect(cooked.matches(Frames.linuxSLL(0x86DD, big)))
        #expect(!cooked.matches(Frames.linuxSLL(0x86DD, Self.bigTCPv6(from: Self.metricsPort, to: 40000))))
    }

    @Test func plainTCPPassesAndTheMetricsPortAndOtherProtocolsStayOut() throws {
        let filter = try Self.installed(.ethernet)
        #expect(filter.matches(Frames.ethernet(0x0800, Frames.ipv4(Frames.tcp(from: 40000, to: 8080)))))
        #expect(filter.matches(Frames.ethernet(0x86DD, Frames.ipv6(next: 6, Frames.tcp(from: 8080, to: 40000)))))
        #expect(!filter.matches(Frames.ethernet(0x0800, Frames.ipv4(Frames.tcp(from: 40000, to: Self.metricsPort)))))
        #expect(!filter.matches(Frames.ethernet(0x0800, Frames.ipv4(protocol: 17, Frames.tcp(from: 40000, to: 8080)))))
        #expect(!filter.matches(Frames.ethernet(0x0806, Array(repeating: 0, count: 28))))
    }

    /// The outer packets of the tunnels decapsulated pass (libpcap cannot look inside them), over
    /// IPv4 and IPv6; other UDP does not; with decapsulation off, none does.
    @Test func tunnelsPassWhenDecapsulated() throws {
        let filter = try Self.installed(.ethernet)
        let off = try Self.installed(.ethernet, decapsulate: false)
        let inner = Frames.ethernet(0x0800, Frames.ipv4(Frames.tcp(from: 40000, to: 8080)))
        func udp(to port: Int) -> [UInt8] {
            Frames.be16(51000) + Frames.be16(port) + Frames.be16(16 + inner.count) + [0, 0] + [8, 0, 0, 0, 0, 0, 42, 0] + inner
        }
        for port in [4789, 8472, 6081] {
            #expect(filter.matches(Frames.ethernet(0x0800, Frames.ipv4(protocol: 17, udp(to: port)))), "\(port)")
            #expect(filter.matches(Frames.ethernet(0x86DD, Frames.ipv6(next: 17, udp(to: port)))), "\(port)")
            #expect(!off.matches(Frames.ethernet(0x0800, Frames.ipv4(protocol: 17, udp(to: port)))), "\(port)")
        }
        #expect(!filter.matches(Frames.ethernet(0x0800, Frames.ipv4(protocol: 17, udp(to: 53)))))
        let innerIP = Frames.ipv4(Frames.tcp(from: 40000, to: 8080))
        for proto: UInt8 in [4, 41, 47] {
            #expect(filter.matches(Frames.ethernet(0x0800, Frames.ipv4(protocol: proto, innerIP))), "\(proto)")
            #expect(filter.matches(Frames.ethernet(0x86DD, Frames.ipv6(next: proto, innerIP))), "\(proto)")
            #expect(!off.matches(Frames.ethernet(0x0800, Frames.ipv4(protocol: proto, innerIP))), "\(proto)")
        }
        // The metrics port is left out of the outer headers only (a tunnel's outer packet is not TCP).
        #expect(try Self.installed(.linuxSLL).matches(Frames.linuxSLL(0x0800, Frames.ipv4(protocol: 47, innerIP))))
    }

    /// IPv6 fragments pass behind up to three hop-by-hop, destination options or routing headers
    /// (of any length), not behind four (the walk is unrolled), and those headers before anything
    /// else (an MLD report's router alert) do not make a packet pass.
    @Test func ipv6FragmentsPassBehindUpToThreeExtensionHeaders() throws {
        let filter = try Self.installed(.ethernet, decapsulate: false)
        let fragment: [UInt8] = [17, 0, 0, 8, 0, 0, 0x19, 0x19] + Array(repeating: 0, count: 16)  // offset 1, more
        /// `kinds` before `last`, each 8 bytes, the second 24 (a length field of 2).
        func chain(_ kinds: [UInt8], then last: UInt8, _ payload: [UInt8]) -> [UInt8] {
            var bytes: [UInt8] = []
            for (index, _) in kinds.enumerated() {
                let next = index + 1 < kinds.count ? kinds[index + 1] : last
                bytes += index == 1 ? [next, 2] + Array(repeating: 0, count: 22) : [next, 0, 1, 4, 0, 0, 0, 0]
            }
            return Frames.ethernet(0x86DD, Frames.ipv6(next: kinds.first ?? last, bytes + payload))
        }
        for kinds: [UInt8] in [[], [0], [60], [43], [0, 60], [0, 60, 43], [60, 60, 43]] {
            #expect(filter.matches(chain(kinds, then: 44, fragment)), "\(kinds)")
        }
        #expect(!filter.matches(chain([0, 60, 43, 60], then: 44, fragment)))
        #expect(!filter.matches(chain([0], then: 58, [143, 0, 0, 0, 0, 0, 0, 0])))
        #expect(!filter.matches(chain([0, 60, 43], then: 17, Array(repeating: 0, count: 16))))
    }

    /// Frames whose tags stayed in the packet (sent through a device without tx VLAN offload,
    /// or the inner tag of QinQ) are filtered like untagged ones.
    @Test(arguments: [[0x8100], [0x88A8, 0x8100]])
    func taggedFramesAreFilteredLikeUntaggedOnes(tags: [Int]) throws {
        let filter = try Self.installed(.ethernet)
        func tagged(_ type: Int, _ packet: [UInt8]) -> [UInt8] { Frames.ethernet(type, packet, tags: tags) }
        #expect(filter.matches(tagged(0x0800, Frames.ipv4(Frames.tcp(from: 8080, to: 40000)))))
        #expect(filter.matches(tagged(0x86DD, Frames.ipv6(next: 6, Frames.tcp(from: 40000, to: 8080)))))
        #expect(filter.matches(tagged(0x86DD, Self.bigTCPv6(from: 8080, to: 40000))))
        #expect(!filter.matches(tagged(0x0800, Frames.ipv4(Frames.tcp(from: Self.metricsPort, to: 40000)))))
        #expect(!filter.matches(tagged(0x86DD, Self.bigTCPv6(from: 40000, to: Self.metricsPort))))
        #expect(!filter.matches(tagged(0x0800, Frames.ipv4(protocol: 17, Frames.tcp(from: 40000, to: 8080)))))
    }

    /// `capture.filter` narrows tagged frames too.
    @Test func theExtraFilterAppliesToTaggedFrames() throws {
        let filter = try Self.installed(.ethernet, extra: "not host 10.9.9.9")
        let fromElsewhere = Frames.ipv4(Frames.tcp(from: 40000, to: 8080))
        let fromExcluded = Frames.ipv4(Frames.tcp(from: 40000, to: 8080), source: [10, 9, 9, 9])
        #expect(filter.matches(Frames.ethernet(0x0800, fromElsewhere, tags: [0x8100])))
        #expect(!filter.matches(Frames.ethernet(0x0800, fromExcluded, tags: [0x8100])))
        #expect(!filter.matches(Frames.ethernet(0x0800, fromExcluded)))
    }
}

/// Frames byte by byte, just enough for filters.
enum Frames {
    static func be16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
    static func be32(_ value: Int) -> [UInt8] { be16(value >> 16) + be16(value & 0xFFFF) }

    static func tcp(from source: Int, to destination: Int) -> [UInt8] {
        be16(source) + be16(destination) + be32(1) + be32(0) + [0x50, 0x18] + be16(65535) + [0, 0, 0, 0]
    }

    static func ipv4(protocol number: UInt8 = 6, _ payload: [UInt8], source: [UInt8] = [10, 0, 0, 1]) -> [UInt8] {
        [0x45, 0] + be16(20 + payload.count) + [0, 0, 0x40, 0, 64, number, 0, 0] + source + [10, 0, 0, 2] + payload
    }

    static func ipv6(next: UInt8, payloadLength: Int? = nil, _ payload: [UInt8]) -> [UInt8] {
        let address: [UInt8] = [0xFD, 0] + Array(repeating: 0, count: 13)
        return [0x60, 0, 0, 0] + be16(payloadLength ?? payload.count) + [next, 64] + address + [1] + address + [2] + payload
    }

    static func ethernet(_ type: Int, _ packet: [UInt8], tags: [Int] = []) -> [UInt8] {
        var frame: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]
        for tpid in tags { frame += be16(tpid) + be16(100) }
        return frame + be16(type) + packet
    }

    static func linuxSLL(_ type: Int, _ packet: [UInt8]) -> [UInt8] {
        [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0] + be16(type) + packet
    }
}
