// The inner family's series of recently seen inbound inputs, found by the inputs' own bits.

/// The strings of one inbound observation that its inner labels are made of (`f_code` from the
/// User-Agent, `path` and `uri` from the path, `http_status`, `code`, `method_code`), as two words
/// each that pick and pre-check a cache entry (`fingerprint`); the entry's own strings confirm it.
struct InboundLabelInputs {
    var userAgent: (UInt64, UInt64)
    var path: (UInt64, UInt64)
    var code: (UInt64, UInt64)
    var methodCode: (UInt64, UInt64)
    var status: Int

    @inline(__always)
    init(userAgent: String?, path: String, status: Int, code: String, methodCode: String) {
        self.userAgent = userAgent.map(Self.fingerprint) ?? (0, 0)
        self.path = Self.fingerprint(path)
        self.code = Self.fingerprint(code)
        self.methodCode = Self.fingerprint(methodCode)
        self.status = status
    }

    /// Two words that equal texts give alike, whatever their storage: a string of at most 15 UTF-8
    /// bytes is its own two words (a small string holds its bytes; one in a storage gives other
    /// words, which only misses), a longer one its length and its first and last eight bytes.
    /// Equal words do not make equal texts: a hit compares the texts (`RecentInboundSeries`).
    @inline(__always)
    static func fingerprint(_ value: String) -> (UInt64, UInt64) {
        let count = value.utf8.count
        if count <= 15 { return unsafeBitCast(value, to: (UInt64, UInt64).self) }
        return value.utf8.withContiguousStorageIfAvailable { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            return (UInt64(count) | 1 << 63, raw.loadUnaligned(as: UInt64.self) ^ raw.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self) &* 0x9E37_79B9_7F4A_7C15)
        } ?? (UInt64(count) | 1 << 63, 0)
    }

    @inline(__always)
    func sameWords(as other: Self) -> Bool {
        // One branch for all nine words (`&&` would branch on each).
        var differ = userAgent.0 ^ other.userAgent.0
        differ |= userAgent.1 ^ other.userAgent.1
        differ |= path.0 ^ other.path.0
        differ |= path.1 ^ other.path.1
        differ |= code.0 ^ other.code.0
        differ |= code.1 ^ other.code.1
        differ |= methodCode.0 ^ other.methodCode.0
        differ |= methodCode.1 ^ other.methodCode.1
        differ |= UInt64(bitPattern: Int64(status ^ other.status))
        return differ == 0
    }

    /// A multiplicative hash of the nine words (an index into the cache, not an identity).
    @inline(__always)
    var hash: UInt64 {
        var h = (userAgent.0 ^ 0x243F_6A88_85A3_08D3) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ userAgent.1) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ path.0) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ path.1) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ code.0) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ code.1) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ methodCode.0) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ methodCode.1) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ UInt64(bitPattern: Int64(status))) &* 0x9E37_79B9_7F4A_7C15
        return h ^ (h >> 29)
    }
}

/// A bounded cache from an inbound observation's inputs to the inner family's series they were
/// recorded in, and how many of its label values were cut.
///
/// The inputs decide the labels (`f_code` is a function of the User-Agent, `http_status` of the
/// status; the values cut at `maxLabelValueBytes` of the values), and families never drop a
/// series, so a hit is exactly the series the full path would find: an entry is a hit when its
/// fingerprints match and each of its strings has the same UTF-8 as the input's (the same storage
/// or small string at once, else the bytes). The full path builds `f_code`, compares and hashes
/// each changed value, and looks the set up by its bytes: measured (callgrind, 1,000 interleaved
/// connections with seven User-Agents), about 1,400 instructions of every inbound exchange, with
/// five retains and seven releases.
///
/// Two-way set associative, `setCount` sets (256 by default, about 75 KB): a new entry goes in
/// the first way and the one there moves to the second (the older one is dropped). Refused
/// observations (the series cap) are never entered, so they are counted by the family each time.
struct RecentInboundSeries: Sendable {
    /// The strings of an entry, compared with a lookup's once the fingerprints match.
    struct Texts: Sendable {
        var userAgent: String?
        var path: String
        var code: String
        var methodCode: String
    }

