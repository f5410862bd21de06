/// TCP header flags (RFC 9293 §3.1).
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
    public static let urg = TCPFlags(rawValue: 0x20)
    public static let ece = TCPFlags(rawValue: 0x40)
    public static let cwr = TCPFlags(rawValue: 0x80)
}

/// One decoded TCP segment.
///
/// `payload` borrows the capture buffer: it is valid only for the duration of
/// the call that hands the segment over. Anything kept longer must be copied
/// (TCPReassembly copies only out-of-order data).
public struct TCPSegment {
    public var source: Endpoint
    public var destination: Endpoint
    public var sequenceNumber: UInt32
    public var acknowledgmentNumber: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    /// The payload bytes present in the capture (may be shorter than `payloadLength` when snaplen cut the packet).
    public var payload: UnsafeRawBufferPointer
    /// The payload length the IP header announces; larger than `payload.count` for a snaplen-truncated packet.
    public var payloadLength: Int
    public var timestamp: Timestamp

    @inlinable
    public init(
        source: Endpoint, destination: Endpoint, sequenceNumber: UInt32, acknowledgmentNumber: UInt32,
        flags: TCPFlags, window: UInt16, payload: UnsafeRawBufferPointer, payloadLength: Int, timestamp: Timestamp
    ) {
        self.source = source
        self.destination = destination
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.payload = payload
        self.payloadLength = payloadLength
        self.timestamp = timestamp
    }

    /// True when the capture holds fewer payload bytes than the packet carried.
    @inlinable public var isTruncated: Bool { payload.count < payloadLength }
}

/// Data-link types we decode (libpcap `DLT_*` / `LINKTYPE_*` values).
public enum LinkType: Sendable, Hashable {
    case ethernet      // DLT_EN10MB (1)
    case null          // DLT_NULL (0): 4-byte address family in the writer's byte order
    case loop          // DLT_LOOP (108): 4-byte address family, big-endian
    case raw           // DLT_RAW (12 or 14; LINKTYPE_RAW 101): IPv4 or IPv6 by version nibble
    case ipv4          // LINKTYPE_IPV4 (228)
    case ipv6          // LINKTYPE_IPV6 (229)
    case linuxSLL      // DLT_LINUX_SLL (113), `-i any` before libpcap 1.10
    case linuxSLL2     // DLT_LINUX_SLL2 (276), `-i any` with libpcap >= 1.10

    /// Maps a libpcap data-link value; nil for types we do not decode.
    public init?(dlt: Int32) {
        switch dlt {
        case 1: self = .ethernet
        case 0: self = .null
        case 108: self = .loop
        case 12, 14, 101: self = .raw
        case 228: self = .ipv4
        case 229: self = .ipv6
        case 113: self = .linuxSLL
        case 276: self = .linuxSLL2
        default: return nil
        }
    }
}
