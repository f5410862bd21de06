/// Packet decoding: link layer -> IPv4/IPv6 (-> tunnels -> again) -> TCP over borrowed bytes, anomalies counted by reason.

/// What decoding one packet gave: a TCP segment, or the reason there is none.
public enum DecodeResult {
    case segment(TCPSegment)
    case anomaly(DecodeAnomaly)
}

/// What the layered decoder found on one level of a packet.
@usableFromInline
internal enum LayerResult {
    case segment(TCPSegment)
    case anomaly(DecodeAnomaly)
    /// An IP payload other than TCP: plain UDP, ICMP…, or a tunnel (`Frame.decapsulate` tells).
    case carried(IPPayload)
    /// An IP fragment (not an atomic one), for the reassembler.
    case fragment(IPFragment)
}

/// Turns captured link-layer frames into `TCPSegment`s, counting every packet
/// that yields none by `DecodeAnomaly`.
///
/// Decoding reads headers in place: the returned segment's payload is a
/// sub-slice of the caller's bytes, nothing is copied or allocated per packet.
/// Checksums are not verified: capture hosts with checksum offload record
/// outgoing packets before the NIC fills them in.
///
/// Lengths: `bytes.count` is what the capture holds, `originalLength` what was
/// on the wire. When a header needs more bytes than the capture holds but no
/// more than the original packet had, the snaplen cut it (`truncated*`);
/// when the packet itself is too short, it is `malformed*`. A TCP segment whose
/// headers are whole but whose payload was cut comes back with
/// `payload.count < payloadLength`.
///
/// Tunnels (`TunnelSettings`) are opened, and IP fragments reassembled (`FragmentReassembler`),
/// on the layered path only, so they cost the plain IPv4 path nothing: their outer packets are
/// never plain TCP, and the plain path declines fragments. A segment decoded from a reassembled
/// datagram borrows the reassembler's buffer instead of the caller's, for as long.
public struct PacketDecoder: Sendable {
    public var counters = DecodeCounters()
    /// Which tunnels to look inside; may change between packets (a configuration reload).
    public var tunnels: TunnelSettings
    /// Datagrams being reassembled from fragments, and the bounds (which may change between packets).
    public var fragments: FragmentReassembler

    public init(tunnels: TunnelSettings = .standard, fragmentLimits: FragmentLimits = .standard) {
        self.tunnels = tunnels
        self.fragments = FragmentReassembler(limits: fragmentLimits)
    }

    /// Decodes one packet and counts the outcome.
    @inlinable @inline(__always)
    public mutating func decode(
        _ bytes: UnsafeRawBufferPointer, originalLength: Int, linkType: LinkType, timestamp: Timestamp
    ) -> TCPSegment? {
        var result: TCPSegment?
        decode(bytes, originalLength: originalLength, linkType: linkType, timestamp: timestamp) { result = $0 }
        return result
    }

    /// Decodes one packet, counts the outcome and hands the segment, if
    /// there is one, to `handle` (exactly what `decode` returns).
    ///
    /// Always inlined, and small: the common packet is decoded in the
    /// caller (`decodePlainIPv4TCP`) and handed on from where it was built,
    /// so the segment stays in registers instead of making a round trip
    /// through memory (an optional that merges it with the layered
    /// decoder's result costs about 30 instructions of spills and copies
    /// a packet); every other packet goes to the layered decoder out of line.
    @inlinable @inline(__always)
    public mutating func decode(
        _ bytes: UnsafeRawBufferPointer, originalLength: Int, linkType: LinkType, timestamp: Timestamp,
        handle: (TCPSegment) -> Void
    ) {
        counters.packets &+= 1
        counters.bytes &+= UInt64(truncatingIfNeeded: Swift.max(originalLength, bytes.count))
        let frame = Frame(bytes: bytes, wireLength: Swift.max(originalLength, bytes.count), timestamp: timestamp)
        if let segment = frame.decodePlainIPv4TCP(linkType) {
            count(segment)
            handle(segment)
        } else if let segment = decodeLayered(frame, linkType: linkType) {
            handle(segment)
        }
    }

    /// Everything the plain path declines: decoded (or its anomaly named and counted) layer by layer.
    @usableFromInline @inline(never)
    internal mutating func decodeLayered(_ frame: Frame, linkType: LinkType) -> TCPSegment? {
        let result = Self.decodeLayers(
            frame, linkType: linkType, tunnels: tunnels, counters: &counters, fragments: &fragments)
        switch result {
        case .segment(let segment):
            count(segment)
            return segment
        case .anomaly(let anomaly):
            counters.record(anomaly)
            return nil
        }
    }

