/// State the connections of one HTTPObserver share: cached header values and targets, the head just parsed, pooled requests and body buffers.
import PacketDecoding
import TCPReassembly

/// Shared by the connections of one `HTTPObserver` (one pipeline, one thread), so that an idle
/// connection keeps none of it.
///
/// - Recent ASCII values of each cached field (Host, User-Agent, Content-Type...): traffic repeats
///   them, and the String is reused instead of built again. Bounded: `RecentValues.ways` strings per
///   field (a few clients alternating keep theirs), at most `maxLength` bytes each.
/// - Recent request targets, split and decoded: keep-alive clients ask for the same few targets
///   again and again. Bounded: `targetSlots` entries, each target at most `maxLength` bytes.
/// - Recent paths of targets with a query, raw and decoded: ids in queries (`?id=42`) make most
///   such targets new, their paths mostly not. Bounded: `targetSlots` entries of at most `maxLength`.
/// - Spare body buffers, taken back from exchanges once the sink is done with them (at most
///   `maxSpareBuffers`, each of at most `maxSpareBufferCapacity` bytes).
/// - Spare `PendingRequest` objects, reused across connections (at most `maxSpareRequests`).
/// - The head a parser just read, handed to its connection observer right away (`.head` event).
/// - Recent response heads, by their bytes (at most `ResponseHeadMemo.entries` of at most
///   `ResponseHeadMemo.maxHeadBytes` bytes, and as many candidates).
final class SharedParserState {
    /// The head of the last `.head` event, parsed in place; read at once by the connection observer
    /// (which may move its strings out).
    @exclusivity(unchecked) var head = MessageHead(isRequest: false)
    /// What the observer's connections keep between deliveries, all together, bounded by
    /// `HTTPObserverConfiguration.maxKeptBytesTotal`: heads split over deliveries
    /// (`HTTPMessageParser.headCharged`), body prefixes (`BodyPrefix.charged`: raw, inflated or
    /// materialized), and the heads of requests waiting for their response (`PendingRequest`,
    /// charged with the head's length for its strings). Without it, clients pipelining large
    /// requests that the server has not answered yet, on many connections, would make the
    /// per-connection limits add up to terabytes (262,144 connections × 64 requests × 64 KiB).
    /// Past it a connection keeps no more: a body prefix ends (`kept_bytes_limit`, the body is
    /// truncated), a split head is given up (`kept_bytes_limit`, the direction resynchronises),
    /// and a request behind others waiting is handled as if the queue were full (the oldest is
    /// emitted without a response). Each holder gives back what it charged when it is emitted,
    /// reused or dropped, and in its `deinit`.
    let keptBytes: Budget
    /// The length of the last head parsed whole by `parseHead` (what a waiting request's strings are
    /// charged to `keptBytes`).
    private(set) var lastHeadLength = 0

    init(maxKeptBytes: Int = HTTPObserverConfiguration().maxKeptBytesTotal) {
        keptBytes = Budget(limit: maxKeptBytes)
    }

    /// Heads are tried on the common path first (see `MessageHead.parseCommon`); tests turn it off to
    /// compare the exchanges with those of the general path alone.
    var usesCommonHeadPath = true

    /// Recent response heads, by their bytes (see `ResponseHeadMemo`).
    @exclusivity(unchecked) private(set) var responseHeads = ResponseHeadMemo()
    /// Response heads are recalled from `responseHeads` when they were met before; tests turn it off to
    /// compare the exchanges with those of parsing every head.
    var usesResponseHeadMemo = true

    /// Parses a head into `head` (see `MessageHead.parse`), with this state as the string cache. A
    /// method here: called as `MessageHead.parse(..., cache: shared, into: &shared.head)` from a parser,
    /// the state was retained and released around each head.
    ///
    /// A response head byte-identical to a recent one is recalled instead (see `ResponseHeadMemo`).
    func parseHead(
        _ bytes: UnsafeRawBufferPointer, isRequest: Bool, maxHeaderCount: Int, startLineLF: Int? = nil
    ) -> MessageHead.ParseOutcome {
        guard !isRequest && usesResponseHeadMemo else {
            let outcome = MessageHead.parse(
                bytes, isRequest: isRequest, maxHeaderCount: maxHeaderCount, cache: self, into: &head,
                startLineLF: startLineLF)
            if case .complete(let end) = outcome { lastHeadLength = end }
            return outcome
        }
        if let end = responseHeads.recall(bytes, maxHeaderCount: maxHeaderCount, into: &head) {
            return .complete(end: end)
        }
        let outcome = MessageHead.parse(
            bytes, isRequest: false, maxHeaderCount: maxHeaderCount, cache: self, into: &head, startLineLF: startLineLF)
        if case .complete(let end) = outcome, head.anomalies.isEmpty,
            let entry = responseHeads.note(UnsafeRawBufferPointer(rebasing: bytes[0..<end]))
        {
            responseHeads.keep(head, maxHeaderCount: maxHeaderCount, at: entry)
        }
        return outcome
    }

