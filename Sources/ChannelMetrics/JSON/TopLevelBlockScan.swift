// The top-level key scan over 64-byte blocks: simdjson's two passes (Langdale & Lemire 2019,
// §3-4) in C (CJSONBlocks' `cejson_scan`), which hands back the top-level members to note here.

import CJSONBlocks

extension TopLevelScanner {
    /// What `scanInBlocks` could tell.
    enum BlockScanOutcome {
        /// The first token is not `{` (the text may or may not be JSON: nothing was validated).
        case notAnObject
        /// A valid document, a top-level object whose members are in the match slots.
        case valid
        /// Something it leaves to the byte-by-byte scan: an error, an anomaly of the token
        /// stream (a control byte, an invalid escape), nesting beyond 63 levels or the depth
        /// bound, a long number.
        case undecided
    }

    /// How many members one call of `cejson_scan` hands back: an object with more is scanned
    /// on by the next call (the array is on the stack, its size fixed).
    static let memberBatch = 16

    /// Validates the whole text and notes the top-level members matching `keys`, when the text
    /// is a valid object; otherwise says so or leaves it undecided (`scan` then starts over
    /// byte by byte: an invalid document is rare and its rejection must be the first one in
    /// document order, which the byte-by-byte validator finds). `level`: the classifier
    /// (`CEJSON_LEVEL_…`, for the tests), by default the best this processor runs.
    ///
    /// Measured (callgrind, keepalive.pcap's pipeline): the same passes in Swift cost about
    /// 2.8 G instructions, in C 2.1 G (-24 %): the grammar as a state machine with its state
    /// in registers, the AVX2 classification by nibble tables; then 1.64 G (places in the
    /// block, integers by one addition, any joined structural byte no token, a frameless
    /// usual block); then 1.39 G (the first pass ahead of the grammar, 32 blocks at a time,
    /// a value's first byte through a jump table, integers across a block edge from the next
    /// block's digits).
    mutating func scanInBlocks(
        _ keys: [FuzzyKey], into matches: inout MatchSlots, level: Int32 = cejson_best_level()
    ) -> BlockScanOutcome {
        // Set up by `cejson_scan_init`, not zeroed first: the first pass's output (most of
        // the scanner) is written before it is read.
        withUnsafeTemporaryAllocation(of: cejson_scanner.self, capacity: 1) { scannerBuffer in
            let scanner = scannerBuffer.baseAddress!
            cejson_scan_init(scanner, cursor.bytes.baseAddress, cursor.bytes.count, max(cursor.maxDepth, 0), level)
            return withUnsafeTemporaryAllocation(of: cejson_member.self, capacity: Self.memberBatch) { members in
                while true {
                    var found = 0
                    let outcome = Int(cejson_scan(scanner, members.baseAddress!, members.count, &found))
                    if outcome == CEJSON_NOT_AN_OBJECT { return .notAnObject }
                    if outcome == CEJSON_UNDECIDED { return .undecided }
                    for i in 0..<found where !noteMember(members[i], keys, into: &matches) { return .undecided }
                    if outcome == CEJSON_VALID {
                        textIsASCII = scanner.pointee.high == 0
                        return .valid
                    }
                }
            }
        }
    }

    /// A member of the top-level object, noted in `matches` as `scan` does; false when its
    /// name is not a valid string. The name is read as `scanKey` would: as bytes when ASCII
    /// without escapes (the first pass checked them), else decoded.
    private mutating func noteMember(_ member: cejson_member, _ keys: [FuzzyKey], into matches: inout MatchSlots) -> Bool {
        if member.plain != 0 {
            matches.note(plain: (member.name_start &+ 1)..<member.name_end, in: cursor.bytes, valueAt: member.value_start, for: keys)
            return true
        }
        cursor.position = member.name_start
        guard let name = try? scanKey() else { return false }
        matches.note(name, valueAt: member.value_start, for: keys)
        return true
    }
}
