/// Opening, closing, expiring and evicting connections; the activity and hole lists.

import PacketDecoding

extension ReassemblerState {
    /// Ends connections idle for `idleTimeout` and gaps holes older than
    /// `holeTimeout` (both in packet time). `process` calls this itself once
    /// per second of packet time.
    mutating func expireIdle(now: Timestamp) {
        let time = now.nanoseconds
        while oldest != ConnectionSlot.none {
            let slot = Int(oldest)
            if time &- slots[slot].lastSeen >= idleTimeout {
                close(slot, reason: .idleExpired, time: now)
            } else if slots[slot].lastSeen != slots[slot].listedAt {
                relist(slot)  // active since it was listed: not the oldest after all
            } else {
                break
            }
        }
        if !natCopies.candidates.isEmpty { expireNATCandidates(now: time) }
        guard !holeList.isEmpty else { return }
        for slot in holeList {
            expireHoles(Int(slot), now: now)
        }
    }

    /// End of capture: every open connection ends with `.captureEnded`
    /// after its buffered data has been delivered (with gaps).
    mutating func finish(at time: Timestamp) {
        while oldest != ConnectionSlot.none {
            close(Int(oldest), reason: .captureEnded, time: time)
        }
    }

    /// Starts tracking a connection; evicts the least recently active one when full.
    mutating func openConnection(
        key: ConnectionKey, hash: UInt32, clientIsLow: Bool, roleSource: RoleSource, time: Timestamp,
        synTime: Timestamp?
    ) -> Int {
        if index.count >= configuration.maxConnections && oldest != ConnectionSlot.none {
            // The least recently active: first move those active since they were listed.
            while slots[Int(oldest)].lastSeen != slots[Int(oldest)].listedAt { relist(Int(oldest)) }
            stats.limitHits[.connections] += 1
            close(Int(oldest), reason: .evicted, time: time)
        }
        // One packet opens at most one connection, so its ordinal is an id.
        let id: UInt64
        if let order {
            id = order.packet
        } else {
            id = nextConnectionID
            nextConnectionID += 1
        }
        let low = key.lowEndpoint, high = key.highEndpoint
        let info = ConnectionInfo(
            id: id, client: clientIsLow ? low : high, server: clientIsLow ? high : low, roleSource: roleSource,
            synTime: synTime, firstSeen: time)
        let consumer = factory.makeConsumer(for: info).map { ConsumerReference($0) }
        let entry = ConnectionSlot(
            key: key, consumer: consumer, id: id, firstSeen: time.nanoseconds, lastSeen: time.nanoseconds,
            listedAt: time.nanoseconds, synTime: synTime?.nanoseconds ?? .min, clientIsLow: clientIsLow, roleSource: roleSource, flags: .inUse)
        let slot: Int
        if freeSlot != ConnectionSlot.none {
            slot = Int(freeSlot)
            freeSlot = slots[slot].next
            slots[slot] = entry
        } else {
            slot = slots.append(entry)
        }
        index.insert(hash: hash, slot: slot)
        appendToActivityList(slot)
        stats.connectionsOpened += 1
        return slot
    }

    /// Flushes buffered data (with gaps), ends every direction not yet
    /// ended with `reason`, and forgets the connection.
    mutating func close(_ slot: Int, reason: StreamEndReason, time: Timestamp) {
        if let consumer = slots[slot].consumer {
            for side in 0...1 {
                var half = slots[slot].half(side)
                if !half.isEnded {
                    let direction = slots[slot].direction(ofSide: side)
                    drain(&half, upTo: nil, consumer: consumer, direction: direction, time: time)
                    end(&half, reason: reason, consumer: consumer, direction: direction, time: time)
                }
                slots[slot].setHalf(side, half)
            }
        }
        remove(slot, reason: reason)
    }

