/// Limits and role hints for `TCPReassembler`, as one value (gopacket `AssemblerOptions`).

/// How the reassembler decides roles, when it gives up waiting, and how
/// much it may keep. Every limit is a value; each hit is counted in
/// `ReassemblyStatistics.limitHits`.
public struct ReassemblyConfiguration: Sendable, Hashable {
    /// Ports that identify the server when no SYN was seen (the configured
    /// inbound ports and the AMQP broker ports).
    public var serverPorts: Set<UInt16>
    /// A connection with no packet for this long (packet time) is ended with `.idleExpired`.
    public var idleTimeout: Duration
    /// How long (packet time) a hole before buffered data may wait for the
    /// missing segment before it is declared a gap and delivery resumes.
    public var holeTimeout: Duration
    /// Connections tracked at once; beyond it the least recently active one is evicted.
    public var maxConnections: Int
    /// Out-of-order bytes one connection (both directions) may buffer. Each
    /// buffered piece also counts 64 bytes of overhead, so many tiny
    /// segments cannot hold more memory than this says.
    public var maxBufferedBytesPerConnection: Int
    /// Out-of-order bytes all connections together may buffer (with the same per-piece overhead).
    public var maxBufferedBytesTotal: Int
    /// Out-of-order pieces one connection (both directions) may buffer.
    public var maxSegmentsPerConnection: Int
    /// A segment may start at most this far beyond the next expected byte
    /// (unless the peer's ACK has passed the bytes between). Beyond it, it
    /// is ignored and counted, so one corrupt sequence number cannot turn
    /// the rest of a connection into a giant gap. Larger than real receive
    /// windows (Linux autotuning stays well below it).
    public var maxSequenceAdvance: Int
    /// Pairs of connections opened by SYNs alike (a NAT's copies, `NATCopyDetector`) waiting for their
    /// SYN+ACKs at once, all connections together; past it the oldest is dropped (a flood of equal ISNs).
    public var maxNATCandidates = 256

    public init(
        serverPorts: Set<UInt16> = [],
        idleTimeout: Duration = .seconds(300),
        holeTimeout: Duration = .seconds(2),
        maxConnections: Int = 262_144,
        maxBufferedBytesPerConnection: Int = 4 << 20,
        maxBufferedBytesTotal: Int = 256 << 20,
        maxSegmentsPerConnection: Int = 1024,
        maxSequenceAdvance: Int = 64 << 20
    ) {
        precondition(maxConnections >= 1, "maxConnections must be at least 1")
        precondition(maxSequenceAdvance >= 1, "maxSequenceAdvance must be at least 1")
        self.serverPorts = serverPorts
        self.idleTimeout = idleTimeout
        self.holeTimeout = holeTimeout
        self.maxConnections = maxConnections
        self.maxBufferedBytesPerConnection = maxBufferedBytesPerConnection
        self.maxBufferedBytesTotal = maxBufferedBytesTotal
        self.maxSegmentsPerConnection = maxSegmentsPerConnection
        self.maxSequenceAdvance = maxSequenceAdvance
    }
}

extension Duration {
    /// Whole nanoseconds, saturating; for comparing with `Timestamp` differences.
    var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000
    }
}
