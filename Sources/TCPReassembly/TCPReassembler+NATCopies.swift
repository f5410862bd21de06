/// One connection seen twice, before and after a NAT, is read once.

import PacketDecoding

/// Finds the second copy of a connection that a capture sees on both sides of a NAT.
///
/// On a host that forwards through a NAT — Docker's published ports (DNAT) and its containers'
/// outgoing calls (MASQUERADE), Kubernetes Services and NodePorts — a capture on `any` sees each
/// packet on the interface it came in on and again, with other addresses or ports, on the one it
/// leaves by. The two copies are two 4-tuples, so two connections, and each of their exchanges
/// would be counted twice: a call to a container's published port once as the service's own API
/// and once as an outgoing call to the host's port.
///
/// A NAT rewrites addresses and ports only: both copies carry the same sequence and acknowledgment
/// numbers, window and payload. From its SYN, a copy is the connection with the same ISN
/// and window opened just before (`synWindow`) and still without its SYN+ACK, and whose SYN+ACK, seen
/// before the first one's, carries the same server ISN: two random 32-bit numbers, where two real
/// connections differ (a client with a weak ISN generator still meets a server that hashes its own),
/// and handshakes nested as only a NAT nests them (a generator numbering every connection alike opens
/// them one after the other). The client port may differ when the client address does too: a source NAT
/// that had to give another port, or one that always does (`--random-fully`). A copy that shows the
/// SYN+ACK but not the SYN (a hairpin NAT's view after its DNAT alone, on a bridge netfilter sees; a
/// NodePort's between its MASQUERADE and its DNAT undone) is the same SYN+ACK just after another
/// connection's.
/// Picked up mid-stream, a copy's first segment has the same sequence and acknowledgment numbers,
/// length, window and first payload bytes as another connection's first segment just before it, which
/// read nothing else, with endpoints a NAT makes (`areNATEndpoints`; a hairpin NAT rewrites both).
///
/// Of the copies, the last on a configured server port (an inbound or broker port) is read, so that a
/// published port or a container's own port may be configured; else the first seen. The other keeps
/// its slot without a consumer (its payload is counted in `natCopySegments`), so its packets are not
/// taken for a new connection. A copy seen from its SYN is settled before any data moves (the
/// SYN+ACK's second copy is captured before the client can send), so the copy given up has read
/// nothing; mid-stream, the first copy's reader has read one segment, which the second reads again.
struct NATCopyDetector {
    /// A recent opening, by the fingerprint it would share with its copy.
    struct Opening {
        var fingerprint: UInt64 = 0
        var time: Int64 = .min
        var slot: UInt32 = ConnectionSlot.none
        var id: UInt64 = 0
    }

    /// A SYN that matched a recent one: a copy once both SYN+ACKs carry the same server ISN.
    struct Candidate {
        var first: UInt32
        var firstID: UInt64
        var second: UInt32
        var secondID: UInt64
        var time: Int64
    }

    /// Direct-mapped by fingerprint: a copy follows its original within microseconds, with few
    /// openings between them, so an entry is rarely overwritten before it is needed.
    static let tableSize = 1024
    /// How far apart in packet time the two copies' SYNs (or first segments) may be: a NAT forwards
    /// within microseconds; this leaves room for a loaded host and `any`'s per-interface timestamps.
    static let synWindow: Int64 = 200_000_000
    /// How long a candidate waits for both SYN+ACKs (SYN retransmissions take seconds).
    static let candidateLifetime: Int64 = 30_000_000_000

    /// Openings from a SYN and from mid-stream, `tableSize` each, allocated once (a write to an array
    /// here cost a uniqueness check, about 60 instructions a connection); `deallocate()` frees them.
    let fromSYN: UnsafeMutablePointer<Opening>
    let midStream: UnsafeMutablePointer<Opening>
    var candidates: [Candidate] = []
    /// Each use of the tables, in order, when recorded (`recordsUses`: a reassembler holding some of a
    /// replay's connections; see `NATTableUse`), up to `maxRecordedUses`.
    var uses: [NATTableUse] = []
    var recordsUses = false
    var usesOverflowed = false
    static let maxRecordedUses = 1 << 21

    init() {
        fromSYN = .allocate(capacity: Self.tableSize)
        fromSYN.initialize(repeating: Opening(), count: Self.tableSize)
        midStream = .allocate(capacity: Self.tableSize)
        midStream.initialize(repeating: Opening(), count: Self.tableSize)
    }