    /// `frame` decoded layer by layer, opening up to `TunnelSettings.maximumDepth` tunnels
    /// (each counted in `counters`) and handing IP fragments, outer or inner, to `fragments`:
    /// a datagram they complete is decoded on from its IP header.
    @usableFromInline
    internal static func decodeLayers(
        _ frame: Frame, linkType: LinkType, tunnels: TunnelSettings, counters: inout DecodeCounters,
        fragments: inout FragmentReassembler
    ) -> DecodeResult {
        var frame = frame
        var result = frame.decodeLink(linkType)
        var depth = 0
        while true {
            switch result {
            case .segment(let segment):
                return .segment(segment)
            case .anomaly(let anomaly):
                return .anomaly(anomaly)
            case .fragment(let fragment):
                guard let datagram = fragments.reassemble(fragment, of: frame, counters: &counters) else {
                    return .anomaly(fragment.isIPv6 ? .ipv6Fragment : .ipv4Fragment)
                }
                frame = datagram
                if fragment.isIPv6 {
                    result = datagram.decodeIPv6(at: 0)
                } else {
                    if let segment = datagram.decodePlainIPv4TCP(.ipv4) { return .segment(segment) }
                    result = datagram.decodeIPv4(at: 0)
                }
            case .carried(let payload):
                guard tunnels.isEnabled else { return .anomaly(.notTCP) }
                switch frame.decapsulate(payload, settings: tunnels) {
                case .anomaly(let anomaly):
                    return .anomaly(anomaly)
                case .inner(let kind, let inner, let innerLinkType):
                    guard depth < TunnelSettings.maximumDepth else { return .anomaly(.tunnelTooDeep) }
                    depth += 1
                    counters[decapsulated: kind] &+= 1
                    // Most tunnels carry plain IPv4 TCP: the straight pass first, as for outer packets
                    // (callgrind: 67 fewer instructions a VXLAN packet than the layers alone).
                    if let segment = inner.decodePlainIPv4TCP(innerLinkType) { return .segment(segment) }
                    frame = inner
                    result = inner.decodeLink(innerLinkType)
                }
            }
        }
    }

    /// Drops the datagrams whose fragments have waited past the timeout by `now` (counted), as
    /// the next fragment would: for time passing without fragments.
    public mutating func expireFragments(now: Timestamp) {
        fragments.expire(now: now, counters: &counters)
    }

    @inlinable @inline(__always)
    mutating func count(_ segment: TCPSegment) {
        counters.tcpSegments &+= 1
        counters.tcpPayloadBytes &+= UInt64(truncatingIfNeeded: segment.payload.count)
        if segment.payload.count < segment.payloadLength { counters.truncatedPayloadSegments &+= 1 }
    }

    /// Decodes one packet without counting (pure; for tests and tools): fragments are not
    /// reassembled.
    @inlinable
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, originalLength: Int, linkType: LinkType, timestamp: Timestamp,
        tunnels: TunnelSettings = .standard
    ) -> DecodeResult {
        let frame = Frame(bytes: bytes, wireLength: Swift.max(originalLength, bytes.count), timestamp: timestamp)
        if let segment = frame.decodePlainIPv4TCP(linkType) { return .segment(segment) }
        var counters = DecodeCounters()
        var fragments = FragmentReassembler(limits: .off)
        return decodeLayers(frame, linkType: linkType, tunnels: tunnels, counters: &counters, fragments: &fragments)
    }
}

/// One captured frame being decoded. Offsets are absolute into `bytes`, so the
/// payload handed out is a slice of the caller's buffer.
@usableFromInline
internal struct Frame {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    /// The original packet length (never less than `bytes.count`).
    @usableFromInline let wireLength: Int
    @usableFromInline let timestamp: Timestamp

    @inlinable
    init(bytes: UnsafeRawBufferPointer, wireLength: Int, timestamp: Timestamp) {
        self.bytes = bytes
        self.wireLength = wireLength
        self.timestamp = timestamp
    }

    /// The reason for a header that needs bytes up to `end` and does not have them:
    /// truncated when the original packet reached `end` (the snaplen cut it), else malformed.
    @inlinable @inline(__always)
    func short(end: Int, truncated: DecodeAnomaly, malformed: DecodeAnomaly) -> LayerResult {
        .anomaly(end <= wireLength ? truncated : malformed)
    }

    @inlinable @inline(__always)
    func u8(_ offset: Int) -> UInt8 { bytes[offset] }

    @inlinable @inline(__always)
    func be16(_ offset: Int) -> UInt16 {
        UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable @inline(__always)
    func be32(_ offset: Int) -> UInt32 {
        UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable @inline(__always)
    func be64(_ offset: Int) -> UInt64 {
        UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
