// Builders for test packets: each layer wraps the bytes of the one above.
import PacketDecoding

enum PacketBytes {
    static let clientV4: [UInt8] = [10, 0, 0, 1]
    static let serverV4: [UInt8] = [192, 168, 1, 2]
    static let clientV6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]
    static let serverV6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [2]

    static func be16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }
    static func be32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    /// A TCP header (data offset from the options, which must be a multiple of 4) and payload.
    static func tcp(
        sourcePort: Int = 40000, destinationPort: Int = 80, sequence: UInt32 = 1000, acknowledgment: UInt32 = 2000,
        flags: UInt8 = 0x18, window: Int = 512, options: [UInt8] = [], dataOffset: Int? = nil, payload: [UInt8] = []
    ) -> [UInt8] {
        let offset = dataOffset ?? (20 + options.count) / 4
        return be16(sourcePort) + be16(destinationPort) + be32(sequence) + be32(acknowledgment)
            + [UInt8(offset << 4), flags] + be16(window) + [0, 0, 0, 0] + options + payload
    }

    /// An IPv4 header (IHL from the options) before `payload`.
    static func ipv4(
        protocol proto: UInt8 = 6, source: [UInt8] = clientV4, destination: [UInt8] = serverV4,
        options: [UInt8] = [], ihl: Int? = nil, totalLength: Int? = nil, flagsAndOffset: Int = 0x4000,
        version: UInt8 = 4, payload: [UInt8]
    ) -> [UInt8] {
        let headerWords = ihl ?? (20 + options.count) / 4
        let total = totalLength ?? 20 + options.count + payload.count
        return [version << 4 | UInt8(headerWords), 0] + be16(total) + [0x12, 0x34] + be16(flagsAndOffset)
            + [64, proto, 0, 0] + source + destination + options + payload
    }

    /// An IPv6 header; `extensions` are raw extension-header bytes placed before `payload`.
    static func ipv6(
        nextHeader: UInt8 = 6, source: [UInt8] = clientV6, destination: [UInt8] = serverV6,
        payloadLength: Int? = nil, extensions: [UInt8] = [], payload: [UInt8]
    ) -> [UInt8] {
        let length = payloadLength ?? extensions.count + payload.count
        return [0x60, 0, 0, 0] + be16(length) + [nextHeader, 64] + source + destination + extensions + payload
    }

    /// A generic extension header (hop-by-hop, routing, destination options): 8 × (units + 1) bytes.
    static func extensionHeader(next: UInt8, units: Int = 0) -> [UInt8] {
        [next, UInt8(units)] + Array(repeating: 0, count: 6 + 8 * units)
    }

    /// An IPv6 fragment header (RFC 8200 §4.5).
    static func fragmentHeader(next: UInt8, offset: Int = 0, more: Bool = false) -> [UInt8] {
        [next, 0] + be16(offset << 3 | (more ? 1 : 0)) + [0, 0, 0, 7]
    }

    /// An authentication header (RFC 4302): 4 × (units + 2) bytes.
    static func authenticationHeader(next: UInt8, units: Int = 4) -> [UInt8] {
        [next, UInt8(units)] + Array(repeating: 0xAA, count: 4 * (units + 2) - 2)
    }

    /// Ethernet II with optional tags, each (TPID, VLAN id).
    static func ethernet(type: Int, tags: [(tpid: Int, id: Int)] = [], payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
        for tag in tags { bytes += be16(tag.tpid) + be16(tag.id) }
        return bytes + be16(type) + payload
    }

    /// A UDP header (length from the payload unless given) before `payload`.
    static func udp(sourcePort: Int = 51000, destinationPort: Int, length: Int? = nil, payload: [UInt8]) -> [UInt8] {
        be16(sourcePort) + be16(destinationPort) + be16(length ?? 8 + payload.count) + [0, 0] + payload
    }

    /// A VXLAN header (RFC 7348) with the I flag unless `flags` says otherwise.
    static func vxlan(vni: UInt32 = 42, flags: UInt8 = 0x08, payload: [UInt8]) -> [UInt8] {
        [flags, 0, 0, 0] + Array(be32(vni << 8)) + payload
    }

    /// A Geneve header (RFC 8926) with `options` (raw bytes, a multiple of 4 unless `optionWords` says otherwise).
    static func geneve(
        version: UInt8 = 0, protocolType: Int = 0x6558, options: [UInt8] = [], optionWords: Int? = nil, payload: [UInt8]
    ) -> [UInt8] {
        [version << 6 | UInt8(optionWords ?? options.count / 4), 0] + be16(protocolType) + be32(42 << 8) + options + payload
    }

    /// One Geneve option: class, type, and `data` (a multiple of 4 bytes) whose length it states.
    static func geneveOption(class optionClass: Int = 0x0102, type: UInt8 = 0x80, data: [UInt8], words: Int? = nil) -> [UInt8] {
        be16(optionClass) + [type, UInt8(words ?? data.count / 4)] + data
    }

    /// A GRE header (RFC 2784/2890): the optional fields its flags announce, filled in.
    static func gre(
        checksum: Bool = false, key: UInt32? = nil, sequence: UInt32? = nil, extraFlags: Int = 0, version: Int = 0,
        protocolType: Int = 0x0800, payload: [UInt8]
    ) -> [UInt8] {
        let flags = (checksum ? 0x8000 : 0) | (key != nil ? 0x2000 : 0) | (sequence != nil ? 0x1000 : 0) | extraFlags | version
        var bytes = be16(flags) + be16(protocolType)
        if checksum { bytes += [0xAB, 0xCD, 0, 0] }
        if let key { bytes += be32(key) }
        if let sequence { bytes += be32(sequence) }
        return bytes + payload
    }

    static func linuxSLL(protocol proto: Int, payload: [UInt8]) -> [UInt8] {
        [0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0] + be16(proto) + payload
    }

    static func linuxSLL2(protocol proto: Int, payload: [UInt8]) -> [UInt8] {
        be16(proto) + [0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0] + payload
    }

    static func null(family: UInt32, littleEndian: Bool, payload: [UInt8]) -> [UInt8] {
        (littleEndian ? be32(family).reversed() : be32(family)) + payload
    }
}