    /// Forgets a connection whose directions have ended; counts why.
    mutating func remove(_ slot: Int, reason: StreamEndReason) {
        switch reason {
        case .fin: stats.connectionsClosedByFin += 1
        case .reset: stats.connectionsClosedByReset += 1
        case .idleExpired: stats.connectionsExpired += 1
        case .evicted: stats.connectionsEvicted += 1
        case .captureEnded: stats.connectionsEndedByCapture += 1
        }
        index.remove(hash: slots[slot].key.hash(seed: hashSeed), slot: slot)
        unlinkFromActivityList(slot)
        if slots[slot].holeListPosition != ConnectionSlot.none { removeFromHoleList(slot) }
        stats.bufferedBytes -= slots[slot].lowHalf.bufferedBytes + slots[slot].highHalf.bufferedBytes
        bufferedFootprint -= slots[slot].lowHalf.bufferedFootprint + slots[slot].highHalf.bufferedFootprint
        slots[slot].consumer?.release()
        slots[slot].consumer = nil
        slots[slot].lowHalf = HalfStream()
        slots[slot].highHalf = HalfStream()
        slots[slot].flags = []
        slots[slot].next = freeSlot
        freeSlot = UInt32(slot)
    }

    /// Marks activity. The connection moves to the end of the activity list
    /// only when it was listed `relistInterval` ago or more: most packets
    /// then write one field and touch no other slot. Expiry and eviction
    /// move slots found active since their listing before acting on them.
    @inline(__always)
    mutating func touch(_ slot: Int, now: Int64) {
        slots[slot].lastSeen = now
        if now &- slots[slot].listedAt >= Self.relistInterval { relist(slot) }
    }

    /// Moves a slot to the end of the activity list.
    mutating func relist(_ slot: Int) {
        slots[slot].listedAt = slots[slot].lastSeen
        guard newest != UInt32(slot) else { return }
        unlinkFromActivityList(slot)
        appendToActivityList(slot)
    }

    private mutating func appendToActivityList(_ slot: Int) {
        slots[slot].previous = newest
        slots[slot].next = ConnectionSlot.none
        if newest != ConnectionSlot.none { slots[Int(newest)].next = UInt32(slot) } else { oldest = UInt32(slot) }
        newest = UInt32(slot)
    }

    private mutating func unlinkFromActivityList(_ slot: Int) {
        let previous = slots[slot].previous, next = slots[slot].next
        if previous != ConnectionSlot.none { slots[Int(previous)].next = next } else { oldest = next }
        if next != ConnectionSlot.none { slots[Int(next)].previous = previous } else { newest = previous }
        slots[slot].previous = ConnectionSlot.none
        slots[slot].next = ConnectionSlot.none
    }

    /// Keeps the hole list in step with the slot's directions.
    @inline(__always)
    mutating func updateHoleRegistration(_ slot: Int) {
        let hasHole = slots[slot].lowHalf.hasHole || slots[slot].highHalf.hasHole
        let registered = slots[slot].holeListPosition != ConnectionSlot.none
        if hasHole && !registered {
            slots[slot].holeListPosition = UInt32(holeList.count)
            holeList.append(UInt32(slot))
        } else if !hasHole && registered {
            removeFromHoleList(slot)
        }
    }

    private mutating func removeFromHoleList(_ slot: Int) {
        let position = Int(slots[slot].holeListPosition)
        let last = holeList.removeLast()
        if position < holeList.count {
            holeList[position] = last
            slots[Int(last)].holeListPosition = UInt32(position)
        }
        slots[slot].holeListPosition = ConnectionSlot.none
    }

    /// Gaps the first hole of each direction of `slot` that has waited `holeTimeout`.
    private mutating func expireHoles(_ slot: Int, now: Timestamp) {
        guard slots[slot].flags.contains(.inUse), let consumer = slots[slot].consumer else { return }
        let time = now.nanoseconds
        for side in 0...1 {
            var half = slots[slot].half(side)
            guard half.hasHole, half.holeSince != .min, time &- half.holeSince >= holeTimeout else { continue }
            let previous = half.nextSequence
            drainFirstHole(&half, consumer: consumer, direction: slots[slot].direction(ofSide: side), time: now)
            settleHole(&half, previousNext: previous, now: time)
            slots[slot].setHalf(side, half)
        }
        if slots[slot].lowHalf.isEnded && slots[slot].highHalf.isEnded {
            remove(slot, reason: .fin)
        } else {
            updateHoleRegistration(slot)
        }
    }
}