    enum Slot: Int, CaseIterable {
        case host, userAgent, methodCode, tCode, requestContentType, responseContentType, contentEncoding
    }

    private static let maxLength = CacheKeys.maxLength
    private let values = RecentValues(fields: Slot.allCases.count)

    private static let maxSpareBuffers = 16
    private static let maxSpareBufferCapacity = 32 * 1024
    @exclusivity(unchecked) private var spareBuffers = SpareStack<[UInt8]>(capacity: maxSpareBuffers)

    /// An empty byte array, with the capacity of a spare buffer when there is one.
    func takeBuffer() -> [UInt8] {
        spareBuffers.pop() ?? []
    }

    /// Takes `buffer` (an emitted body) as a spare, emptied. When the sink kept a copy, emptying it
    /// makes a new buffer of the same capacity: as many allocations as without the pool, and the copy
    /// the sink holds is untouched. Moved in: passed `inout`, the caller was left an empty array to
    /// release (a call per buffer).
    func reclaimBuffer(_ buffer: consuming [UInt8]) {
        guard !spareBuffers.isFull, buffer.capacity <= Self.maxSpareBufferCapacity else { return }
        buffer.removeAll(keepingCapacity: true)
        spareBuffers.push(buffer)
    }

    /// Requests emitted and no longer referenced, reused by `makeRequest` (at most `maxSpareRequests`).
    private static let maxSpareRequests = 64
    @exclusivity(unchecked) private var spareRequests = SpareStack<PendingRequest>(capacity: maxSpareRequests)

    /// A pending request, its summary still to be written in place (`PendingRequest.summary`): a spare
    /// one made new again when there is one, else a new one.
    func makeRequest(
        bodyLimit: Int, firstByte: Timestamp?, lastByte: Timestamp?, isFirstOnConnection: Bool,
        arrivedAfterLoss: Bool, isHead: Bool, isConnect: Bool
    ) -> PendingRequest {
        if let spare = spareRequests.pop() {
            spare.reset(
                bodyLimit: bodyLimit, firstByte: firstByte, lastByte: lastByte, isFirstOnConnection: isFirstOnConnection,
                arrivedAfterLoss: arrivedAfterLoss, isHead: isHead, isConnect: isConnect)
            return spare
        }
        return PendingRequest(
            budget: keptBytes, body: BodyPrefix(limit: bodyLimit), firstByte: firstByte, lastByte: lastByte, isFirstOnConnection: isFirstOnConnection,
            arrivedAfterLoss: arrivedAfterLoss, isHead: isHead, isConnect: isConnect)
    }

    /// Takes back an emitted request when nothing else refers to it, moved in: no retain here and no
    /// release in the caller. Inlined (as the response's): a test and a store, where the call cost as much.
    @inline(__always)
    func recycle(ifUnique request: consuming PendingRequest?) {
        // Tested and moved in place (the parameter is mutable; false for nil): bound to a `var`, the
        // request was retained and released once more.
        if isKnownUniquelyReferenced(&request) && !spareRequests.isFull {
            spareRequests.push((consume request).unsafelyUnwrapped)
        }
    }

    /// Responses emitted and no longer referenced, reused by `makeResponse` (at most `maxSpareRequests`).
    @exclusivity(unchecked) private var spareResponses = SpareStack<InFlightResponse>(capacity: maxSpareRequests)

