/// Recent response heads kept by their bytes (RFC 9112 §2-§5): a head byte-identical to one parsed recently is not parsed again.

/// Servers send the same response head again and again (nginx: only `Date` changes, once a second,
/// and `Content-Length` with the body): a head whose bytes, from the start line through the LF of the
/// empty line, equal a kept head's gives that head's parse (fields and end) without being parsed.
///
/// What makes a recalled head exactly a parsed one:
/// - The parse of a complete head depends on its bytes alone (and on `maxHeaderCount`, kept with
///   it): the parser reads no byte after the empty line's LF, and the string cache it uses only
///   reuses equal strings. A hit compares every byte of the kept head with the new bytes.
/// - Only response heads: a request head refers to the shared target cache by slot, which a kept
///   copy could outlive.
/// - Only heads without anomalies (obs-fold, bare LF, bad field lines): a recalled head has none,
///   as its parse had none. Heads of at least 16 and at most `maxHeadBytes` bytes.
///
/// Bounded: `entries` heads of at most `maxHeadBytes` bytes each, in storage allocated once. A head
/// is kept the second time it comes while one of the `candidates` slots still holds it (a head
/// seen once, as when every head differs, costs a copy of its bytes into a candidate slot, and
/// evicts no kept head). One pipeline, one thread: no locks.
struct ResponseHeadMemo {
    /// A power of two (entries are tried from the last one recalled, masked round).
    static let entries = 8
    static let candidates = 4
    static let maxHeadBytes = 1024
    static let minHeadBytes = 16

    /// What a parse of a kept head set in `MessageHead` (every other field is as `reset` left it).
    struct KeptHead {
        var version = ""
        var status = 0
        var host: String?
        var userAgent: String?
        var methodCode: String?
        var tCode: String?
        var contentType: String?
        var contentEncoding: String?
        var contentLength = ContentLengthField.absent
        var transferEncoding = TransferEncodingField.absent
        var expectsContinue = false
        var hasUpgradeHeader = false
        var upgradesToHTTP2 = false
        /// The limit the head was parsed under: a hit needs the same.
        var maxHeaderCount = 0
    }

    /// Slot `i`'s bytes start at `i * maxHeadBytes`: the kept heads' slots, then the candidates'.
    private let bytes: UnsafeMutableRawPointer
    /// Each slot's head length (0: empty).
    private let lengths: UnsafeMutablePointer<Int>
    /// The last 8 bytes of each kept head, compared first (heads of one server differ most there:
    /// `Content-Length`), next to the lengths rather than a slot's stride away.
    private let tails: UnsafeMutablePointer<UInt64>
    private let heads: UnsafeMutablePointer<KeptHead>
    /// The next kept head and candidate replaced (round robin).
    private var nextEntry = 0
    private var nextCandidate = 0
    /// The kept head recalled last, tried first (heads of one server come in runs).
    private var lastHit = 0
    /// Entries holding a head: none while every head differs, and then no entry is looked at.
    private var filledEntries = 0

    /// Heads recalled (tests read it).
    private(set) var hits = 0

    init() {
        let slots = Self.entries + Self.candidates
        bytes = .allocate(byteCount: slots * Self.maxHeadBytes, alignment: 16)
        lengths = .allocate(capacity: slots)
        lengths.initialize(repeating: 0, count: slots)
        heads = .allocate(capacity: Self.entries)
        heads.initialize(repeating: KeptHead(), count: Self.entries)
        tails = .allocate(capacity: Self.entries)
        tails.initialize(repeating: 0, count: Self.entries)
    }

    /// Releases the storage; the memo must not be used afterwards.
    func deallocate() {
        bytes.deallocate()
        lengths.deallocate()
        heads.deinitialize(count: Self.entries)
        heads.deallocate()
        tails.deallocate()
    }

    /// Heads kept now (tests read it).
    var keptCount: Int { (0..<Self.entries).reduce(0) { $0 + (lengths[$1] > 0 ? 1 : 0) } }

    /// The end of the kept head that `head` begins with, written into `head` as its parse would; nil
    /// (nothing changed) when no kept head is the beginning of `head`.
    mutating func recall(_ head: UnsafeRawBufferPointer, maxHeaderCount: Int, into parsed: inout MessageHead) -> Int? {
        guard filledEntries > 0, head.count >= Self.minHeadBytes, let base = head.baseAddress else { return nil }
        for i in 0..<Self.entries {
            let entry = (lastHit &+ i) & (Self.entries &- 1)
            let length = lengths[entry]
            // (A kept head has at least 16 bytes: its last 8 lie in `head` when it is not longer.)
            guard length > 0, length <= head.count,
                base.loadUnaligned(fromByteOffset: length &- 8, as: UInt64.self) == tails[entry],
                heads[entry].maxHeaderCount == maxHeaderCount,
                Self.equal(bytes + entry * Self.maxHeadBytes, base, count: length)
            else { continue }
            hits &+= 1
            lastHit = entry
            // By address: passed by value, the kept head was copied (and each string retained) first.
            parsed.recall(UnsafePointer(heads + entry))
            return length
        }
        return nil
    }

