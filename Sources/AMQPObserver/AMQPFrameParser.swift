// AMQPFrameParser.swift — incremental AMQP 0-9-1 framing (§4.2.2–4.2.3) of one direction over borrowed bytes.
import TCPReassembly

/// A complete frame, as the parser hands it over.
enum AMQPFrame {
    /// A method frame; `payload` (class-id, method-id, arguments) is borrowed for the call only.
    case method(channel: UInt16, payload: UnsafeRawBufferPointer)
    case contentHeader(channel: UInt16)
    case contentBody(channel: UInt16)
    case heartbeat(channel: UInt16)
}

/// Splits one direction of an AMQP 0-9-1 connection into frames.
///
/// The protocol header (§4.2.2) opens the client's direction:
///
///     +---+---+---+---+---+---+---+---+
///     | A | M | Q | P | 0 | 0 | 9 | 1 |
///     +---+---+---+---+---+---+---+---+
///
/// then frames (§4.2.3) follow in both directions:
///
///     0      1         3         7                    size+7     size+8
///     +------+---------+---------+   +-------------+   +-----------+
///     | type | channel |  size   |   |   payload   |   | frame-end |
///     +------+---------+---------+   +-------------+   +-----------+
///      octet   short      long         size octets        0xCE
///
/// Types: 1 method, 2 content header, 3 content body, 8 heartbeat (amqp0-9-1.xml).
/// Only a method frame that straddles calls is copied (bounded by the frame bound);
/// header and body frames are skipped by size, and survive gaps that fall inside them.
final class AMQPFrameParser {
    enum State {
        /// The first bytes of the direction: a protocol header, a TLS record, or (mid-stream) a frame.
        case start
        case protocolHeader
        /// Mid-stream: look for a plausible frame at the start of a segment.
        case synchronizing
        case frameHeader
        case methodPayload(channel: UInt16, size: Int)
        /// Skipping a header or body payload, then the frame-end.
        case skipping(type: UInt8, channel: UInt16, remaining: Int)
        case failed(AMQPAnomaly)
    }

    static let protocolHeader: UInt64 = 0x414D_5150_0000_0901  // "AMQP" 0 0 9 1
    static let frameEnd: UInt8 = 0xCE

    private(set) var state: State = .start
    /// The largest whole frame (header + payload + frame-end) accepted.
    var frameMax: Int
    /// True when the handshake was seen: the direction must open with a header or a frame, no resynchronising.
    private let startsAtBeginning: Bool
    private let isClient: Bool
    private let synchronizationAttempts: Int
    private var attemptsLeft: Int
    /// Header bytes collected so far, big-endian in the low bits.
    private var pending: UInt64 = 0
    private var pendingCount = 0
    /// A method frame's payload + frame-end that straddles calls.
    private var buffer: [UInt8] = []
    /// What all parsers of the observer keep in their buffers together, and its bound; `charged`
    /// is this parser's part (released when the buffer is emptied, and in `deinit`).
    private let budget: Budget
    private var charged = 0
    /// Bytes skipped while synchronizing.
    private(set) var unsynchronizedBytes = 0
    /// Frames still to parse before a mid-stream synchronisation is trusted: a framing error
    /// before then means the boundary was a coincidence, and the search goes on.
    private var tentativeFrames = 0
    private static let framesToTrustSynchronization = 3

    init(
        isClient: Bool, startsAtBeginning: Bool, frameMax: Int, synchronizationAttempts: Int,
        budget: Budget = Budget(limit: Int.max)
    ) {
        self.budget = budget
        self.isClient = isClient
        self.startsAtBeginning = startsAtBeginning
        self.frameMax = frameMax
        self.synchronizationAttempts = synchronizationAttempts
        self.attemptsLeft = synchronizationAttempts
    }

    deinit {
        budget.release(charged)
    }

    /// Empties the buffer, giving its bytes back to the budget; a large one's storage goes too (a
    /// connection that once sent a large method keeps no large buffer for the rest of its life).
    private func emptyBuffer() {
        buffer.removeAll(keepingCapacity: buffer.capacity <= 4096)
        if charged != 0 {
            budget.release(charged)
            charged = 0
        }
    }

    var failure: AMQPAnomaly? {
        if case .failed(let reason) = state { return reason }
        return nil
    }

