import PacketDecoding

/// Which way bytes travel on a connection.
public enum StreamDirection: UInt8, Sendable, Hashable, CaseIterable {
    case clientToServer = 0
    case serverToClient = 1

    @inlinable public var reversed: StreamDirection { self == .clientToServer ? .serverToClient : .clientToServer }
}

/// How the reassembler decided which side is the client.
public enum RoleSource: UInt8, Sendable {
    /// The side that sent the SYN (without ACK) is the client.
    case handshake
    /// No SYN seen; one port is a configured server port.
    case configuredPort
    /// No SYN seen and no configured port; the first side to send is taken as the client.
    /// Protocol observers may know better (HTTP: the side that sends a request line).
    case firstSender
}

/// Why a direction of a stream ended.
public enum StreamEndReason: UInt8, Sendable {
    case fin
    case reset
    /// No packet on the connection for the idle timeout (packet time).
    case idleExpired
    /// Evicted to stay within the connection limit.
    case evicted
    /// The capture (file) ended with the connection still open.
    case captureEnded
}

/// What the reassembler knows about a connection when it hands it to a consumer.
public struct ConnectionInfo: Sendable, Hashable {
    /// Unique for the lifetime of one reassembler (a reused address/port pair gets a new id).
    public var id: UInt64
    public var client: Endpoint
    public var server: Endpoint
    public var roleSource: RoleSource
    /// Time of the client's SYN when the handshake was seen.
    public var synTime: Timestamp?
    /// Time of the first packet seen on the connection.
    public var firstSeen: Timestamp
    /// Time of the client's first segment after its SYN: the ACK that completes the handshake (or
    /// its first data when that ACK was not captured). Nil when no SYN was seen, and until the
    /// consumer is told (`streamHandshakeEnd`): the reassembler hands this value over at the SYN.
    public var handshakeEnd: Timestamp?

    public init(
        id: UInt64, client: Endpoint, server: Endpoint, roleSource: RoleSource, synTime: Timestamp?, firstSeen: Timestamp,
        handshakeEnd: Timestamp? = nil
    ) {
        self.id = id
        self.client = client
        self.server = server
        self.roleSource = roleSource
        self.synTime = synTime
        self.firstSeen = firstSeen
        self.handshakeEnd = handshakeEnd
    }
}

/// Receives one connection's reassembled byte streams (both directions).
///
/// The contract (after gopacket's `reassembly.Stream` and packetbeat's
/// `TCPPlugin`): bytes in order, explicit gaps, end of stream — three calls;
/// and, for a consumer that times a connection's opening, when its handshake ended.
/// `bytes` borrows the capture buffer or the reassembler's own buffer and is
/// valid only during the call.
public protocol StreamConsumer: AnyObject {
    /// In-order bytes of one direction; `time` is the capture time of the packet that carried them.
    func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp)
    /// `length` bytes of one direction are missing and will never arrive; delivery resumes after them.
    func streamGap(length: Int, direction: StreamDirection, time: Timestamp)
    /// One direction has ended; no further calls for it. Called for both directions before the connection is dropped.
    func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp)
    /// The client's first segment after its SYN was captured at `time` (`ConnectionInfo.handshakeEnd`):
    /// at most once, only on a connection whose SYN was seen, before the client's data but what its
    /// SYN carried (TCP Fast Open). A
    /// client writes a request as soon as its connect returns, when the kernel sends that ACK; a
    /// connection opened ahead of its use (a pool's) waits between the two. Defaults to nothing.
    func streamHandshakeEnd(time: Timestamp)

    // The same three calls on an object of this class that the caller keeps alive (the reassembler
    // holds its consumers unretained, see `ConsumerReference`). Requirements with default
    // implementations, not to be implemented: as requirements, each conforming class gets them
    // specialised for itself, so a call reaches the consumer in one call through the witness table
    // (a generic helper over the class took three, and 20 instructions more a packet).
    static func streamData(
        unretained object: Unmanaged<AnyObject>, _ bytes: UnsafeRawBufferPointer, direction: StreamDirection,
        time: Timestamp)
    static func streamGap(unretained object: Unmanaged<AnyObject>, length: Int, direction: StreamDirection, time: Timestamp)
    static func streamEnd(
        unretained object: Unmanaged<AnyObject>, direction: StreamDirection, reason: StreamEndReason, time: Timestamp)
    static func streamHandshakeEnd(unretained object: Unmanaged<AnyObject>, time: Timestamp)
}

extension StreamConsumer {
    /// Nothing: most consumers do not time a connection's opening.
    public func streamHandshakeEnd(time: Timestamp) {}

    /// `streamHandshakeEnd` on `object`, an instance of this class borrowed for the call.
    @inlinable @inline(__always)
    public static func streamHandshakeEnd(unretained object: Unmanaged<AnyObject>, time: Timestamp) {
        object._withUnsafeGuaranteedRef { unsafeDowncast($0, to: Self.self).streamHandshakeEnd(time: time) }
    }

    /// `streamData` on `object`, an instance of this class borrowed for the call.
    @inlinable @inline(__always)
    public static func streamData(
        unretained object: Unmanaged<AnyObject>, _ bytes: UnsafeRawBufferPointer, direction: StreamDirection,
        time: Timestamp
    ) {
        object._withUnsafeGuaranteedRef { unsafeDowncast($0, to: Self.self).streamData(bytes, direction: direction, time: time) }
    }

    /// `streamGap` on `object`, an instance of this class borrowed for the call.
    @inlinable @inline(__always)
    public static func streamGap(
        unretained object: Unmanaged<AnyObject>, length: Int, direction: StreamDirection, time: Timestamp
    ) {
        object._withUnsafeGuaranteedRef {
            unsafeDowncast($0, to: Self.self).streamGap(length: length, direction: direction, time: time)
        }
    }

    /// `streamEnd` on `object`, an instance of this class borrowed for the call.
    @inlinable @inline(__always)
    public static func streamEnd(
        unretained object: Unmanaged<AnyObject>, direction: StreamDirection, reason: StreamEndReason, time: Timestamp
    ) {
        object._withUnsafeGuaranteedRef {
            unsafeDowncast($0, to: Self.self).streamEnd(direction: direction, reason: reason, time: time)
        }
    }
}

/// Creates the consumer for each new connection; returns nil to ignore a
/// connection (its payload is then tracked for sequence numbers but never delivered).
public protocol StreamConsumerFactory: AnyObject {
    func makeConsumer(for connection: ConnectionInfo) -> (any StreamConsumer)?
}
