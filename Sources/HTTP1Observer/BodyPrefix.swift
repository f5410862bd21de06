/// The bounded prefix of one message body that is kept for the codes the metrics read.
import TCPReassembly

/// Keeps at most `limit` de-chunked body bytes (inflated ones when the body is
/// gzip/deflate), counts every wire byte, and skips the rest without copying.
struct BodyPrefix {
    private(set) var bytes: [UInt8] = []
    /// De-chunked body bytes on the wire, gaps included.
    private(set) var wireLength = 0
    /// Less than the whole body is kept (limit, gap, or inflate failure).
    private(set) var truncated = false
    private var limit: Int
    private var inflater: Inflater?
    /// An anomaly met while keeping the prefix, reported once by the owner.
    private(set) var anomaly: HTTPParseAnomaly?
    /// Kept bytes charged to the observer's `Budget`, released by `takeKept`, `restart` and the
    /// holder's `deinit` (`release(to:)`).
    private(set) var charged = 0
    /// The first kept byte where it lies in the delivery being read, not copied (see `lend`): valid
    /// only until that delivery ends, by which time the owner has emitted it or called `materialize`.
    /// One pointer (the count is `min(wireLength, limit)`): a buffer pointer made the prefix a larger
    /// value, which the optimiser copied and destroyed through calls.
    private var lentStart: UnsafeRawPointer?

    /// A body kept as it is.
    init(limit: Int) {
        self.limit = limit
    }

    /// A body inflated as `contentEncoding` says when that is gzip or deflate, else kept as it is.
    init(contentEncoding: String?, rawLimit: Int, inflatedLimit: Int) {
        if let encoding = contentEncoding, Self.isInflatable(encoding) {
            limit = inflatedLimit
            inflater = Inflater(limit: inflatedLimit)
        } else {
            limit = rawLimit
        }
    }

    /// Makes the prefix new again as `init(limit:)` does, in place (a pooled request's body). Its kept
    /// bytes were moved out when the message was emitted (`takeKept`): only what is left is released,
    /// where assigning a new prefix released the empty buffer and the absent inflater through calls.
    @inline(__always)
    mutating func restart(limit: Int, budget: Budget) {
        release(to: budget)
        restartCounts()
        self.limit = limit
        if case .some = inflater { inflater = nil }
    }

    /// Makes the prefix new again as `init(contentEncoding:rawLimit:inflatedLimit:)` does, in place (see
    /// `restart(limit:)`). Inlined for the usual response, without a `Content-Encoding`: a few stores,
    /// where the call cost as much; an encoded one is looked at out of line.
    @inline(__always)
    mutating func restart(contentEncoding: String?, rawLimit: Int, inflatedLimit: Int, budget: Budget) {
        release(to: budget)
        guard case .none = contentEncoding else {
            return restart(encoding: contentEncoding.unsafelyUnwrapped, rawLimit: rawLimit, inflatedLimit: inflatedLimit)
        }
        restartCounts()
        limit = rawLimit
        if case .some = inflater { inflater = nil }
    }

    @inline(never)
    private mutating func restart(encoding: String, rawLimit: Int, inflatedLimit: Int) {
        restartCounts()
        if Self.isInflatable(encoding) {
            limit = inflatedLimit
            inflater = Inflater(limit: inflatedLimit)
        } else {
            limit = rawLimit
            if case .some = inflater { inflater = nil }
        }
    }

    @inline(__always)
    private mutating func restartCounts() {
        if bytes.capacity != 0 { bytes = [] }
        wireLength = 0
        truncated = false
        anomaly = nil
        lentStart = nil
    }

    static func isInflatable(_ encoding: String) -> Bool {
        switch encoding.lowercased() {
        case "gzip", "x-gzip", "deflate": return true
        default: return false
        }
    }

    /// Gives back what this prefix has charged to `budget` (emitted, dropped or reused).
    @inline(__always)
    mutating func release(to budget: Budget) {
        if charged != 0 {
            budget.release(charged)
            charged = 0
        }
    }

