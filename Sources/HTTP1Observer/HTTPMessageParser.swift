/// One direction's HTTP/1.1 message framing (RFC 9112 §2-§7) as an incremental state machine.
import PacketDecoding
import TCPReassembly

/// Splits one direction's byte stream into message heads and bodies.
///
/// Works on borrowed bytes: only head bytes that straddle two deliveries are
/// copied (bounded by `maxHeaderBytes`); bodies are handed out as borrowed
/// slices or skipped by length. Each call to `next` consumes bytes and
/// returns at most one event; the owner reacts (e.g. picks the body framing
/// after `.head`) and calls again until it returns nil.
struct HTTPMessageParser {
    // The types it reports and passes through are in `+Types`.
    var state = State.idle
    let maxHeaderBytes: Int
    /// Header value strings and the parsed head, shared with the other connections of the observer.
    let shared: SharedParserState
    let maxHeaderCount: Int
    /// Which start lines this direction accepts (changes once when guessed roles are settled).
    var expectedKind: StartLineKind
    /// Looking for a start line after losing sync: implausible lines are skipped, not counted.
    var isResynchronising = false
    /// Sync was lost at least once on this direction.
    var hasLostSync = false
    /// Bytes were dropped while waiting for an upgrade decision.
    var droppedWhileAwaitingUpgrade = false
    /// This direction sent a CONNECT or an `Upgrade` request: bytes while it awaits the answer are
    /// kept (`+EarlyTunnelBytes`).
    var keepsEarlyTunnelBytes = false
    var earlyTunnelBytes: [UInt8] = []
    /// Where each delivery kept in `earlyTunnelBytes` ends in them, and its time: what a client
    /// pipelined after an `Upgrade` request the server refused is parsed at the times it was sent.
    var earlyTunnelPieces: [(end: Int, time: Timestamp)] = []
    /// The direction's first line was rejected at a first byte 0x00 (with, where the delivery holds it,
    /// the rest of a SETTINGS frame header): a server's HTTP/2 preface, maybe (see `+HTTP2Preface`).
    var firstLineMayBeHTTP2Settings = false
    /// Whether a rejection of this direction's first line shows that the connection carries another
    /// protocol (see `+OtherProtocol`); `.off` once a head was read.
    var otherProtocolCheck = OtherProtocolCheck.off
    /// On a connection picked up mid-stream, the bytes this direction may still skip while
    /// resynchronising before a head is read in sync: 0 when the limit is reached (reported as
    /// `.farFromSync`, then `unsyncedLimitReported`); -1 when not counted (see `+OtherProtocol`).
    var unsyncedBytesLeft = -1

    var headBuffer: [UInt8] = []
    /// `headBuffer`'s bytes charged to the observer's `Budget` (released by `resetHead`, and
    /// by the connection observer's `deinit`).
    var headCharged = 0
    var headStart: Int?
    var headBytes = 0

    /// Times of the current message's first and last byte (the packets that carried them).
    var messageFirstByte: Timestamp?
    var messageLastByte: Timestamp?
    /// A gap was skipped inside the current message.
    var messageSawGap = false

    init(expectedKind: StartLineKind, maxHeaderBytes: Int, maxHeaderCount: Int, shared: SharedParserState) {
        self.expectedKind = expectedKind
        self.shared = shared
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
    }

    /// Parsing ended for good on this direction (upgrade), or will never start.
    var isIgnoring: Bool {
        if case .ignoring = state { return true }
        return false
    }

    /// Between messages with nothing pending: `next` on no more bytes returns nil and changes nothing.
    var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    /// No message is under way (nothing of a start line read yet).
    var isBetweenMessages: Bool {
        switch state {
        case .idle, .skipLine, .ignoring, .awaitingUpgradeDecision, .tunnel: return true
        case .startLine: return headBytes == 0
        default: return false
        }
    }

    /// Bytes this direction holds between deliveries (a head split over packets); 0 when idle.
    var bufferedBytes: Int { headBuffer.capacity }

    mutating func endMessage() {
        state = .idle
        messageFirstByte = nil
        messageLastByte = nil
        messageSawGap = false
    }

    @inline(__always)
    mutating func resetHead() {
        // Most heads are parsed where they lie and never touch the buffer: assigning `[]` over the
        // empty one still released it (a runtime call per head).
        if headBuffer.capacity != 0 { dropHeadBuffer() }
        headStart = nil
        headBytes = 0
    }

    /// Frees a head kept over deliveries and gives its bytes back to the budget (out of line: rare).
    @inline(never)
    mutating func dropHeadBuffer() {
        headBuffer = []
        if headCharged != 0 {
            shared.keptBytes.release(headCharged)
            headCharged = 0
        }
    }