    /// Gives the direction up, unless it synchronised mid-stream only a frame or two ago:
    /// then it looks for a frame boundary again (at the next segment).
    func fail(_ reason: AMQPAnomaly) {
        guard failure == nil else { return }
        if tentativeFrames > 0 {
            // Not touching `buffer` here: `fail` may be called from `onFrame` while the
            // buffer is lent out; synchronising afresh clears it.
            tentativeFrames = 0
            state = .synchronizing
            resynchronizing = true
        } else {
            state = .failed(reason)
        }
    }

    /// Set by `fail` while tentative: the rest of the current call is skipped.
    private var resynchronizing = false

    /// Parses `bytes`; `onFrame` is called for each complete frame, in order. It may
    /// `fail` the parser, which then ignores the rest.
    func parse(_ bytes: UnsafeRawBufferPointer, onFrame: (AMQPFrame) -> Void) {
        var i = 0
        let n = bytes.count
        resynchronizing = false
        while i < n {
            if resynchronizing {
                // `fail` during a tentative synchronisation: skip to the next segment.
                unsynchronizedBytes += n - i
                return
            }
            switch state {
            case .failed:
                return
            case .start:
                state = startState(firstByte: bytes[i])
            case .synchronizing:
                guard Self.looksLikeFrame(UnsafeRawBufferPointer(rebasing: bytes[i...]), frameMax: frameMax) else {
                    unsynchronizedBytes += n - i
                    attemptsLeft -= 1
                    if attemptsLeft <= 0 { state = .failed(.unsynchronized) }
                    return
                }
                state = .frameHeader
                pendingCount = 0
                emptyBuffer()
                tentativeFrames = Self.framesToTrustSynchronization
            case .protocolHeader:
                while i < n && pendingCount < 8 {
                    pending = pending << 8 | UInt64(bytes[i])
                    pendingCount += 1
                    i += 1
                    if pendingCount == 4 && pending != 0x414D_5150 {  // not "AMQP"
                        state = .failed(.garbage)
                        return
                    }
                }
                if pendingCount == 8 {
                    state = Self.checkProtocolHeader(pending, isClient: isClient)
                    pending = 0
                    pendingCount = 0
                }
            case .frameHeader:
                if pendingCount == 0 && n - i >= 7 {
                    pending = 0
                    for j in 0..<7 { pending = pending << 8 | UInt64(bytes[i + j]) }
                    i += 7
                } else {
                    while i < n && pendingCount < 7 {
                        pending = pending << 8 | UInt64(bytes[i])
                        pendingCount += 1
                        i += 1
                    }
                    guard pendingCount == 7 else { return }
                    pendingCount = 0
                }
                let next = beginFrame(
                    type: UInt8(truncatingIfNeeded: pending >> 48), channel: UInt16(truncatingIfNeeded: pending >> 32),
                    size: Int(pending & 0xFFFF_FFFF))
                if case .failed(let reason) = next {
                    return failInParse(reason, skipping: min(n, n - i + 7))  // the header's bytes too
                }
                state = next
            case .methodPayload(let channel, let size):
                if buffer.isEmpty && n - i > size {
                    // The whole method frame is in this call: hand it over without copying.
                    let end = i + size
                    i = end + 1
                    guard bytes[end] == Self.frameEnd else {
                        return failInParse(.badFrameEnd, skipping: n - i)
                    }
                    state = .frameHeader
                    frameCompleted()
                    onFrame(.method(channel: channel, payload: UnsafeRawBufferPointer(rebasing: bytes[end - size..<end])))
                } else {
                    if buffer.isEmpty {
                        // The whole frame is charged when it starts: once begun, it can always end.
                        guard budget.hasRoom(for: size + 1) else {
                            return failInParse(.bufferLimit, skipping: n - i)
                        }
                        budget.charge(size + 1)
                        charged = size + 1
                    }
                    let take = min(n - i, size + 1 - buffer.count)
                    buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<i + take]))
                    i += take
                    guard buffer.count == size + 1 else { return }
                    guard buffer[size] == Self.frameEnd else {
                        return failInParse(.badFrameEnd, skipping: n - i)
                    }
                    state = .frameHeader
                    frameCompleted()
                    buffer.withUnsafeBytes { onFrame(.method(channel: channel, payload: UnsafeRawBufferPointer(rebasing: $0[..<size]))) }
                    emptyBuffer()
                }
            case .skipping(let type, let channel, let remaining):
                if remaining > 0 {
                    let take = min(remaining, n - i)
                    i += take
                    state = .skipping(type: type, channel: channel, remaining: remaining - take)
                    continue
                }
                guard bytes[i] == Self.frameEnd else {
                    return failInParse(.badFrameEnd, skipping: n - i)
                }
                i += 1
                state = .frameHeader
                frameCompleted()
                switch type {
                case 2: onFrame(.contentHeader(channel: channel))
                case 3: onFrame(.contentBody(channel: channel))
                default: onFrame(.heartbeat(channel: channel))
                }
            }
        }
    }

    /// `length` bytes will never arrive. Returns false when the frame boundary is lost
    /// (the gap may have hidden a method): the caller must then distrust its state.
    func gap(length: Int) -> Bool {
        switch state {
        case .failed:
            return true
        case .skipping(let type, let channel, let remaining) where length <= remaining:
            // Inside a header or body payload: skip the missing bytes like the present ones.
            state = .skipping(type: type, channel: channel, remaining: remaining - length)
            return true
        case .start:
            state = .synchronizing
            return false
        default:
            pending = 0
            pendingCount = 0
            emptyBuffer()
            attemptsLeft = synchronizationAttempts
            state = .synchronizing
            return false
        }
    }

    private func frameCompleted() {
        if tentativeFrames > 0 { tentativeFrames -= 1 }
    }

    private func failInParse(_ reason: AMQPAnomaly, skipping remaining: Int) {
        fail(reason)
        if resynchronizing { unsynchronizedBytes += remaining }
    }

    private func startState(firstByte: UInt8) -> State {
        // Mid-stream, the first byte may be anywhere in a frame: only a frame boundary is trusted.
        guard startsAtBeginning else { return .synchronizing }
        switch firstByte {
        case UInt8(ascii: "A"): return .protocolHeader
        case 0x16: return .failed(.tls)  // TLS handshake record (RFC 8446 §5.1); never an AMQP frame type
        default: return isClient ? .failed(.garbage) : .frameHeader
        }
    }

    private static func checkProtocolHeader(_ header: UInt64, isClient: Bool) -> State {
        if header == protocolHeader { return isClient ? .frameHeader : .failed(.badProtocolHeader) }
        // AMQP 1.0 (§2.2 of OASIS AMQP 1.0): "AMQP" id 1 0 0, id 0 plain, 2 TLS, 3 SASL.
        let id = header >> 24 & 0xFF
        if header & 0x00FF_FFFF == 0x01_0000 && (id == 0 || id == 2 || id == 3) { return .failed(.amqp10) }
        return .failed(.badProtocolHeader)
    }

    private func beginFrame(type: UInt8, channel: UInt16, size: Int) -> State {
        guard size + 8 <= frameMax else { return .failed(.frameTooLarge) }
        switch type {
        case 1: return .methodPayload(channel: channel, size: size)
        case 2, 3: return .skipping(type: type, channel: channel, remaining: size)
        case 8: return .skipping(type: 8, channel: channel, remaining: size)
        default: return .failed(.badFrameType)
        }
    }

    /// A plausible frame starts here and ends (0xCE) within `bytes`; methods must be known ids.
    static func looksLikeFrame(_ bytes: UnsafeRawBufferPointer, frameMax: Int) -> Bool {
        guard bytes.count >= 8 else { return false }
        let type = bytes[0]
        var size = 0
        for j in 3..<7 { size = size << 8 | Int(bytes[j]) }
        guard size + 8 <= frameMax, size + 8 <= bytes.count, bytes[7 + size] == frameEnd else { return false }
        switch type {
        case 1:
            guard size >= 4 else { return false }
            let id = AMQPMethodID(
                classID: UInt16(bytes[7]) << 8 | UInt16(bytes[8]), methodID: UInt16(bytes[9]) << 8 | UInt16(bytes[10]))
            return id.isKnown
        case 2: return size >= 14
        case 3: return true
        case 8: return size == 0
        default: return false
        }
    }
}
