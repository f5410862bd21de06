/// What a `PacketDecoder` has seen: packets, bytes, segments and anomalies by reason.
///
/// Anomaly counts live in a fixed inline array indexed by `DecodeAnomaly.rawValue`:
/// counting is one add, with no hashing and no allocation on the packet path.
public struct DecodeCounters: Sendable {
    /// Number of `DecodeAnomaly` cases; a test checks it against `allCases`.
    public static let anomalyCount = 29
    /// Number of `TunnelKind` cases; a test checks it against `allCases`.
    public static let tunnelKindCount = 7
    /// Number of `FragmentDrop` cases; a test checks it against `allCases`.
    public static let fragmentDropCount = 9

    /// Packets handed to the decoder.
    public var packets: UInt64 = 0
    /// Their original (on-the-wire) lengths, summed.
    public var bytes: UInt64 = 0
    /// Packets that yielded a TCP segment.
    public var tcpSegments: UInt64 = 0
    /// TCP payload bytes present in the capture.
    public var tcpPayloadBytes: UInt64 = 0
    /// Segments whose headers were complete but whose payload the snaplen cut.
    public var truncatedPayloadSegments: UInt64 = 0
    /// IP fragments handed to the reassembler (each is also counted as an `ipv4_fragment` or
    /// `ipv6_fragment` anomaly, but the one that completes a datagram, which is decoded).
    public var fragments: UInt64 = 0
    /// Datagrams reassembled from fragments and decoded.
    public var reassembledDatagrams: UInt64 = 0

    @usableFromInline
    internal var byAnomaly = InlineArray<29, UInt64>(repeating: 0)
    @usableFromInline
    internal var byTunnel = InlineArray<7, UInt64>(repeating: 0)
    @usableFromInline
    internal var byFragmentDrop = InlineArray<9, UInt64>(repeating: 0)

    public init() {}

    /// How many packets were dropped for `anomaly`.
    @inlinable
    public subscript(anomaly: DecodeAnomaly) -> UInt64 {
        get { byAnomaly[anomaly.rawValue] }
        set { byAnomaly[anomaly.rawValue] = newValue }
    }

    /// How many tunnel headers of `kind` were taken off (a packet inside two tunnels counts
    /// once for each), whatever its inner packet turned out to be.
    @inlinable
    public subscript(decapsulated kind: TunnelKind) -> UInt64 {
        get { byTunnel[kind.rawValue] }
        set { byTunnel[kind.rawValue] = newValue }
    }

    /// Fragments dropped for `reason` instead of reassembled (`FragmentDrop`).
    @inlinable
    public subscript(droppedFragments reason: FragmentDrop) -> UInt64 {
        get { byFragmentDrop[reason.rawValue] }
        set { byFragmentDrop[reason.rawValue] = newValue }
    }

    /// Fragments dropped, for any reason.
    public var droppedFragments: UInt64 {
        var total: UInt64 = 0
        for index in byFragmentDrop.indices { total &+= byFragmentDrop[index] }
        return total
    }

    /// Packets that yielded no segment, for any reason.
    public var anomalies: UInt64 {
        var total: UInt64 = 0
        for index in byAnomaly.indices { total &+= byAnomaly[index] }
        return total
    }

    /// The non-zero anomaly counts, in declaration order (for summaries).
    public var nonZeroAnomalies: [(anomaly: DecodeAnomaly, count: UInt64)] {
        DecodeAnomaly.allCases.compactMap { self[$0] == 0 ? nil : ($0, self[$0]) }
    }

    @inlinable
    internal mutating func record(_ anomaly: DecodeAnomaly) {
        byAnomaly[anomaly.rawValue] &+= 1
    }

    /// Adds another decoder's counts (e.g. from another shard).
    public mutating func add(_ other: DecodeCounters) {
        packets &+= other.packets
        bytes &+= other.bytes
        tcpSegments &+= other.tcpSegments
        tcpPayloadBytes &+= other.tcpPayloadBytes
        truncatedPayloadSegments &+= other.truncatedPayloadSegments
        fragments &+= other.fragments
        reassembledDatagrams &+= other.reassembledDatagrams
        for index in byFragmentDrop.indices { byFragmentDrop[index] &+= other.byFragmentDrop[index] }
        for index in byAnomaly.indices { byAnomaly[index] &+= other.byAnomaly[index] }
        for index in byTunnel.indices { byTunnel[index] &+= other.byTunnel[index] }
    }
}

extension DecodeCounters: Equatable {
    public static func == (lhs: DecodeCounters, rhs: DecodeCounters) -> Bool {
        guard lhs.packets == rhs.packets, lhs.bytes == rhs.bytes, lhs.tcpSegments == rhs.tcpSegments,
            lhs.tcpPayloadBytes == rhs.tcpPayloadBytes, lhs.truncatedPayloadSegments == rhs.truncatedPayloadSegments,
            lhs.fragments == rhs.fragments, lhs.reassembledDatagrams == rhs.reassembledDatagrams
        else { return false }
        for index in lhs.byAnomaly.indices where lhs.byAnomaly[index] != rhs.byAnomaly[index] { return false }
        for index in lhs.byTunnel.indices where lhs.byTunnel[index] != rhs.byTunnel[index] { return false }
        for index in lhs.byFragmentDrop.indices where lhs.byFragmentDrop[index] != rhs.byFragmentDrop[index] {
            return false
        }
        return true
    }
}
