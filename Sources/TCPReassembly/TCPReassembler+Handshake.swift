/// Opening handshakes: new connections, SYN retransmissions, reused pairs, and roles without a SYN.

import PacketDecoding

extension ReassemblerState {
    /// SYN handling: new connections, SYN retransmissions, reuse of a pair (RFC 9293 §3.5, §3.10.7).
    mutating func handleHandshake(
        _ segment: TCPSegment, key: ConnectionKey, hash: UInt32, side: Int, existing: Int?
    ) -> Int? {
        let sequence = TCPSequence(segment.sequenceNumber)
        let isSynAck = segment.isACK
        if let slot = existing {
            let senderIsClient = side == slots[slot].clientSide
            if isSynAck {
                if !senderIsClient {
                    if slots[slot].flags.contains(.synAckSeen) && slots[slot].serverInitialSequence == sequence {
                        stats.synRetransmissions += 1
                    } else {
                        slots[slot].serverInitialSequence = sequence
                        slots[slot].flags.insert(.synAckSeen)
                        noteSYNAck(segment, slot: slot)
                        if !natCopies.candidates.isEmpty {
                            settleNATCandidates(involving: slot, now: segment.timestamp.nanoseconds)
                        }
                    }
                }
                startPeerFromAck(segment, slot: slot, side: side)
                return slot
            }
            let isClosing = slots[slot].isClosing
            if senderIsClient {
                if slots[slot].flags.contains(.synSeen) && slots[slot].clientInitialSequence == sequence {
                    stats.synRetransmissions += 1
                    return slot
                }
                let clientHalf = slots[slot].half(side)
                if !slots[slot].flags.contains(.synSeen) && !isClosing && clientHalf.isStarted
                    && clientHalf.nextSequence == sequence.advanced(by: 1)
                {
                    // The SYN arrives after its SYN+ACK (capture reordering).
                    slots[slot].flags.insert(.synSeen)
                    slots[slot].clientInitialSequence = sequence
                    return slot
                }
            } else if !slots[slot].half(side).isStarted && !isClosing {
                return slot  // simultaneous open (RFC 9293 §3.5, figure 8)
            }
            // A new connection on a reused address/port pair: the old one is
            // gone even if we did not see all of its end.
            close(slot, reason: .reset, time: segment.timestamp)
        }
        if isSynAck {
            // The SYN was lost: the receiver of the SYN+ACK is the client.
            let slot = openConnection(key: key, hash: hash, clientIsLow: side == 1, roleSource: .handshake,
                                      time: segment.timestamp, synTime: nil)
            slots[slot].serverInitialSequence = sequence
            slots[slot].flags.insert(.synAckSeen)
            startPeerFromAck(segment, slot: slot, side: side)
            noteOpeningFromSYNAck(segment, slot: slot)
            return slot
        }
        let slot = openConnection(key: key, hash: hash, clientIsLow: side == 0, roleSource: .handshake,
                                  time: segment.timestamp, synTime: segment.timestamp)
        slots[slot].clientInitialSequence = sequence
        slots[slot].flags.formUnion([.synSeen, .handshakeEndAwaited])
        noteOpeningFromSYN(segment, slot: slot)
        return slot
    }

    /// A SYN+ACK acknowledges the client's ISN + 1: where the client's data starts.
    private mutating func startPeerFromAck(_ segment: TCPSegment, slot: Int, side: Int) {
        var peer = slots[slot].half(1 - side)
        guard !peer.isStarted else { return }
        peer.nextSequence = TCPSequence(segment.acknowledgmentNumber)
        peer.flags.insert(.started)
        slots[slot].setHalf(1 - side, peer)
    }

    /// Who is the client when no SYN was seen: the side whose port is not a
    /// configured server port, else the first sender.
    func rolesWithoutHandshake(_ segment: TCPSegment) -> (clientIsSource: Bool, RoleSource) {
        let destinationIsServer = isServerPort(segment.destination.port)
        let sourceIsServer = isServerPort(segment.source.port)
        if destinationIsServer { return (true, .configuredPort) }
        if sourceIsServer { return (false, .configuredPort) }
        return (true, .firstSender)
    }

    @inline(__always)
    func isServerPort(_ port: UInt16) -> Bool {
        serverPortBits[Int(port) >> 6] & (1 << UInt64(port & 63)) != 0
    }
}
