/// Opening, closing, expiring and evicting connections; the activity and hole lists.

import PacketDecoding

extension ReassemblerState {
    /// Ends connections idle for `idleTimeout` and gaps holes older than `holeTimeout` (both in packet
    /// time), one connection after another in opening order (`EventOrder.connection` set to each one's
    /// id meanwhile). `process` calls this itself once per second of packet time.
    ///
    /// A connection is expired exactly when `now` is `idleTimeout` or more after its last packet, and a
    /// hole gapped exactly when it has waited `holeTimeout`: what a sweep does to a connection depends
    /// on that connection and `now` alone, never on the others in the table, so a replay whose
    /// connections are split over several reassemblers sweeping at the same times closes the same
    /// connections at the same sweeps as one reassembler (docs/replay.md, "Several threads"). The walk
    /// stops early only where that holds (`collectIdleConnections`); the activity list's order decides
    /// nothing else here.
    mutating func expireIdle(now: Timestamp) {
        let time = now.nanoseconds
        var due = sweepScratch
        sweepScratch = []
        collectIdleConnections(now: time, into: &due)
        for slot in holeList where !isIdle(Int(slot), now: time) && hasExpiredHole(Int(slot), now: time) {
            due.append(slot)
        }
        if !due.isEmpty {
            if due.count > 1 {
                let table = slots
                due.sort { table[Int($0)].id < table[Int($1)].id }
            }
            for slot in due {
                let index = Int(slot)
                order?.enterSweep(connection: slots[index].id)
                if isIdle(index, now: time) {
                    close(index, reason: .idleExpired, time: now)
                } else {
                    expireHoles(index, now: now)
                }
            }
            order?.leaveSweep()
        }
        due.removeAll(keepingCapacity: true)
        sweepScratch = due
        if !natCopies.candidates.isEmpty { expireNATCandidates(now: time) }
    }

    @inline(__always)
    private func isIdle(_ slot: Int, now: Int64) -> Bool { now &- slots[slot].lastSeen >= idleTimeout }

    /// Appends every connection idle for `idleTimeout` at `now`, walking the activity list from its
    /// oldest listing. In order (`listInOrder`), the list holds listings in the order of their times
    /// (`listedAt`), and no connection's last packet is before its listing (`touch` relists a
    /// connection whose packet is a second or more after its listing, or before it); so a connection
    /// listed less than `idleTimeout` ago ends the walk: every later one was listed later still, and
    /// seen since. What the walk passes without expiring it (listed long ago, seen within the last
    /// second of its listing) stays in place: it expires within a second unless a packet relists it,
    /// so each is passed at most by the sweeps of one second. Out of order (a packet time before a
    /// later listing's: captures merged from several interfaces, an eviction moving connections
    /// listed earlier), the whole list is walked, and once found in order again it is trusted again.
    private mutating func collectIdleConnections(now time: Int64, into due: inout [UInt32]) {
        var slot = oldest
        var previousKept = Int64.min
        var inOrder = true
        while slot != ConnectionSlot.none {
            let index = Int(slot)
            if listInOrder && time &- slots[index].listedAt < idleTimeout { return }
            if isIdle(index, now: time) {
                due.append(slot)
            } else {
                if slots[index].listedAt < previousKept || slots[index].lastSeen < slots[index].listedAt {
                    inOrder = false
                }
                previousKept = slots[index].listedAt
            }
            slot = slots[index].next
        }
        if !listInOrder && inOrder { listInOrder = true }
    }

    /// End of capture: every open connection ends with `.captureEnded` after its buffered data has been
    /// delivered (with gaps), in opening order (`EventOrder.connection` set to each one's id meanwhile),
    /// which a reassembler holding only some of the connections keeps too.
    mutating func finish(at time: Timestamp) {
        var open: [UInt32] = []
        open.reserveCapacity(index.count)
        var slot = oldest
        while slot != ConnectionSlot.none {
            open.append(slot)
            slot = slots[Int(slot)].next
        }
        let table = slots
        open.sort { table[Int($0)].id < table[Int($1)].id }
        for slot in open {
            order?.enterSweep(connection: slots[Int(slot)].id)
            close(Int(slot), reason: .captureEnded, time: time)
        }
        order?.leaveSweep()
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
    /// only when it was listed `relistInterval` ago or more, or after `now` (packet time went back:
    /// the unsigned difference is huge), so that no connection is seen before its listing (see
    /// `collectIdleConnections`): most packets then write one field and touch no other slot.
    /// Eviction moves slots found active since their listing before acting on them.
    @inline(__always)
    mutating func touch(_ slot: Int, now: Int64) {
        slots[slot].lastSeen = now
        if UInt64(bitPattern: now &- slots[slot].listedAt) >= UInt64(Self.relistInterval) { relist(slot) }
    }

    /// Moves a slot to the end of the activity list.
    mutating func relist(_ slot: Int) {
        slots[slot].listedAt = slots[slot].lastSeen
        guard newest != UInt32(slot) else { return }
        unlinkFromActivityList(slot)
        appendToActivityList(slot)
    }

    private mutating func appendToActivityList(_ slot: Int) {
        if newest != ConnectionSlot.none && slots[Int(newest)].listedAt > slots[slot].listedAt { listInOrder = false }
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

    /// Whether a direction of `slot` has a hole that has waited `holeTimeout` (`expireHoles` gaps it).
    private func hasExpiredHole(_ slot: Int, now time: Int64) -> Bool {
        guard slots[slot].flags.contains(.inUse), slots[slot].consumer != nil else { return false }
        for side in 0...1 {
            let half = slots[slot].half(side)
            if half.hasHole, half.holeSince != .min, time &- half.holeSince >= holeTimeout { return true }
        }
        return false
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
