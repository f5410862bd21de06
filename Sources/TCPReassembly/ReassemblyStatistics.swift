/// Counters of `TCPReassembler`: connections, anomalies by reason, limit hits by kind.

/// A limit of `ReassemblyConfiguration` that was reached.
public enum ReassemblyLimit: Int, Sendable, CaseIterable {
    case connections
    case bufferedBytesPerConnection
    case bufferedBytesTotal
    case segmentsPerConnection

    /// The name in the self-metrics and the replay summary: snake_case, as every other label value and
    /// the settings (`limits.max_connections`, `limits.max_buffered_bytes_per_connection`...). It was
    /// the case's name (`bufferedBytesTotal`).
    public var label: String {
        switch self {
        case .connections: "connections"
        case .bufferedBytesPerConnection: "buffered_bytes_per_connection"
        case .bufferedBytesTotal: "buffered_bytes_total"
        case .segmentsPerConnection: "segments_per_connection"
        }
    }
}

/// Why a segment was not delivered to any consumer.
public enum IgnoredSegmentReason: Int, Sendable, CaseIterable {
    /// No connection is tracked and the segment cannot start one (pure ACK, FIN or RST
    /// without payload, e.g. the last ACK after both FINs).
    case noConnection
    /// The factory declined the connection.
    case noConsumer
    /// Payload after that direction ended (after its FIN).
    case directionEnded
    /// Starts further than `maxSequenceAdvance` beyond the next expected byte
    /// (and no ACK vouches for the bytes between): corrupt or forged, not buffered.
    case outOfWindow
}

/// Counts indexed by a small enum, stored inline (no allocation).
public struct CountsByKind<Kind: RawRepresentable & CaseIterable>: Sendable, Hashable
where Kind.RawValue == Int {
    private var counts: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    public init() { precondition(Kind.allCases.count <= 4, "CountsByKind holds at most 4 kinds") }

    public subscript(kind: Kind) -> UInt64 {
        get {
            switch kind.rawValue {
            case 0: counts.0
            case 1: counts.1
            case 2: counts.2
            default: counts.3
            }
        }
        set {
            switch kind.rawValue {
            case 0: counts.0 = newValue
            case 1: counts.1 = newValue
            case 2: counts.2 = newValue
            default: counts.3 = newValue
            }
        }
    }

    /// The sum over all kinds.
    public var total: UInt64 { counts.0 &+ counts.1 &+ counts.2 &+ counts.3 }

    /// Adds another count kind by kind.
    public mutating func add(_ other: Self) {
        for kind in Kind.allCases { self[kind] &+= other[kind] }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { Kind.allCases.allSatisfy { lhs[$0] == rhs[$0] } }
    public func hash(into hasher: inout Hasher) { for kind in Kind.allCases { hasher.combine(self[kind]) } }
}

/// What the reassembler has seen and done so far.
public struct ReassemblyStatistics: Sendable, Hashable {
    public var connectionsOpened: UInt64 = 0
    public var connectionsActive: Int = 0
    /// Connections removed after both directions ended, by the reason that ended the last one.
    public var connectionsClosedByFin: UInt64 = 0
    public var connectionsClosedByReset: UInt64 = 0
    public var connectionsExpired: UInt64 = 0
    public var connectionsEvicted: UInt64 = 0
    public var connectionsEndedByCapture: UInt64 = 0
    /// Repeated SYN or SYN+ACK with the same initial sequence number.
    public var synRetransmissions: UInt64 = 0
    /// Payload bytes that had already been delivered, gapped or buffered.
    public var retransmittedBytes: UInt64 = 0
    /// Overlapping bytes whose content differed from the copy kept (the first copy wins).
    public var conflictingOverlapBytes: UInt64 = 0
    /// Segments (or pieces of them) copied into an out-of-order buffer.
    public var outOfOrderSegments: UInt64 = 0
    /// Bytes held in out-of-order buffers now.
    public var bufferedBytes: Int = 0
    /// `streamGap` calls and the bytes they declared missing.
    public var gaps: UInt64 = 0
    public var gapBytes: UInt64 = 0
    public var limitHits = CountsByKind<ReassemblyLimit>()
    /// Connections taken for the second copy of another seen on the far side of a NAT, and not read
    /// (`NATCopyDetector`), and the payload segments they carried.
    public var natCopyConnections: UInt64 = 0
    public var natCopySegments: UInt64 = 0
    /// Pairs of connections that might have been a NAT's copies, dropped unsettled past
    /// `ReassemblyConfiguration.maxNATCandidates`.
    public var natCandidatesDropped: UInt64 = 0
    public var ignoredSegments = CountsByKind<IgnoredSegmentReason>()

    public init() {}

    /// Hits of the limits over all connections (`connections`, `bufferedBytesTotal`, and
    /// `maxNATCandidates`: `natCandidatesDropped`), not those of one connection: for a replay split over several reassemblers, each given a share of these limits,
    /// none reached means one reassembler with the whole limits would not have reached them either
    /// (the per-connection limits are the same in both).
    public var globalBudgetHits: UInt64 {
        limitHits[.connections] &+ limitHits[.bufferedBytesTotal] &+ natCandidatesDropped
    }

    /// Adds another reassembler's statistics field by field (one a reload replaced, carried over to
    /// its successor): the counters and the gauges (`connectionsActive`, `bufferedBytes`) alike.
    public mutating func add(_ other: ReassemblyStatistics) {
        connectionsOpened &+= other.connectionsOpened
        connectionsActive &+= other.connectionsActive
        connectionsClosedByFin &+= other.connectionsClosedByFin
        connectionsClosedByReset &+= other.connectionsClosedByReset
        connectionsExpired &+= other.connectionsExpired
        connectionsEvicted &+= other.connectionsEvicted
        connectionsEndedByCapture &+= other.connectionsEndedByCapture
        synRetransmissions &+= other.synRetransmissions
        retransmittedBytes &+= other.retransmittedBytes
        conflictingOverlapBytes &+= other.conflictingOverlapBytes
        outOfOrderSegments &+= other.outOfOrderSegments
        bufferedBytes &+= other.bufferedBytes
        gaps &+= other.gaps
        gapBytes &+= other.gapBytes
        limitHits.add(other.limitHits)
        natCopyConnections &+= other.natCopyConnections
        natCopySegments &+= other.natCopySegments
        natCandidatesDropped &+= other.natCandidatesDropped
        ignoredSegments.add(other.ignoredSegments)
    }
}