    /// The top bits of the hash that pick a set.
    private let indexShift: UInt64
    /// Each entry's fingerprints, the ways of a set side by side (the lookup reads these first).
    private var keys: [InboundLabelInputs]
    private var texts: [Texts]
    /// The series of each entry, -1 for an empty entry, and its number of cut label values.
    private var found: [(series: Int, cut: UInt64)]

    /// `setCount`: a power of two (tests use one set, where every entry contends).
    init(setCount: Int = 256) {
        precondition(MemoryLayout<String>.size == 16 && MemoryLayout<String?>.size == 16)
        precondition(setCount > 0 && setCount & (setCount - 1) == 0, "setCount must be a power of two")
        indexShift = UInt64(64 - setCount.trailingZeroBitCount)
        let count = setCount * 2
        keys = Array(repeating: InboundLabelInputs(userAgent: nil, path: "", status: 0, code: "", methodCode: ""), count: count)
        texts = Array(repeating: Texts(userAgent: nil, path: "", code: "", methodCode: ""), count: count)
        found = Array(repeating: (-1, 0), count: count)
    }

    /// The series and cut count recorded for these inputs, nil when they are not in the cache.
    @inline(__always)
    func lookup(
        _ inputs: InboundLabelInputs, userAgent: String?, path: String, code: String, methodCode: String
    ) -> (series: Int, cut: UInt64)? {
        let first = firstWay(inputs)
        if keys[first].sameWords(as: inputs) && found[first].series >= 0
            && texts.withUnsafeBufferPointer({ $0[first].holds(userAgent, path, code, methodCode) })
        {
            return found[first]
        }
        return entry(first + 1, inputs, userAgent, path, code, methodCode)
    }

    /// The series of entry `way` when it holds these inputs (the second way: the first is
    /// looked at inline). Apart, its strings compared where they lie (through a pointer to the
    /// entry): inline, the entry was copied out, its four strings retained and released
    /// (measured, callgrind, k1m-small.pcap: about 110 instructions in each of the 40 % of the
    /// exchanges that look at it).
    @inline(never)
    private func entry(
        _ way: Int, _ inputs: InboundLabelInputs, _ userAgent: String?, _ path: String, _ code: String,
        _ methodCode: String
    ) -> (series: Int, cut: UInt64)? {
        guard keys[way].sameWords(as: inputs), found[way].series >= 0 else { return nil }
        let holds = texts.withUnsafeBufferPointer { buffer in
            (buffer.baseAddress.unsafelyUnwrapped + way).pointee.holds(userAgent, path, code, methodCode)
        }
        return holds ? found[way] : nil
    }

    /// Enters the series of the inputs made of these strings.
    mutating func insert(
        _ inputs: InboundLabelInputs, userAgent: String?, path: String, code: String, methodCode: String,
        series: Int, cut: UInt64
    ) {
        let first = firstWay(inputs)
        keys.swapAt(first, first + 1)
        texts.swapAt(first, first + 1)
        found.swapAt(first, first + 1)
        keys[first] = inputs
        texts[first] = Texts(userAgent: userAgent, path: path, code: code, methodCode: methodCode)
        found[first] = (series, cut)
    }

    @inline(__always)
    private func firstWay(_ inputs: InboundLabelInputs) -> Int {
        // `>> 64` is 0 in Swift (one set).
        Int(truncatingIfNeeded: inputs.hash >> indexShift) &* 2
    }
}

extension RecentInboundSeries.Texts {
    /// Each string has the same UTF-8 as the given one (the same storage or small string at once).
    @inline(__always)
    func holds(_ userAgent: String?, _ path: String, _ code: String, _ methodCode: String) -> Bool {
        self.path.hasSameUTF8(as: path) && self.code.hasSameUTF8(as: code) && self.methodCode.hasSameUTF8(as: methodCode)
            && Self.sameUTF8(self.userAgent, userAgent)
    }

    /// Both nil, or the same UTF-8; the same bits first (both nil, or the same string), without
    /// copying the strings out of their Optionals (a tuple of the two retained and released them).
    @inline(__always)
    static func sameUTF8(_ a: String?, _ b: String?) -> Bool {
        if unsafeBitCast(a, to: (UInt64, UInt64).self) == unsafeBitCast(b, to: (UInt64, UInt64).self) { return true }
        guard let a, let b else { return false }
        return a.hasSameUTF8(as: b)
    }
}