/// A decode result with the payload copied out, so it outlives the borrowed buffer.
enum Outcome: Equatable, CustomStringConvertible {
    struct Segment: Equatable {
        var source: Endpoint
        var destination: Endpoint
        var sequence: UInt32
        var acknowledgment: UInt32
        var flags: UInt8
        var window: UInt16
        var payload: [UInt8]
        var payloadLength: Int
        var timestamp: Timestamp
    }

    case segment(Segment)
    case anomaly(DecodeAnomaly)

    var description: String {
        switch self {
        case .segment(let s):
            "segment(\(s.source)->\(s.destination) seq \(s.sequence) payload \(s.payload.count)/\(s.payloadLength))"
        case .anomaly(let a): "anomaly(\(a.label))"
        }
    }

    var anomaly: DecodeAnomaly? { if case .anomaly(let a) = self { a } else { nil } }
    var segment: Segment? { if case .segment(let s) = self { s } else { nil } }
}

let testTimestamp = Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789)

/// Decodes `bytes` as captured (`originalLength` defaults to the full length).
func decode(
    _ bytes: [UInt8], _ linkType: LinkType, originalLength: Int? = nil, tunnels: TunnelSettings = .standard
) -> Outcome {
    bytes.withUnsafeBytes { buffer in
        switch PacketDecoder.parse(
            buffer, originalLength: originalLength ?? bytes.count, linkType: linkType, timestamp: testTimestamp,
            tunnels: tunnels)
        {
        case .anomaly(let anomaly): return .anomaly(anomaly)
        case .segment(let s):
            if let base = buffer.baseAddress, let start = s.payload.baseAddress {
                // The payload must be a slice of the caller's buffer, not a copy.
                precondition(start >= base && start + s.payload.count <= base + buffer.count)
            }
            return .segment(
                Outcome.Segment(
                    source: s.source, destination: s.destination, sequence: s.sequenceNumber,
                    acknowledgment: s.acknowledgmentNumber, flags: s.flags.rawValue, window: s.window,
                    payload: Array(s.payload), payloadLength: s.payloadLength, timestamp: s.timestamp))
        }
    }
}

/// SplitMix64: a small seeded generator so random tests repeat exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
