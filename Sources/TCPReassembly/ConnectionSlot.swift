/// The per-connection and per-direction state, kept small and inline.

import PacketDecoding

/// One direction of a connection, named by its sender.
///
/// 32 bytes. `nextSequence` is the next byte to deliver; everything before
/// it was delivered or declared a gap.
struct HalfStream {
    /// Out-of-order data; nil while nothing is buffered (the usual case).
    var buffer: OutOfOrderBuffer?
    /// Packet time (ns) since the current hole has blocked delivery; `Int64.min` when there is none.
    var holeSince: Int64 = .min
    var nextSequence = TCPSequence(0)
    /// Sequence number of the FIN, when `finSeen`.
    var finSequence = TCPSequence(0)
    /// Highest acknowledgment the peer sent for this direction, when `peerAckSeen`.
    var peerAck = TCPSequence(0)
    var flags: Flags = []

    struct Flags: OptionSet {
        var rawValue: UInt8
        /// `nextSequence` is set (a packet of this direction or its SYN was seen).
        static let started = Flags(rawValue: 1)
        static let ended = Flags(rawValue: 2)
        static let finSeen = Flags(rawValue: 4)
        static let peerAckSeen = Flags(rawValue: 8)
    }

    var isStarted: Bool { flags.contains(.started) }
    var isEnded: Bool { flags.contains(.ended) }

    /// Where the next buffered thing (data or the FIN) starts, if anything is waiting.
    var pendingStart: TCPSequence? {
        if let piece = buffer?.first { return piece.sequence }
        if flags.contains(.finSeen) && nextSequence < finSequence { return finSequence }
        return nil
    }

    /// Something is buffered beyond a hole.
    @inline(__always)
    var hasHole: Bool {
        if isSettled { return false }  // the usual case, decided cheaply
        return !isEnded && pendingStart != nil
    }

    /// Nothing buffered and no FIN seen: no hole, nothing pending (the usual case).
    @inline(__always)
    var isSettled: Bool { buffer == nil && !flags.contains(.finSeen) }

    /// Records the peer's acknowledgment of this direction (the highest one seen).
    @inline(__always)
    mutating func noteAcknowledgment(_ ack: TCPSequence) {
        if !flags.contains(.peerAckSeen) || peerAck < ack {
            peerAck = ack
            flags.insert(.peerAckSeen)
        }
    }

    var bufferedBytes: Int { buffer?.byteCount ?? 0 }
    var bufferedPieces: Int { buffer?.pieces.count ?? 0 }
    /// Buffered bytes plus per-piece overhead (`OutOfOrderBuffer.footprint`).
    var bufferedFootprint: Int { buffer?.footprint ?? 0 }
}

/// One tracked connection. Slots live in one contiguous array and are
/// linked by index into an activity list (least recently active first, to
/// within `relistInterval`), which drives idle expiry and eviction.
struct ConnectionSlot {
    var key: ConnectionKey
    /// Owns one retain of the consumer (given back by `remove`); nil when the factory declined.
    var consumer: ConsumerReference?
    var id: UInt64
    var firstSeen: Int64
    var lastSeen: Int64
    /// `lastSeen` when the slot was last moved to the end of the activity list.
    var listedAt: Int64
    /// Packet time of the client's SYN; `Int64.min` when not seen.
    var synTime: Int64
    /// The direction sent by the lower endpoint of `key`.
    var lowHalf = HalfStream()
    /// The direction sent by the higher endpoint of `key`.
    var highHalf = HalfStream()
    var clientInitialSequence = TCPSequence(0)
    var serverInitialSequence = TCPSequence(0)
    /// Activity list links (slot numbers, `none` at the ends); `next` also chains free slots.
    var previous: UInt32 = ConnectionSlot.none
    var next: UInt32 = ConnectionSlot.none
    /// Position in the reassembler's list of connections with holes, or `none`.
    var holeListPosition: UInt32 = ConnectionSlot.none
    var clientIsLow: Bool
    var roleSource: RoleSource
    var flags: Flags = []

    static let none = UInt32.max

    struct Flags: OptionSet {
        var rawValue: UInt8
        static let inUse = Flags(rawValue: 1)
        static let synSeen = Flags(rawValue: 2)
        static let synAckSeen = Flags(rawValue: 4)
        /// The second copy of a connection seen on both sides of a NAT: not read (`NATCopyDetector`).
        static let natCopy = Flags(rawValue: 8)
        /// Opened by a SYN whose client has sent nothing since: its next segment ends the handshake.
        static let handshakeEndAwaited = Flags(rawValue: 16)
    }

    /// The server's port.
    var serverPort: UInt16 { clientIsLow ? key.highPort : key.lowPort }
    /// The client's port.
    var clientPort: UInt16 { clientIsLow ? key.lowPort : key.highPort }

    /// The side (0 = low endpoint, 1 = high) that is the client.
    var clientSide: Int { clientIsLow ? 0 : 1 }

    func direction(ofSide side: Int) -> StreamDirection { side == clientSide ? .clientToServer : .serverToClient }

    func half(_ side: Int) -> HalfStream { side == 0 ? lowHalf : highHalf }

    mutating func setHalf(_ side: Int, _ half: HalfStream) {
        if side == 0 { lowHalf = half } else { highHalf = half }
    }

    /// A FIN or the end of a direction was seen: the pair may be reused by a new SYN.
    var isClosing: Bool {
        lowHalf.isEnded || highHalf.isEnded || lowHalf.flags.contains(.finSeen) || highHalf.flags.contains(.finSeen)
    }
}