    /// Consumes bytes from `bytes[index...]`, advancing `index`; nil when all are consumed with nothing to report.
    mutating func next(_ bytes: UnsafeRawBufferPointer, index: inout Int, time: Timestamp) -> Event? {
        // Body bytes of known length (most calls after a head's): handed out here, where the state
        // machine's loop set up more (registers, spills) than this case uses.
        switch state {
        case .body(let remaining) where remaining > 0 && index < bytes.count:
            return bodyBytes(bytes, index: &index, remaining: remaining, time: time)
        case .chunkData(let remaining) where remaining > 0 && index < bytes.count:
            return bodyBytes(bytes, index: &index, remaining: remaining, time: time)
        default:
            return nextEvent(bytes, index: &index, time: time)
        }
    }

    /// Up to `remaining` (> 0) bytes of the body in `.body` or `.chunkData` from `bytes[index...]`
    /// (not empty): `.lastBody` when they end a body of known length.
    @inline(__always)
    private mutating func bodyBytes(_ bytes: UnsafeRawBufferPointer, index: inout Int, remaining: Int, time: Timestamp) -> Event {
        messageLastByte = time
        let n = min(remaining, bytes.count - index)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[index..<(index + n)])
        index += n
        if case .body = state {
            if n == remaining {
                endMessage()
                return .lastBody(slice)
            }
            state = .body(remaining: remaining - n)
        } else {
            state = .chunkData(remaining: remaining - n)
        }
        return .body(slice)
    }

    /// `next` through the state machine.
    @inline(never)
    private mutating func nextEvent(_ bytes: UnsafeRawBufferPointer, index: inout Int, time: Timestamp) -> Event? {
        // `.idle` tried the start line whole (it was not all here, or was rejected): `.startLine` then goes
        // byte by byte at once.
        var triedWholeLine = false
        while true {
            if case .body(remaining: 0) = state {
                // The body of known length ended: report it now, not when more bytes come.
                endMessage()
                return .complete
            }
            guard index < bytes.count else { break }
            switch state {
            case .idle:
                let b = bytes[index]
                if b == 0x0D || b == 0x0A {
                    index += 1
                    continue
                }
                // A start line begins here: tried whole at once, as `.startLine` first does, without storing
                // a scanner in `state` and taking it out again on the next turn of the loop (most heads).
                if headBytes == 0 {
                    if let lf = wholeStartLineEnd(bytes, from: index),
                        let isRequest = StartLineScanner.classifyWholeLine(
                            UnsafeRawBufferPointer(rebasing: bytes[index..<lf]), kind: expectedKind)
                    {
                        if let event = acceptWholeStartLine(bytes, index: &index, startLineLF: lf, isRequest: isRequest, time: time) {
                            return event
                        }
                        continue
                    }
                    // Not whole here, or rejected: the byte-by-byte path decides (without trying again).
                    triedWholeLine = true
                }
                state = .startLine(StartLineScanner(kind: expectedKind))
            case .startLine(var scanner):
                let mayTryWholeLine = !triedWholeLine
                triedWholeLine = false
                if mayTryWholeLine && headBytes == 0, let lf = wholeStartLineEnd(bytes, from: index),
                    let isRequest = StartLineScanner.classifyWholeLine(
                        UnsafeRawBufferPointer(rebasing: bytes[index..<lf]), kind: scanner.kind)
                {
                    if let event = acceptWholeStartLine(bytes, index: &index, startLineLF: lf, isRequest: isRequest, time: time) {
                        return event
                    }
                    continue
                }
                if headStart == nil { headStart = index }
                if headBytes == 0 { messageFirstByte = time }
                messageLastByte = time
                var decided = false
                scan: while index < bytes.count {
                    if scanner.isInTarget {
                        // Most of a request line is its target: skip it in bulk, not byte by byte.
                        let end = scanner.skipTarget(bytes, from: index)
                        headBytes += end - index
                        index = end
                        if index == bytes.count { break scan }
                    }
                    let b = bytes[index]
                    index += 1
                    headBytes += 1
                    switch scanner.step(b) {
                    case .more:
                        continue scan
                    case .rejected:
                        if let event = startLineRejected(at: b, bytes, index: &index, inFirstToken: scanner.isInFirstToken) {
                            return event
                        }
                        decided = true
                        break scan
                    case .accepted:
                        state = .fieldLines(lineBytes: 0, lastWasCR: false)
                        decided = true
                        break scan
                    }
                }
                if !decided {
                    if headBytes > maxHeaderBytes {
                        loseSync(atLineStart: false)
                        return .lost(.headerTooLarge)
                    }
                    state = .startLine(scanner)
                    if !stashHead(bytes) { return keptBytesExhausted() }
                    return nil
                }
            case .fieldLines(var lineBytes, var lastWasCR):
                messageLastByte = time
                while true {
                    guard let lf = bytes.firstIndex(of: 0x0A, from: index) else {
                        let n = bytes.count - index
                        lineBytes += n
                        if n > 0 { lastWasCR = bytes[bytes.count - 1] == 0x0D }
                        headBytes += n
                        index = bytes.count
                        if headBytes > maxHeaderBytes {
                            loseSync(atLineStart: false)
                            return .lost(.headerTooLarge)
                        }
                        state = .fieldLines(lineBytes: lineBytes, lastWasCR: lastWasCR)
                        if !stashHead(bytes) { return keptBytesExhausted() }
                        return nil
                    }
                    let n = lf - index
                    let crBeforeLF = n > 0 ? bytes[lf - 1] == 0x0D : lastWasCR
                    let total = lineBytes + n
                    headBytes += n + 1
                    index = lf + 1
                    if headBytes > maxHeaderBytes {
                        loseSync(atLineStart: false)
                        return .lost(.headerTooLarge)
                    }
                    if total == 0 || (total == 1 && crBeforeLF) { break }
                    lineBytes = 0
                    lastWasCR = false
                }
                return completeHead(bytes, end: index)
            case .awaitingFraming:
                // The owner must call setFraming first; nothing is consumed.
                return nil
            case .body(let remaining), .chunkData(let remaining):
                if remaining == 0 {
                    state = .chunkDataEnd(sawCR: false)
                    continue
                }
                return bodyBytes(bytes, index: &index, remaining: remaining, time: time)
            case .chunkSize(let line):
                if let event = scanChunkSize(line, bytes, index: &index, time: time) { return event }
            case .chunkDataEnd(let sawCR):
                messageLastByte = time
                let b = bytes[index]
                index += 1
                if b == 0x0D && !sawCR {
                    state = .chunkDataEnd(sawCR: true)
                } else if b == 0x0A {
                    state = .chunkSize(ChunkSizeLine())
                    if !sawCR { return .anomaly(.bareLF) }
                } else {
                    loseSync(atLineStart: false)
                    return .lost(.badChunkTerminator)
                }
            case .trailers(let lineBytes, let lastWasCR, let total):
                if let event = scanTrailers(lineBytes: lineBytes, lastWasCR: lastWasCR, total: total, bytes, index: &index, time: time) {
                    return event
                }
            case .untilClose:
                messageLastByte = time
                let slice = UnsafeRawBufferPointer(rebasing: bytes[index...])
                index = bytes.count
                return .body(slice)
            case .skipLine:
                // Resynchronising: a start line may begin after any LF, or at any byte that can begin one
                // (data after a gap, or a message glued to the end of an unframed body).
                let skipFrom = index
                defer { if unsyncedBytesLeft > 0 { countUnsynced(index - skipFrom) } }
                if unsyncedBytesLeft == 0 { return foundFarFromSync() }
                while index < bytes.count {
                    let b = bytes[index]
                    if b == 0x0A || canStartLine(b) {
                        if b == 0x0A { index += 1 }
                        headStart = nil
                        state = .startLine(StartLineScanner(kind: expectedKind))
                        break
                    }
                    index += 1
                }
            case .http2Preface(let matched):
                if let event = continueHTTP2Preface(matched: matched, bytes, index: &index) { return event }
            case .tlsRecordHeader(let matched):
                if let event = continueTLSRecordHeader(matched: matched, bytes, index: &index) { return event }
            case .proxyHeaderV1(let lineBytes):
                if let event = continueProxyHeaderV1(lineBytes: lineBytes, bytes, index: &index) { return event }
            case .proxyHeaderV2(let read, let length):
                if let event = continueProxyHeaderV2(read: read, length: length, bytes, index: &index) { return event }
            case .awaitingUpgradeDecision:
                let rest = UnsafeRawBufferPointer(rebasing: bytes[index...])
                index = bytes.count
                if rest.isEmpty || keepEarlyTunnelBytes(rest, time: time) { return nil }
                droppedWhileAwaitingUpgrade = true
                return .anomaly(.bytesWhileAwaitingUpgrade)
            case .ignoring:
                index = bytes.count
                return nil
            case .tunnel:
                guard index < bytes.count else { return nil }
                let slice = UnsafeRawBufferPointer(rebasing: bytes[index...])
                index = bytes.count
                return .tunnel(slice)
            }
        }
        // A head that ends exactly at this delivery's end still has to be kept for the next one.
        switch state {
        case .startLine, .fieldLines: if !stashHead(bytes) { return keptBytesExhausted() }
        default: break
        }
        return nil
    }
}
