// The business codes of response bodies met again, found by the bodies' own bytes.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a response body gave as a business code: the label, whether it is the number 0 (the
/// outgoing `status`), and how it was read (counted by `ChannelMetrics`).
struct BodyCode: Sendable, Equatable {
    var label: String
    var isNumberZero: Bool
    var outcome: BodyCodeOutcome
}

/// The rule that read a body: its code is a function of the bytes, the rule, whether the body
/// was cut, and for outgoing calls the `Content-Type` (requests decodes by its charset).
enum BodyCodeRule: UInt8, Sendable {
    case inner = 1
    case outgoing = 2
}

/// A bounded cache from a response body's bytes to the business code its rule read from them.
///
/// Services answer many calls with the same bytes: a static list, a configuration, the same error
/// for every bad request. Each of them was validated whole as JSON every time (the reference's
/// `code` is `-1` for anything `json.loads` rejects): measured (callgrind, keepalive.pcap), 39 % of
/// the pipeline's instructions, 72,355 for each 20 KB list. A body kept here is compared with
/// `memcmp` instead (about 1,000 instructions for the 20 KB one).
///
/// - A hit is exact: the fingerprint (the length and three sampled words) only picks and
///   pre-checks an entry; the kept bytes, the rule, the cut flag and the content type must all be
///   the same, so a code is never taken from another body.
/// - A body is kept only when its fingerprint comes back while still noted in `noted` (a
///   fingerprint per slot): bodies met once (an id or a time in every answer) cost a fingerprint
///   and a word, never a copy, and never push out a body that repeats.
/// - Bounded: `setCount` × 2 entries of at most `maximumBytes` each (32 × 64 KiB = 2 MiB), and
///   `notedCount` words. Bodies shorter than `minimumBytes` (three sampled words need 16) or
///   longer than `maximumBytes` are not kept.
///
/// Two-way set associative: a kept body goes in the first way and the one there moves to the
/// second (the older one is dropped); a hit in the second way moves to the first.
struct RecentBodyCodes: Sendable {
    static let minimumBytes = 16
    static let maximumBytes = 64 * 1024

    /// A body's fingerprint with what its code depends on besides the bytes (plain words: a
    /// lookup compares two of them before any entry's bytes).
    struct Key: Sendable, Equatable {
        var fingerprint: UInt64
        /// The rule (bits 1–7) and the cut flag (bit 0).
        var tag: UInt8

        /// An empty entry's key (no body has fingerprint 0).
        static let empty = Key(fingerprint: 0, tag: 0)

        private init(fingerprint: UInt64, tag: UInt8) {
            self.fingerprint = fingerprint
            self.tag = tag
        }

        /// Nil for a body this cache does not keep (too short or too long).
        @inline(__always)
        init?(_ body: UnsafeRawBufferPointer, rule: BodyCodeRule, truncated: Bool) {
            let count = body.count
            guard count >= RecentBodyCodes.minimumBytes, count <= RecentBodyCodes.maximumBytes else { return nil }
            tag = rule.rawValue << 1 | (truncated ? 1 : 0)
            let first = body.loadUnaligned(as: UInt64.self)
            let middle = body.loadUnaligned(fromByteOffset: count / 2 &- 4, as: UInt64.self)
            let last = body.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
            var h = (UInt64(count) << 8 | UInt64(tag)) &* 0x9E37_79B9_7F4A_7C15
            h = (h ^ first) &* 0x9E37_79B9_7F4A_7C15
            h = (h ^ middle) &* 0x9E37_79B9_7F4A_7C15
            h = (h ^ last) &* 0x9E37_79B9_7F4A_7C15
            fingerprint = (h ^ h >> 29) | 1
        }
    }

    /// What a lookup found.
    enum Lookup: Equatable {
        case hit(BodyCode)
        /// Not kept; `keep`: the body was met before (keep its code with `keep`).
        case miss(keep: Bool)
    }

    /// What an entry holds besides its key.
    private struct Kept: Sendable {
        var contentType: String?
        var bytes: [UInt8] = []
        var code = BodyCode(label: "", isNumberZero: false, outcome: .empty)
    }

    private let indexShift: UInt64
    /// Each entry's key, the ways of a set side by side (the lookup reads these first).
    private var keys: [Key]
    private var entries: [Kept]
    /// Fingerprints met once, one per slot (the slot picked by their low bits).
    private var noted: [UInt64]
    private(set) var hits: UInt64 = 0
    private(set) var kept: UInt64 = 0

    /// `setCount` and `notedCount`: powers of two (tests use one set, where every entry contends).
    init(setCount: Int = 16, notedCount: Int = 256) {
        precondition(setCount > 0 && setCount & (setCount - 1) == 0, "setCount must be a power of two")
        precondition(notedCount > 0 && notedCount & (notedCount - 1) == 0, "notedCount must be a power of two")
        indexShift = UInt64(64 - setCount.trailingZeroBitCount)
        keys = Array(repeating: .empty, count: setCount * 2)
        entries = Array(repeating: Kept(), count: setCount * 2)
        noted = Array(repeating: 0, count: notedCount)
    }

    /// The code kept for these bytes, or whether they are worth keeping after a miss.
    mutating func lookup(_ key: Key, body: UnsafeRawBufferPointer, contentType: String?) -> Lookup {
        let first = firstWay(key)
        for way in first..<first + 2 where keys[way] == key {
            guard holds(way, body: body, contentType: contentType) else { return .miss(keep: true) }
            if way != first {
                keys.swapAt(first, way)
                entries.swapAt(first, way)
            }
            hits &+= 1
            return .hit(entries[first].code)
        }
        let slot = Int(truncatingIfNeeded: key.fingerprint) & (noted.count &- 1)
        if noted[slot] == key.fingerprint { return .miss(keep: true) }
        noted[slot] = key.fingerprint
        return .miss(keep: false)
    }

    /// Keeps `code` as the code of these bytes (after `lookup` said `.miss(keep: true)`): in the
    /// entry of the same fingerprint if there is one (it held other bytes), else in the first way.
    mutating func keep(_ code: BodyCode, for key: Key, body: UnsafeRawBufferPointer, contentType: String?) {
        let first = firstWay(key)
        // The same fingerprint in the second way comes to the first; otherwise the first moves
        // to the second (dropping the older), unless it is the entry of this fingerprint.
        if keys[first + 1] == key || keys[first] != key {
            keys.swapAt(first, first + 1)
            entries.swapAt(first, first + 1)
        }
        keys[first] = key
        entries[first].contentType = contentType
        entries[first].bytes.removeAll(keepingCapacity: true)
        entries[first].bytes.append(contentsOf: body)
        entries[first].code = code
        kept &+= 1
    }

    /// The bytes kept in all entries (at most `2 × setCount × maximumBytes`).
    var keptBytes: Int { entries.reduce(0) { $0 + $1.bytes.count } }

    @inline(__always)
    private func firstWay(_ key: Key) -> Int {
        Int(truncatingIfNeeded: key.fingerprint >> indexShift) &* 2
    }

    /// The entry's bytes and content type are the body's (its key matched).
    private func holds(_ way: Int, body: UnsafeRawBufferPointer, contentType: String?) -> Bool {
        entries.withUnsafeBufferPointer { entries in
            let entry = entries[way]
            guard entry.bytes.count == body.count else { return false }
            switch (entry.contentType, contentType) {
            case (nil, nil): break
            case (let kept?, let given?): guard kept.hasSameUTF8(as: given) else { return false }
            default: return false
            }
            return entry.bytes.withUnsafeBytes { memcmp($0.baseAddress!, body.baseAddress!, body.count) == 0 }
        }
    }
}