    /// `spares` lends an emptied buffer for the first kept bytes (see `SharedParserState.takeBuffer`),
    /// and its `keptBytes` bounds what all prefixes keep together.
    mutating func append(_ chunk: UnsafeRawBufferPointer, spares: SharedParserState) {
        wireLength &+= chunk.count
        if truncated { return }
        let budget = spares.keptBytes
        if let inflater {
            guard !budget.isExhausted else {
                truncated = true
                anomaly = .keptBytesLimit
                return
            }
            // Charged once inflated: one delivery's output (at most the prefix's limit) may overshoot the bound.
            inflater.feed(chunk)
            let grown = inflater.output.count &- charged
            if grown > 0 {
                budget.charge(grown)
                charged &+= grown
            }
            switch inflater.status {
            case .inflating, .finished: break
            case .limitReached:
                truncated = true
                // A ratio above 100:1 at the bound is a bomb (or close enough to one to say so).
                anomaly = inflater.output.count > inflater.consumed * 100 ? .decompressionBomb : .bodyPrefixTruncated
            case .failed:
                truncated = true
                anomaly = .inflateError
            }
            return
        }
        let room = limit - bytes.count
        if chunk.count <= room && budget.hasRoom(for: chunk.count) {
            if bytes.capacity == 0 && chunk.count > 0 {
                // Usually over the shared empty array: stored without a release (see `EmptySlots.swift`).
                bytes.replaceEmpty(with: spares.takeBuffer())
                bytes.reserveCapacity(min(limit, max(chunk.count, 256)))
            }
            bytes.append(contentsOf: chunk)
            budget.charge(chunk.count)
            charged &+= chunk.count
        } else {
            // Asked for what the prefix may take, not the whole chunk: past the prefix's own limit the
            // shared bound holds nothing back (`Budget.wasReached` stays false).
            let kept = budget.room(for: Swift.min(chunk.count, room))
            let taken = Swift.min(room, kept)
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<taken]))
            budget.charge(taken)
            charged &+= taken
            truncated = true
            anomaly = kept < room ? .keptBytesLimit : .bodyPrefixTruncated
        }
    }

    /// Nothing kept or counted yet, and the body is kept as it is (not inflated): `lend` may take it.
    var canLend: Bool { wireLength == 0 && bytes.capacity == 0 && inflater == nil && !truncated }

    /// `append` of a whole body (`canLend`) that is kept where it lies instead of copied: the same
    /// length, prefix, truncation and anomaly, the prefix in `lent`.
    mutating func lend(_ chunk: UnsafeRawBufferPointer) {
        wireLength = chunk.count
        // (An empty chunk may have no address: a one-byte placeholder marks it lent, none is read.)
        lentStart = chunk.baseAddress ?? UnsafeRawPointer(bitPattern: 1)
        if chunk.count > limit {
            truncated = true
            anomaly = .bodyPrefixTruncated
        }
    }

    /// The lent bytes (nil when none are lent).
    var lent: UnsafeRawBufferPointer? {
        guard let lentStart else { return nil }
        return UnsafeRawBufferPointer(start: lentStart, count: Swift.min(wireLength, limit))
    }

    /// Copies the lent bytes into the prefix's own buffer (the body outlives its delivery).
    mutating func materialize(spares: SharedParserState) {
        guard let lent else { return }
        lentStart = nil
        let kept = spares.keptBytes.room(for: lent.count)
        if kept < lent.count {
            // What the budget leaves is kept; the rest of the prefix is lost like a truncated one.
            truncated = true
            anomaly = .keptBytesLimit
        }
        if kept > 0 {
            bytes = spares.takeBuffer()
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: lent[0..<kept]))
            spares.keptBytes.charge(kept)
            charged &+= kept
        }
    }

    /// `length` body bytes are missing: counted on the wire, the prefix ends here.
    mutating func skipGap(_ length: Int) {
        wireLength &+= length
        truncated = true
    }

    /// The buffer `takeKept` is about to hand out, when it has a capacity the pool may take back
    /// afterwards (nil otherwise).
    var keptBuffer: [UInt8]? {
        if let inflater { return inflater.output.capacity > 0 ? inflater.output : nil }
        return bytes.capacity > 0 ? bytes : nil
    }

    /// The kept bytes, moved out (not copied): the body is emitted once. Lent bytes are not in it (the
    /// owner hands them on where they lie; the prefix forgets them).
    mutating func takeKept(releasingTo budget: Budget) -> [UInt8] {
        release(to: budget)
        lentStart = nil
        if let inflater {
            // Dropping the inflater leaves the returned output its only owner (reusable, see `reclaimBuffer`).
            let output = inflater.output
            self.inflater = nil
            return output
        }
        var taken: [UInt8] = []
        swap(&taken, &bytes)
        return taken
    }

    /// The body ended on the wire before its inflated form did (truncated message).
    mutating func markIncomplete() { truncated = true }
}