    /// A response being read: a spare one made new again when there is one, else a new one.
    /// `rawLimit` and `inflatedLimit` bound the body kept (see `BodyPrefix.init(contentEncoding:rawLimit:inflatedLimit:)`).
    func makeResponse(
        request: consuming PendingRequest?, status: Int, contentType: consuming String?,
        contentEncoding: consuming String?, rawLimit: Int, inflatedLimit: Int, bodyless: Bool, firstByte: Timestamp?,
        lastByte: Timestamp?, isHeld: Bool
    ) -> InFlightResponse {
        if let spare = spareResponses.pop() {
            spare.reset(
                request: request, status: status, contentType: contentType, contentEncoding: contentEncoding,
                rawLimit: rawLimit, inflatedLimit: inflatedLimit, bodyless: bodyless, firstByte: firstByte,
                lastByte: lastByte, isHeld: isHeld)
            return spare
        }
        let body = BodyPrefix(contentEncoding: copy contentEncoding, rawLimit: rawLimit, inflatedLimit: inflatedLimit)
        return InFlightResponse(
            budget: keptBytes, request: request, status: status, contentType: contentType, contentEncoding: contentEncoding, body: body,
            bodyless: bodyless, firstByte: firstByte, lastByte: lastByte, isHeld: isHeld)
    }

    /// Takes back an emitted response when nothing else refers to it.
    @inline(__always)
    func recycle(ifUnique response: consuming InFlightResponse) {
        if isKnownUniquelyReferenced(&response) && !spareResponses.isFull { spareResponses.push(response) }
    }

    /// Direct-mapped (a power of two): a miss costs one replaced entry, never a search.
    private static let targetSlots = 64
    /// Entries without a key are empty placeholders.
    @exclusivity(unchecked) private var targets = [RequestTarget](repeating: RequestTarget(empty: ()), count: targetSlots)
    private let targetKeys = CacheKeys(entries: targetSlots)
    /// The hash of the last target not cached that came at each slot (see `cachedRequestTargetSlot`).
    private let targetsSeen: UnsafeMutablePointer<UInt64> = {
        let seen = UnsafeMutablePointer<UInt64>.allocate(capacity: targetSlots)
        seen.initialize(repeating: 0, count: targetSlots)
        return seen
    }()

    /// Raw and decoded paths of targets with a query, by path bytes, direct-mapped as the targets: slot
    /// `i`'s raw path at `2 * i`, its decoded path after it (copied from here without a retain when
    /// they own no storage, see `String.copy(at:)`).
    private let paths: UnsafeMutablePointer<String> = {
        let paths = UnsafeMutablePointer<String>.allocate(capacity: 2 * targetSlots)
        paths.initialize(repeating: "", count: 2 * targetSlots)
        return paths
    }()
    private let pathKeys = CacheKeys(entries: targetSlots)

    deinit {
        targetKeys.deallocate()
        targetsSeen.deallocate()
        pathKeys.deallocate()
        paths.deinitialize(count: 2 * Self.targetSlots)
        paths.deallocate()
        values.deallocate()
        spareBuffers.deallocate()
        spareRequests.deallocate()
        spareResponses.deallocate()
        responseHeads.deallocate()
    }

    /// The target `bytes` split and decoded, reusing the entry of the same bytes when there is one.
    ///
    /// Only ASCII targets are kept: their String's UTF-8 is the raw bytes (`RequestTarget` depends on
    /// the bytes alone, so equal bytes give an equal entry).
    func requestTarget(_ bytes: UnsafeRawBufferPointer) -> RequestTarget {
        guard bytes.count <= Self.maxLength else { return RequestTarget(bytes: bytes, paths: self) }
        let slot = Self.slot(bytes)
        if targetKeys.holds(bytes, at: slot) { return targets[slot] }
        let target = RequestTarget(bytes: bytes, paths: self)
        if bytes.isASCII {
            targets[slot] = target
            targetKeys.set(bytes, at: slot)
        }
        return target
    }

    /// The slot where the target `bytes` is cached, or -1 when it is not: the owner of a head then
    /// builds the target in place (`RequestTarget.read`), else copies the entry's strings straight into
    /// the request (`writeTarget`).
    ///
    /// A target is cached the second time it comes in a row at its slot (split and decoded then, in
    /// place): a target met once (a new id in the query on every request) is built where the request
    /// takes it, not also copied into the cache to be thrown out unused. Not cached either: targets
    /// longer than `maxLength`, or not ASCII.
    func cachedRequestTargetSlot(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard bytes.count <= Self.maxLength else { return -1 }
        let hash = CacheKeys.hash(bytes)
        let slot = Self.slot(hash: hash)
        if targetKeys.holds(bytes, at: slot) { return slot }
        guard targetsSeen[slot] == hash else {
            targetsSeen[slot] = hash
            return -1
        }
        guard bytes.isASCII else { return -1 }
        // The entry's key is set again once the entry is made (nothing reads it in between).
        targets[slot].clear()
        targets[slot].read(bytes, paths: self)
        targetKeys.set(bytes, at: slot)
        return slot
    }

