// The recent header values of each cached field (Host, User-Agent, Content-Type...) as Strings, reused when the bytes come again.

/// For each of `fields` fields, the `ways` values met most recently as Strings, each with the bytes it
/// was read from (ASCII, at most `CacheKeys.maxLength`) and their hash. Traffic repeats a few values
/// per field: a keep-alive client sends its own again and again, many connections alternate among a
/// few. A reused String is also the same storage, which later label comparisons find equal at once.
///
/// - The entry of the field's last value is tried first, before any hash: most heads repeat it.
/// - Else the field's `ways` entries are searched by hash (fully associative: a few clients
///   alternating keep theirs; direct-mapped by three hash bits, seven User-Agents evicted each other).
/// - A miss replaces the field's entries in turn (the last used one is skipped).
///
/// Bounded: `fields * ways` entries, allocated once; the owner deallocates them.
struct RecentValues {
    /// Entries per field.
    static let ways = 8
    private let fields: Int
    /// `fields * ways` strings, those of field `f` at `f * ways ..< (f + 1) * ways`; "" when empty.
    private let strings: UnsafeMutablePointer<String>
    /// The bytes of each entry (count -1: empty).
    private let keys: CacheKeys
    /// The `CacheKeys.hash` of each entry's bytes (0 when empty; the keys then match nothing).
    private let hashes: UnsafeMutablePointer<UInt64>
    /// Per field: the index of the entry hit or made last.
    private let last: UnsafeMutablePointer<Int>
    /// Per field: the way the next miss replaces.
    private let next: UnsafeMutablePointer<Int>

    init(fields: Int) {
        self.fields = fields
        let entries = fields * Self.ways
        strings = .allocate(capacity: entries)
        strings.initialize(repeating: "", count: entries)
        keys = CacheKeys(entries: entries)
        hashes = .allocate(capacity: entries)
        hashes.initialize(repeating: 0, count: entries)
        last = .allocate(capacity: fields)
        next = .allocate(capacity: fields)
        for field in 0..<fields {
            (last + field).initialize(to: field * Self.ways)
            (next + field).initialize(to: 0)
        }
    }

    func deallocate() {
        strings.deinitialize(count: fields * Self.ways)
        strings.deallocate()
        keys.deallocate()
        hashes.deallocate()
        last.deallocate()
        next.deallocate()
    }

    /// `bytes` read as ISO-8859-1, the String of a recent entry of `field` when one was made from the same bytes.
    @inline(__always)
    func string(_ bytes: UnsafeRawBufferPointer, field: Int) -> String {
        let recent = last[field]
        if keys.holds(bytes, at: recent) { return String.copy(at: strings + recent) }
        return search(bytes, field: field)
    }

    /// `string` when the last value of `field` is not `bytes`: its entries by hash, else a new entry.
    private func search(_ bytes: UnsafeRawBufferPointer, field: Int) -> String {
        let hash = CacheKeys.hash(bytes)
        let first = field &* Self.ways
        var index = first
        while index < first &+ Self.ways {
            if hashes[index] == hash && keys.holds(bytes, at: index) {
                last[field] = index
                return String.copy(at: strings + index)
            }
            index &+= 1
        }
        // Only ASCII values are kept: their String's UTF-8 is the bytes, which the key compares.
        guard bytes.count <= CacheKeys.maxLength, bytes.isASCII else { return bytes.latin1String() }
        let value = bytes.asciiString()
        var way = next[field]
        if first &+ way == last[field] { way = (way &+ 1) & (Self.ways - 1) }
        next[field] = (way &+ 1) & (Self.ways - 1)
        let entry = first &+ way
        strings[entry] = value
        keys.set(bytes, at: entry)
        hashes[entry] = hash
        last[field] = entry
        return String.copy(at: strings + entry)
    }
}
