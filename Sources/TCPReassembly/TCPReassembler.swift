/// Turns TCP segments into ordered byte streams per connection (RFC 9293), for `StreamConsumer`s.

import PacketDecoding

/// Reassembles both directions of every TCP connection it sees.
///
/// One entry per connection for both directions (a canonical key, one
/// probe of an open-addressing index per packet). In-order payload goes
/// straight from the borrowed capture buffer to the consumer; only
/// out-of-order data is copied, into a bounded per-direction buffer.
/// Missing bytes become explicit `streamGap` calls: when the peer's ACK has
/// passed a hole (the receiver got bytes the capture lost), when a data
/// segment acknowledges bytes of the peer the capture has not shown (a tail
/// the capture lost: gapped before that segment's payload is delivered), when
/// a hole has blocked delivery for `holeTimeout`, when a snaplen cut a
/// payload, or when buffering would exceed a limit.
///
/// Time is packet time only. `process` runs `expireIdle(now:)` itself at
/// most once per second of packet time (before handling the packet, by
/// `SweepSchedule`'s rule), so idle connections and stale holes are handled
/// during a replay and a live capture alike; callers may also call it, e.g.
/// from a timer when no packets arrive. A reassembler that holds some of a
/// replay's connections (`sweepsOnItsOwn: false`) leaves all its sweeps to
/// its driver, which applies the same rule to every segment of the replay.
///
/// Not thread-safe: one reassembler belongs to one pipeline.
public final class TCPReassembler {
    /// All state lives in one struct behind a pointer: the hot path reaches
    /// it without the dynamic exclusivity check that a class's stored `var`
    /// costs on every access (`swift_beginAccess`). Hence consumers must not
    /// call back into the reassembler from their callbacks.
    @usableFromInline let state: UnsafeMutablePointer<ReassemblerState>

    public var configuration: ReassemblyConfiguration { state.pointee.configuration }

    /// With `order` (a pipeline of a replay split over several: docs/replay.md, "Several threads"), a
    /// connection's id is the ordinal of the packet that opened it (`order.packet` then), which the merge renumbers; without
    /// it, ids count connections from 1. `sweepsOnItsOwn: false`: `process` never sweeps; the driver
    /// calls `expireIdle(now:)` where `SweepSchedule` says, over all the replay's segments.
    /// `recordsNATTableUses` (with `order`): the NAT copy detector's table uses are kept for
    /// `natTableUses`.
    public init(
        configuration: ReassemblyConfiguration = ReassemblyConfiguration(), factory: any StreamConsumerFactory,
        order: EventOrder? = nil, sweepsOnItsOwn: Bool = true, recordsNATTableUses: Bool = false
    ) {
        precondition(order != nil || !recordsNATTableUses, "NAT table uses are ordered by the EventOrder's packets")
        state = UnsafeMutablePointer<ReassemblerState>.allocate(capacity: 1)
        state.initialize(to: ReassemblerState(configuration: configuration, factory: factory, order: order))
        if !sweepsOnItsOwn { state.pointee.sweeps = .never }
        state.pointee.natCopies.recordsUses = recordsNATTableUses
    }

    deinit {
        state.pointee.slots.deallocate()
        state.pointee.natCopies.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Counters so far.
    public var statistics: ReassemblyStatistics { state.pointee.statistics }

    /// Connections tracked now.
    public var activeConnections: Int { state.pointee.index.count }

    /// The NAT copy detector's table uses so far, for `NATTableUse.splitMayDiffer`; nil when they were
    /// not recorded (`recordsNATTableUses`) or were too many to keep (`NATCopyDetector.maxRecordedUses`).
    public var natTableUses: [NATTableUse]? {
        let detector = state.pointee.natCopies
        return detector.recordsUses && !detector.usesOverflowed ? detector.uses : nil
    }

    /// Hands one segment to its connection. The payload is used only during the call.
    ///
    /// Inlinable: the pipeline calls the state's `process` itself, without a call to this method
    /// in between (about 10 instructions a packet).
    @inlinable @inline(__always)
    public func process(_ segment: TCPSegment) { state.pointee.process(segment) }

    /// Ends connections idle for `idleTimeout` and gaps holes older than
    /// `holeTimeout` (both in packet time), in opening order. `process` calls
    /// this itself once per second of packet time (`SweepSchedule`), unless
    /// made with `sweepsOnItsOwn: false`.
    public func expireIdle(now: Timestamp) { state.pointee.expireIdle(now: now) }

    /// End of capture: every open connection ends with `.captureEnded`
    /// after its buffered data has been delivered (with gaps).
    public func finish(at time: Timestamp) { state.pointee.finish(at: time) }
}

/// The reassembler's state and logic (see `TCPReassembler`).
@usableFromInline
struct ReassemblerState {
    let configuration: ReassemblyConfiguration
    let factory: any StreamConsumerFactory
    /// The pipeline's event (`EventOrder`); nil outside a split replay. Read when a connection opens and
    /// set while sweeps and the end of input close connections, never per packet.
    let order: EventOrder?