    /// The cached target of `slot` (see `cachedRequestTargetSlot`).
    func cachedRequestTarget(_ slot: Int) -> RequestTarget { targets[slot] }

    /// Writes the cached target of `slot` into `summary`: target, raw path, path and query, and an
    /// absolute-form target's authority as the host; true when there was one (the caller then leaves
    /// the `Host` header out). The summary's fields were moved out when its last request was emitted:
    /// stored without releasing the empty values (see `EmptySlots.swift`).
    func writeTarget(_ slot: Int, into summary: inout HTTPRequestSummary) -> Bool {
        summary.storedTarget.replaceNil(with: targets[slot].storedTarget)
        summary.rawPath.replaceEmpty(with: targets[slot].rawPath)
        summary.path.replaceEmpty(with: targets[slot].path)
        summary.query.replaceNil(with: targets[slot].query)
        guard case .some = targets[slot].authority else { return false }
        summary.host.replaceNil(with: targets[slot].authority)
        return true
    }

    /// The raw path `bytes` (of a target with a query) as ISO-8859-1 and percent-decoded (see
    /// `RequestTarget`), reusing the strings of the same path when there are some: equal paths then
    /// also share their strings, which later comparisons of labels find equal at once.
    func pathStrings(_ bytes: UnsafeRawBufferPointer) -> (raw: String, decoded: String) {
        guard bytes.count <= Self.maxLength else { return RequestTarget.pathStrings(bytes) }
        let slot = Self.slot(bytes)
        let entry = paths + 2 &* slot
        if pathKeys.holds(bytes, at: slot) { return (String.copy(at: entry), String.copy(at: entry + 1)) }
        let strings = RequestTarget.pathStrings(bytes)
        // ASCII only, as the targets: for them the raw string's UTF-8 is the bytes.
        if strings.raw.utf8.count == bytes.count {
            entry[0] = strings.raw
            entry[1] = strings.decoded
            pathKeys.set(bytes, at: slot)
        }
        return strings
    }

    /// The target (or path) slot of `bytes`: the hash's top bits.
    @inline(__always)
    private static func slot(_ bytes: UnsafeRawBufferPointer) -> Int {
        slot(hash: CacheKeys.hash(bytes))
    }

    @inline(__always)
    private static func slot(hash: UInt64) -> Int {
        Int(truncatingIfNeeded: hash >> 58) & (targetSlots - 1)
    }

    /// The value of `bytes` read as ISO-8859-1, reusing a recent String of `slot` when the bytes are the
    /// same (see `RecentValues`).
    @inline(__always)
    func string(_ bytes: UnsafeRawBufferPointer, slot: Slot) -> String {
        values.string(bytes, field: slot.rawValue)
    }
}

/// A stack of at most `capacity` spare values in storage allocated once (the owner deallocates it):
/// push and pop move a value in or out, where an Array's `append` / `popLast` also checked
/// uniqueness and capacity and retained and released its buffer.
struct SpareStack<Element> {
    private let slots: UnsafeMutablePointer<Element>
    let capacity: Int
    /// Slots `0..<count` hold values; the others are uninitialized.
    private(set) var count = 0

    init(capacity: Int) {
        slots = .allocate(capacity: capacity)
        self.capacity = capacity
    }

    var isFull: Bool { count == capacity }

    mutating func push(_ element: consuming Element) {
        precondition(count < capacity, "push on a full SpareStack")
        (slots + count).initialize(to: element)
        count += 1
    }

    mutating func pop() -> Element? {
        guard count > 0 else { return nil }
        count -= 1
        return (slots + count).move()
    }

    /// Releases the values held and the storage; the stack must not be used afterwards.
    func deallocate() {
        slots.deinitialize(count: count)
        slots.deallocate()
    }
}
