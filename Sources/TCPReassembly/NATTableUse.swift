/// The NAT copy detector's table uses of reassemblers that each hold some of a replay's connections,
/// and whether one reassembler holding them all could have decided a copy otherwise.

/// One use of `NATCopyDetector`'s tables by a reassembler: an opening looked up (a SYN's, a mid-stream
/// segment's, a SYN+ACK alone's) and what it wrote (a SYN's, a mid-stream segment's or a SYN+ACK's
/// fingerprint), at packet `packet` (its `EventOrder` ordinal).
///
/// The copies of one connection behind a NAT have other addresses, so a replay split by connection
/// puts them in different pipelines more often than not, where neither finds the other; and the tables
/// are direct-mapped, so what one finds also depends on the openings of unrelated connections whose
/// fingerprints fall on the same entry. `NATTableUse.splitMayDiffer` replays every pipeline's uses in
/// packet order over one table as one reassembler would have them, and over each pipeline's own: where
/// a lookup could find a fingerprint in one and not in the other (or another entry), the outcome may
/// differ and the replay is redone with one pipeline. Where both hold the same write, that write is of
/// a connection of the same pipeline, whose state is the same in both: the outcome is the same.
public struct NATTableUse: Sendable, Equatable {
    public enum Table: UInt8, Sendable {
        case fromSYN = 0
        case midStream = 1
    }

    /// The packet ordinal, and in the top three bits the table, whether it looked up, whether it wrote
    /// (24 bytes a use: a pipeline records two or so a connection).
    private let packetAndKind: UInt64
    public let time: Int64
    public let fingerprint: UInt64

    public var packet: UInt64 { packetAndKind & (1 << 61 - 1) }
    public var table: Table { packetAndKind >> 63 == 0 ? .fromSYN : .midStream }
    public var looksUp: Bool { packetAndKind >> 62 & 1 != 0 }
    public var inserts: Bool { packetAndKind >> 61 & 1 != 0 }

    public init(packet: UInt64, time: Int64, fingerprint: UInt64, table: Table, looksUp: Bool, inserts: Bool) {
        precondition(packet < 1 << 61, "packet ordinal out of range")
        packetAndKind = packet | UInt64(table.rawValue) << 63 | (looksUp ? 1 << 62 : 0) | (inserts ? 1 << 61 : 0)
        self.time = time
        self.fingerprint = fingerprint
    }

    /// Whether one reassembler reading every packet could have found (or not found) a NAT copy where
    /// the pipelines that recorded `uses` (one list each, in their packet order) did not (or did).
    /// Conservative: true may be a false alarm, false is certain.
    public static func splitMayDiffer(_ uses: [[NATTableUse]]) -> Bool {
        struct Entry {
            var write = 0  // which write (from 1); 0: none
            var fingerprint: UInt64 = 0
            var time: Int64 = 0
        }
        let size = NATCopyDetector.tableSize
        var whole = [Entry](repeating: Entry(), count: 2 * size)
        var own = [[Entry]](repeating: [Entry](repeating: Entry(), count: 2 * size), count: uses.count)
        var next = [Int](repeating: 0, count: uses.count)
        var writes = 0
        while true {
            // The pipeline whose next use comes first (one packet is one pipeline's).
            var pipeline = -1
            for p in uses.indices where next[p] < uses[p].count {
                if pipeline < 0 || uses[p][next[p]].packet < uses[pipeline][next[pipeline]].packet { pipeline = p }
            }
            guard pipeline >= 0 else { return false }
            let use = uses[pipeline][next[pipeline]]
            next[pipeline] += 1
            let index = Int(use.table.rawValue) * size + NATCopyDetector.slotIndex(use.fingerprint)
            if use.looksUp {
                let a = whole[index], b = own[pipeline][index]
                func found(_ e: Entry) -> Bool {
                    e.write != 0 && e.fingerprint == use.fingerprint && use.time &- e.time <= NATCopyDetector.synWindow
                }
                if a.write != b.write && (found(a) || found(b)) { return true }
            }
            if use.inserts {
                writes += 1
                let entry = Entry(write: writes, fingerprint: use.fingerprint, time: use.time)
                whole[index] = entry
                own[pipeline][index] = entry
            }
        }
    }
}

extension ReassemblerState {
    /// Records a use of the NAT copy detector's tables, when asked to (`NATTableUse`).
    @inline(__always)
    mutating func noteTableUse(
        _ table: NATTableUse.Table, _ fingerprint: UInt64, _ time: Int64, looksUp: Bool = true, inserts: Bool
    ) {
        guard natCopies.recordsUses else { return }
        guard natCopies.uses.count < NATCopyDetector.maxRecordedUses else {
            natCopies.usesOverflowed = true
            return
        }
        natCopies.uses.append(NATTableUse(packet: order?.packet ?? 0, time: time, fingerprint: fingerprint, table: table,
                                          looksUp: looksUp, inserts: inserts))
    }
}