    /// Connection slots, worked on in place (`SlotStorage`).
    var slots: SlotStorage
    var index = SlotIndex()
    /// Free slots chained through `next`.
    var freeSlot = ConnectionSlot.none
    /// The activity list: least recently active first.
    var oldest = ConnectionSlot.none
    var newest = ConnectionSlot.none
    /// Whether the activity list is in the order of its listings (see `collectIdleConnections`).
    var listInOrder = true
    /// The connections a sweep closes or gaps, kept for its capacity (a sweep allocates nothing).
    var sweepScratch: [UInt32] = []
    /// Slots with a hole in either direction, for hole timeouts.
    var holeList: [UInt32] = []
    /// Recent openings, to find connections seen again behind a NAT.
    var natCopies = NATCopyDetector()
    var stats = ReassemblyStatistics()
    /// Buffered bytes plus per-piece overhead over all connections (the total limit's measure).
    var bufferedFootprint = 0
    var nextConnectionID: UInt64 = 1
    /// When `process` sweeps next.
    var sweeps = SweepSchedule()
    let hashSeed: UInt64
    let idleTimeout: Int64
    let holeTimeout: Int64
    /// `configuration.serverPorts` as a 65,536-bit set.
    let serverPortBits: [UInt64]

    /// Packet time after which activity moves a connection to the end of the activity list.
    static let relistInterval: Int64 = 1_000_000_000
    /// An ACK further than this ahead of the next expected byte is not trusted to declare a gap.
    static let maximumAckAdvance = 1 << 30
    /// An ACK on a data segment further than this ahead of a settled direction's next byte is not
    /// trusted to declare that direction's missing tail a gap (16 MiB: far more than a capture drop
    /// loses of one connection, far less than a bogus ACK could claim).
    static let maximumTailGap = 1 << 24

    init(configuration: ReassemblyConfiguration, factory: any StreamConsumerFactory, order: EventOrder?) {
        self.configuration = configuration
        self.factory = factory
        self.order = order
        hashSeed = UInt64.random(in: .min ... .max)
        idleTimeout = configuration.idleTimeout.totalNanoseconds
        holeTimeout = configuration.holeTimeout.totalNanoseconds
        var bits = [UInt64](repeating: 0, count: 1024)
        for port in configuration.serverPorts { bits[Int(port) >> 6] |= 1 << UInt64(port & 63) }
        serverPortBits = bits
        slots = SlotStorage(capacity: configuration.maxConnections)
    }

    var statistics: ReassemblyStatistics {
        var result = stats
        result.connectionsActive = index.count
        return result
    }

    @usableFromInline
    mutating func process(_ segment: TCPSegment) {
        let now = segment.timestamp.nanoseconds
        // `SweepSchedule.isDue(at:)`, spelled out: the next sweep's time set after the sweep, not before
        // it, costs the packet loop no register (3 instructions a packet, measured).
        if now >= sweeps.nextDue {
            expireIdle(now: segment.timestamp)
            sweeps.noteSweep(at: now)
        }
        var sourceIsLow = false
        let key = ConnectionKey(source: segment.source, destination: segment.destination, sourceIsLow: &sourceIsLow)
        let hash = key.hash(seed: hashSeed)
        let side = sourceIsLow ? 0 : 1
        let table = slots
        var found = index.find(hash: hash) { table[$0].key == key }

        if segment.isSYN {
            found = handleHandshake(segment, key: key, hash: hash, side: side, existing: found)
        } else if found == nil {
            // Mid-connection start: only payload opens a connection, so the
            // last ACK after a close does not bring it back.
            guard segment.payloadLength > 0, !segment.isRST else {
                stats.ignoredSegments[.noConnection] += 1
                return
            }
            let (clientIsSource, roleSource) = rolesWithoutHandshake(segment)
            let clientIsLow = clientIsSource == sourceIsLow
            let slot = openConnection(key: key, hash: hash, clientIsLow: clientIsLow, roleSource: roleSource,
                                      time: segment.timestamp, synTime: nil)
            noteOpeningMidStream(segment, slot: slot)
            found = slot
        }
        guard let slot = found else { return }
        touch(slot, now: now)
        handleSegment(segment, slot: slot, side: side)
    }