    func deallocate() {
        fromSYN.deallocate()
        midStream.deallocate()
    }

    @inline(__always)
    static func slotIndex(_ fingerprint: UInt64) -> Int {
        let mixed = fingerprint &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed >> 54)  // the top 10 bits: tableSize entries
    }

    static func synFingerprint(_ segment: TCPSegment) -> UInt64 {
        UInt64(segment.sequenceNumber) << 32 | UInt64(segment.window) << 16 | 1
    }

    static func segmentFingerprint(_ segment: TCPSegment) -> UInt64 {
        var first8: UInt64 = 0
        let sample = min(8, segment.payload.count)
        for i in 0..<sample { first8 = first8 << 8 | UInt64(segment.payload[i]) }
        let numbers = UInt64(segment.sequenceNumber) << 32 | UInt64(segment.acknowledgmentNumber)
        let shape = UInt64(truncatingIfNeeded: segment.payloadLength) << 16 | UInt64(segment.window)
        return numbers ^ (first8 &* 0xBF58_476D_1CE4_E5B9) ^ (shape &* 0x94D0_49BB_1331_11EB)
    }
}

extension ReassemblerState {
    /// A connection just opened by its client's SYN: remembered, or a candidate copy of one.
    mutating func noteOpeningFromSYN(_ segment: TCPSegment, slot: Int) {
        let now = segment.timestamp.nanoseconds
        let fingerprint = NATCopyDetector.synFingerprint(segment)
        let entry = NATCopyDetector.slotIndex(fingerprint)
        if let first = earlierOpening(natCopies.fromSYN[entry], fingerprint: fingerprint, now: now, slot: slot),
            !slots[first].flags.contains(.synAckSeen), areSourceNATClients(first, slot)
        {
            noteTableUse(.fromSYN, fingerprint, now, inserts: false)
            // Candidates of all connections together are bounded (a flood of equal ISNs): a global
            // limit (`ReassemblyStatistics.globalBudgetHits`).
            if natCopies.candidates.count >= configuration.maxNATCandidates {
                natCopies.candidates.removeFirst()
                stats.natCandidatesDropped += 1
            }
            natCopies.candidates.append(
                .init(first: UInt32(first), firstID: slots[first].id, second: UInt32(slot), secondID: slots[slot].id, time: now))
            return
        }
        noteTableUse(.fromSYN, fingerprint, now, inserts: true)
        natCopies.fromSYN[entry] = .init(fingerprint: fingerprint, time: now, slot: UInt32(slot), id: slots[slot].id)
    }

    /// Whether the clients of two connections opened by SYNs with the same ISN and window may be one
    /// client before and after a NAT: the same port (a destination NAT, or a source NAT that kept it),
    /// or another address altogether (a source NAT that had to give another port, or one that always
    /// does, as Kubernetes' network plugins masquerade with `--random-fully`). A generator numbering
    /// alike the connections of one client differs in ports only.
    @inline(__always)
    private func areSourceNATClients(_ first: Int, _ second: Int) -> Bool {
        guard slots[first].clientPort != slots[second].clientPort else { return true }
        let a = slots[first].key, b = slots[second].key
        let clientA = slots[first].clientIsLow ? a.lowEndpoint : a.highEndpoint
        let clientB = slots[second].clientIsLow ? b.lowEndpoint : b.highEndpoint
        return clientA.address != clientB.address
    }

    /// A SYN+ACK recorded on `slot`: a candidate pair it belongs to is settled once both have one.
    mutating func settleNATCandidates(involving slot: Int, now: Int64) {
        // Copies of the first copy, settled together: a hairpin NAT on a bridge that netfilter sees
        // (Docker's, br_netfilter) shows three (before it, after its DNAT alone, after its MASQUERADE).
        var copiesOfSlot: [Int] = []
        var index = 0
        while index < natCopies.candidates.count {
            let candidate = natCopies.candidates[index]
            let first = Int(candidate.first), second = Int(candidate.second)
            guard isLive(candidate.first, id: candidate.firstID), isLive(candidate.second, id: candidate.secondID),
                now &- candidate.time <= NATCopyDetector.candidateLifetime
            else {
                natCopies.candidates.remove(at: index)
                continue
            }
            guard first == slot || second == slot,
                slots[first].flags.contains(.synAckSeen), slots[second].flags.contains(.synAckSeen)
            else {
                index += 1
                continue
            }
            natCopies.candidates.remove(at: index)
            // Through a NAT the handshakes nest: the server's SYN+ACK passes the copy's side first, and
            // the first copy's SYN+ACK is the later one (the one recorded now).
            if slot == first, slots[first].serverInitialSequence == slots[second].serverInitialSequence {
                copiesOfSlot.append(second)
            }
        }
        if !copiesOfSlot.isEmpty { settleCopies(first: slot, later: copiesOfSlot) }
    }