    /// Notes the response head just parsed (`head` runs through its empty line's LF; its parse had no
    /// anomaly): the entry to keep it in (see `keep`) when a candidate slot holds the same bytes, else
    /// nil, the head made a candidate. (The parsed head is not passed here: read from the shared
    /// state's stored property, it was copied whole for each head.)
    mutating func note(_ head: UnsafeRawBufferPointer) -> Int? {
        let length = head.count
        guard length >= Self.minHeadBytes, length <= Self.maxHeadBytes, let base = head.baseAddress else { return nil }
        for candidate in Self.entries..<(Self.entries + Self.candidates)
        where lengths[candidate] == length && Self.equal(bytes + candidate * Self.maxHeadBytes, base, count: length) {
            lengths[candidate] = 0
            let entry = nextEntry
            nextEntry = (nextEntry + 1) % Self.entries
            (bytes + entry * Self.maxHeadBytes).copyMemory(from: base, byteCount: length)
            if lengths[entry] == 0 { filledEntries += 1 }
            lengths[entry] = length
            tails[entry] = base.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self)
            return entry
        }
        let candidate = Self.entries + nextCandidate
        nextCandidate = (nextCandidate + 1) % Self.candidates
        (bytes + candidate * Self.maxHeadBytes).copyMemory(from: base, byteCount: length)
        lengths[candidate] = length
        return nil
    }

    /// Keeps `parsed` (a response head with no anomaly, parsed under `maxHeaderCount`) as what
    /// `entry`'s bytes give (`note` chose the entry and stored the bytes).
    func keep(_ parsed: MessageHead, maxHeaderCount: Int, at entry: Int) {
        heads[entry] = KeptHead(
            version: parsed.version, status: parsed.status, host: parsed.host, userAgent: parsed.userAgent,
            methodCode: parsed.methodCode, tCode: parsed.tCode, contentType: parsed.contentType,
            contentEncoding: parsed.contentEncoding, contentLength: parsed.contentLength,
            transferEncoding: parsed.transferEncoding, expectsContinue: parsed.expectsContinue,
            hasUpgradeHeader: parsed.hasUpgradeHeader, upgradesToHTTP2: parsed.upgradesToHTTP2,
            maxHeaderCount: maxHeaderCount)
    }

    /// The `count` (>= 16) bytes at `a` and `b` are equal: the first and last 16 first (where heads
    /// of one server differ least cheaply: status line, last field), then every 16 bytes in order.
    @inline(__always)
    private static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        let last = count &- 16
        guard equal16(a, b, at: 0), equal16(a, b, at: last) else { return false }
        // 32 bytes a step while they lie before the last 16 (compared already), then 16 a step up to
        // them (at most twice): every byte of `0..<count` is in a block compared.
        var offset = 16
        while offset &+ 32 <= last {
            guard equal16(a, b, at: offset), equal16(a, b, at: offset &+ 16) else { return false }
            offset &+= 32
        }
        while offset < last {
            guard equal16(a, b, at: offset) else { return false }
            offset &+= 16
        }
        return true
    }

    /// The 16 bytes at `offset` are equal (two words each: the `==` of `SIMD16` compared lane by lane).
    @inline(__always)
    private static func equal16(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, at offset: Int) -> Bool {
        let low = a.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            ^ b.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        let high = a.loadUnaligned(fromByteOffset: offset &+ 8, as: UInt64.self)
            ^ b.loadUnaligned(fromByteOffset: offset &+ 8, as: UInt64.self)
        return low | high == 0
    }
}

extension MessageHead {
    /// Makes this head what parsing `kept`'s bytes as a response made it (see `ResponseHeadMemo`).
    mutating func recall(_ kept: UnsafePointer<ResponseHeadMemo.KeptHead>) {
        reset(isRequest: false)
        // `reset` left the version empty and the strings nil: stored without releasing them (and copied
        // without a retain when they own no storage, as the version does).
        version.replaceEmpty(with: String.copy(at: kept.pointer(to: \.version)!))
        status = kept.pointee.status
        if case .some = kept.pointee.host { host.replaceNil(with: String.copy(at: kept.pointer(to: \.host)!)) }
        if case .some = kept.pointee.userAgent { userAgent.replaceNil(with: String.copy(at: kept.pointer(to: \.userAgent)!)) }
        if case .some = kept.pointee.methodCode { methodCode.replaceNil(with: String.copy(at: kept.pointer(to: \.methodCode)!)) }
        if case .some = kept.pointee.tCode { tCode.replaceNil(with: String.copy(at: kept.pointer(to: \.tCode)!)) }
        if case .some = kept.pointee.contentType { contentType.replaceNil(with: String.copy(at: kept.pointer(to: \.contentType)!)) }
        if case .some = kept.pointee.contentEncoding {
            contentEncoding.replaceNil(with: String.copy(at: kept.pointer(to: \.contentEncoding)!))
        }
        contentLength = kept.pointee.contentLength
        transferEncoding = kept.pointee.transferEncoding
        expectsContinue = kept.pointee.expectsContinue
        hasUpgradeHeader = kept.pointee.hasUpgradeHeader
        upgradesToHTTP2 = kept.pointee.upgradesToHTTP2
    }
}