    /// Everything after the connection is found: RST, ACK, data, FIN.
    private mutating func handleSegment(_ segment: TCPSegment, slot: Int, side: Int) {
        let table = slots
        guard let consumer = table[slot].consumer else {
            handleWithoutConsumer(segment, slot: slot, side: side)
            return
        }
        if _slowPath(table[slot].flags.contains(.handshakeEndAwaited)) {
            noteHandshakeEnd(segment, slot: slot, side: side, consumer: consumer)
        }
        if segment.isRST {
            // RFC 9293 §3.10.7.3: a reset ends both directions at once.
            close(slot, reason: .reset, time: segment.timestamp)
            return
        }
        let senderDirection = table[slot].direction(ofSide: side)
        // Both directions are worked on where they live in the slot.
        if side == 0 {
            exchange(segment, sender: &table[slot].lowHalf, peer: &table[slot].highHalf, consumer: consumer,
                     direction: senderDirection)
        } else {
            exchange(segment, sender: &table[slot].highHalf, peer: &table[slot].lowHalf, consumer: consumer,
                     direction: senderDirection)
        }
        // The usual case first, in a few loads: nothing buffered, no FIN, no end in either
        // direction and not on the hole list, so there is nothing to remove or (un)register.
        let eitherFlags = table[slot].lowHalf.flags.union(table[slot].highHalf.flags)
        if eitherFlags.isDisjoint(with: [.finSeen, .ended]) && table[slot].lowHalf.buffer == nil
            && table[slot].highHalf.buffer == nil && table[slot].holeListPosition == ConnectionSlot.none
        {
            return
        }
        if table[slot].lowHalf.isEnded && table[slot].highHalf.isEnded {
            remove(slot, reason: .fin)
        } else {
            updateHoleRegistration(slot)
        }
    }

    /// The client's first segment after its SYN ends the handshake (`StreamConsumer.streamHandshakeEnd`):
    /// out of line, as it comes once a connection.
    @inline(never)
    private mutating func noteHandshakeEnd(_ segment: TCPSegment, slot: Int, side: Int, consumer: ConsumerReference) {
        guard !segment.isSYN && side == slots[slot].clientSide else { return }
        slots[slot].flags.remove(.handshakeEndAwaited)
        consumer.streamHandshakeEnd(time: segment.timestamp)
    }