    /// A connection just opened mid-stream by `segment`: when another opened just before with the
    /// same first segment, one of the two is a copy.
    mutating func noteOpeningMidStream(_ segment: TCPSegment, slot: Int) {
        let now = segment.timestamp.nanoseconds
        let fingerprint = NATCopyDetector.segmentFingerprint(segment)
        let entry = NATCopyDetector.slotIndex(fingerprint)
        if let first = earlierOpening(natCopies.midStream[entry], fingerprint: fingerprint, now: now, slot: slot),
            hasReadOnly(segment, slot: first), areNATEndpoints(segment, of: first)
        {
            noteTableUse(.midStream, fingerprint, now, inserts: false)
            settleCopies(first: first, later: [slot])
            return
        }
        noteTableUse(.midStream, fingerprint, now, inserts: true)
        natCopies.midStream[entry] = .init(fingerprint: fingerprint, time: now, slot: UInt32(slot), id: slots[slot].id)
    }

    /// A SYN+ACK recorded on a connection seen from its SYN: remembered (in `midStream`, where a
    /// fingerprint with no payload and both ISNs meets no data segment's) for a copy of it without its
    /// SYN.
    mutating func noteSYNAck(_ segment: TCPSegment, slot: Int) {
        let fingerprint = NATCopyDetector.segmentFingerprint(segment)
        noteTableUse(.midStream, fingerprint, segment.timestamp.nanoseconds, looksUp: false, inserts: true)
        natCopies.midStream[NATCopyDetector.slotIndex(fingerprint)] =
            .init(fingerprint: fingerprint, time: segment.timestamp.nanoseconds, slot: UInt32(slot), id: slots[slot].id)
    }

    /// A connection opened by a SYN+ACK alone: a copy, given up, when another connection seen from its
    /// SYN recorded the same SYN+ACK (both ISNs, window) just before, with endpoints a NAT makes. A
    /// hairpin NAT on a bridge netfilter sees (Docker's) shows, after its DNAT alone, the server's
    /// packets of the connection but not the client's; the copy seen from its SYN holds them all.
    mutating func noteOpeningFromSYNAck(_ segment: TCPSegment, slot: Int) {
        let fingerprint = NATCopyDetector.segmentFingerprint(segment)
        noteTableUse(.midStream, fingerprint, segment.timestamp.nanoseconds, inserts: false)
        let previous = natCopies.midStream[NATCopyDetector.slotIndex(fingerprint)]
        let first = Int(previous.slot)
        guard previous.fingerprint == fingerprint,
            segment.timestamp.nanoseconds &- previous.time <= NATCopyDetector.synWindow,
            isLive(previous.slot, id: previous.id), first != slot, slots[first].flags.contains(.synAckSeen)
        else { return }
        let low = slots[first].key.lowEndpoint, high = slots[first].key.highEndpoint
        let (client, server) = slots[first].clientIsLow ? (low, high) : (high, low)
        // A NodePort's copy on a bridge netfilter sees (kube-proxy's DNAT and MASQUERADE --random-fully,
        // br_netfilter): the server's packets after the MASQUERADE is undone and before the DNAT is,
        // the same server and the outside client, whose port the MASQUERADE changed. As from the SYN,
        // a client port may differ when the client address does too.
        let otherClient = server == segment.source && client.address != segment.destination.address
        guard otherClient || areNATSides(sources: (server, segment.source), destinations: (client, segment.destination))
        else { return }
        giveUp(copy: slot)
    }

    /// The connection `previous` names, if it opened with `fingerprint` just before `slot` and is still
    /// open and no copy itself.
    @inline(__always)
    private func earlierOpening(_ previous: NATCopyDetector.Opening, fingerprint: UInt64, now: Int64, slot: Int) -> Int? {
        guard previous.fingerprint == fingerprint, now &- previous.time <= NATCopyDetector.synWindow,
            isLive(previous.slot, id: previous.id), Int(previous.slot) != slot,
            !slots[Int(previous.slot)].flags.contains(.natCopy)
        else { return nil }
        return Int(previous.slot)
    }