    /// The segment's ACK for the peer's direction, then its data and FIN for the sender's.
    ///
    /// Most segments of a healthy connection take the two fast paths: an
    /// ACK for a direction with nothing buffered and no FIN only records
    /// the acknowledgment (no hole can have been passed; on a data segment,
    /// an ACK ahead of the direction is its unseen tail), and the next
    /// in-order, uncut segment of such a direction goes straight to the
    /// consumer. The SYN that starts a direction and the in-order FIN that
    /// ends a settled one (two of each per short connection) have their own.
    /// All do exactly what `acknowledge` and `receive` would.
    @inline(__always)
    private mutating func exchange(
        _ segment: TCPSegment, sender: inout HalfStream, peer: inout HalfStream, consumer: ConsumerReference,
        direction senderDirection: StreamDirection
    ) {
        let now = segment.timestamp.nanoseconds
        if segment.isACK && peer.isStarted && !peer.isEnded {
            let ack = TCPSequence(segment.acknowledgmentNumber)
            if peer.isSettled {
                peer.noteAcknowledgment(ack)
                peer.holeSince = .min
                if segment.payloadLength > 0 && peer.nextSequence != ack {
                    gapUnseenTail(of: &peer, before: ack, consumer: consumer, direction: senderDirection.reversed,
                                  time: segment.timestamp)
                }
            } else {
                let peerStart = peer.nextSequence
                acknowledge(ack, of: &peer, consumer: consumer, direction: senderDirection.reversed,
                            time: segment.timestamp)
                settleHole(&peer, previousNext: peerStart, now: now)
            }
        } else if segment.isACK && !peer.isStarted && !peer.isEnded {
            // Mid-connection start, nothing of the peer's direction seen yet: its bytes before this ACK
            // had reached the sender already. One of them seen later is a retransmission whose first
            // copy the capture missed (a real capture under loss: a request, seen again after its
            // response), not new data, so the peer's stream starts here, as a SYN+ACK starts the
            // client's (`startPeerFromAck`). Taking such a copy as the start would put an answered
            // request before the next one and pair every later request with the response before it.
            peer.nextSequence = TCPSequence(segment.acknowledgmentNumber)
            peer.flags.insert(.started)
        }
        guard !sender.isEnded else {
            if segment.payloadLength > 0 { stats.ignoredSegments[.directionEnded] += 1 }
            return
        }
        let length = segment.payloadLength
        if sender.isSettled && sender.isStarted && segment.flags.rawValue & 0x03 == 0  // neither SYN nor FIN
            && TCPSequence(segment.sequenceNumber) == sender.nextSequence && segment.payload.count == length
        {
            if length > 0 {
                consumer.streamData(segment.payload, direction: senderDirection, time: segment.timestamp)
                sender.nextSequence = sender.nextSequence.advanced(by: length)
            }
            sender.holeSince = .min
            return
        }
        if sender.isSettled && sender.isStarted && segment.flags.rawValue & 0x03 == 0x01  // FIN without SYN
            && TCPSequence(segment.sequenceNumber) == sender.nextSequence && segment.payload.count == length
        {
            // The in-order end of a direction (each one of a short connection): its last bytes, then the
            // end, as `receive` would do it (no buffer, no hole: nothing else to deliver or gap).
            if length > 0 {
                consumer.streamData(segment.payload, direction: senderDirection, time: segment.timestamp)
                sender.nextSequence = sender.nextSequence.advanced(by: length)
            }
            sender.finSequence = sender.nextSequence
            sender.flags.insert(.finSeen)
            end(&sender, reason: .fin, consumer: consumer, direction: senderDirection, time: segment.timestamp)
            return
        }
        if segment.flags.rawValue & 0x03 == 0x02 && length == 0 && !sender.isStarted && sender.isSettled {
            // The SYN (or SYN+ACK) that starts a direction: its data begins one number later, as in `receive`.
            sender.nextSequence = TCPSequence(segment.sequenceNumber).advanced(by: 1)
            sender.flags.insert(.started)
            sender.holeSince = .min
            return
        }
        let senderStart = sender.nextSequence
        receive(segment, into: &sender, otherBuffered: (peer.bufferedFootprint, peer.bufferedPieces),
                consumer: consumer, direction: senderDirection)
        settleHole(&sender, previousNext: senderStart, now: now)
    }

    /// A data segment acknowledges bytes of a settled `peer` direction that the capture has not shown: a
    /// capture drop at the tail of the peer's data (a causal capture never shows an ACK before the data it
    /// acknowledges). Those bytes came before this segment's payload: they become a gap now, before the
    /// payload is delivered, and a copy of them seen later is a retransmission. Delivered after the
    /// payload, a request would come after its own response, and every later pair on the connection
    /// would be off by one. An advance of 1 may be a FIN the capture missed, not data: left alone.
    @inline(never)
    private mutating func gapUnseenTail(
        of peer: inout HalfStream, before ack: TCPSequence, consumer: ConsumerReference, direction: StreamDirection,
        time: Timestamp
    ) {
        let advance = peer.nextSequence.distance(to: ack)
        guard advance > 1 && advance < Self.maximumTailGap else { return }
        gap(&peer, to: ack, consumer: consumer, direction: direction, time: time)
    }

    /// A connection the factory declined: only its lifetime is tracked.
    private mutating func handleWithoutConsumer(_ segment: TCPSegment, slot: Int, side: Int) {
        if segment.payloadLength > 0 {
            if slots[slot].flags.contains(.natCopy) {
                stats.natCopySegments += 1
            } else {
                stats.ignoredSegments[.noConsumer] += 1
            }
        }
        if segment.isRST {
            remove(slot, reason: .reset)
            return
        }
        if segment.isFIN {
            var sender = slots[slot].half(side)
            sender.flags.formUnion([.finSeen, .ended])
            slots[slot].setHalf(side, sender)
            if slots[slot].half(1 - side).isEnded { remove(slot, reason: .fin) }
        }
    }
}