    /// The connection opened mid-stream by the first copy of `segment` has read that segment and nothing
    /// since (a bridge's ports may have shown it again: a retransmission, nothing new).
    private func hasReadOnly(_ segment: TCPSegment, slot: Int) -> Bool {
        let sent = TCPSequence(segment.sequenceNumber).advanced(by: segment.payloadLength)
        let acknowledged = TCPSequence(segment.acknowledgmentNumber)
        let low = slots[slot].lowHalf, high = slots[slot].highHalf
        func untouched(_ half: HalfStream) -> Bool { !half.isStarted || half.nextSequence == acknowledged }
        return (low.nextSequence == sent && low.isStarted && untouched(high))
            || (high.nextSequence == sent && high.isStarted && untouched(low))
    }

    /// Whether `segment`'s endpoints and those of the connection `slot`, opened by the same segment, are
    /// what a NAT makes of one connection, each side matched with the same side of the other (the
    /// segment's sender with the sender of the one `slot` read): one endpoint the same, and the other
    /// one's port kept (a source NAT; a destination NAT to the same port) or a configured server port
    /// on either copy (a published port and the container's); or, both addresses rewritten (a hairpin
    /// NAT: a container calls the host's published port of a container on its own bridge, through a
    /// DNAT and a MASQUERADE at once), one side's port kept and a configured server port on the other.
    /// Connections of a generator that numbers them all alike, from many clients to one server, share
    /// the server's endpoint and differ in the clients' ports.
    private func areNATEndpoints(_ segment: TCPSegment, of slot: Int) -> Bool {
        let sent = TCPSequence(segment.sequenceNumber).advanced(by: segment.payloadLength)
        let low = slots[slot].key.lowEndpoint, high = slots[slot].key.highEndpoint
        let sentByLow = slots[slot].lowHalf.isStarted && slots[slot].lowHalf.nextSequence == sent
        let (source, destination) = sentByLow ? (low, high) : (high, low)
        return areNATSides(sources: (source, segment.source), destinations: (destination, segment.destination))
    }

    /// The rule of `areNATEndpoints` on the two copies' sources and their destinations.
    private func areNATSides(sources: (Endpoint, Endpoint), destinations: (Endpoint, Endpoint)) -> Bool {
        func configured(_ x: (Endpoint, Endpoint)) -> Bool { isServerPort(x.0.port) || isServerPort(x.1.port) }
        func portKept(_ x: (Endpoint, Endpoint)) -> Bool { x.0.port == x.1.port }
        if sources.0 == sources.1 { return portKept(destinations) || configured(destinations) }
        if destinations.0 == destinations.1 { return portKept(sources) || configured(sources) }
        return (portKept(sources) && configured(destinations)) || (portKept(destinations) && configured(sources))
    }

    /// Keeps one of the copies of a connection (`first`, then `later` in the order their first packets
    /// came): the last one on a configured server port, else the first. The last is the one nearest the
    /// server, the connection as the server sees it: of a hairpin NAT's three copies, the one after its
    /// DNAT alone carries only the server's packets (and the SYN), and the one after its MASQUERADE all.
    private mutating func settleCopies(first: Int, later: [Int]) {
        let kept = later.last { isServerPort(slots[$0].serverPort) } ?? first
        for copy in [first] + later where copy != kept { giveUp(copy: copy) }
    }

    private mutating func giveUp(copy: Int) {
        // The copy's reader goes without its end: it read nothing (from a SYN) or one segment the kept
        // copy reads too, and nothing it holds may be reported.
        slots[copy].consumer?.release()
        slots[copy].consumer = nil
        slots[copy].flags.insert(.natCopy)
        stats.natCopyConnections += 1
    }

    /// Candidates whose connections are gone or which waited too long; run with the idle sweep.
    mutating func expireNATCandidates(now: Int64) {
        var kept = natCopies.candidates
        kept.removeAll {
            !isLive($0.first, id: $0.firstID) || !isLive($0.second, id: $0.secondID)
                || now &- $0.time > NATCopyDetector.candidateLifetime
        }
        natCopies.candidates = kept
    }

    @inline(__always)
    private func isLive(_ slot: UInt32, id: UInt64) -> Bool {
        slot != ConnectionSlot.none && Int(slot) < slots.count && slots[Int(slot)].flags.contains(.inUse)
            && slots[Int(slot)].id == id
    }
}
