/// What a direction's parser reports and the states it passes through.
import PacketDecoding

extension HTTPMessageParser {
    /// How the body after a head is delimited (RFC 9112 §6.3), decided by the owner.
    enum BodyFraming: Equatable {
        case none
        case length(Int)
        case chunked
        /// Until the direction ends (a response without length, RFC 9112 §6.3 item 8).
        case untilClose
        /// After 101 / CONNECT: the bytes are no longer HTTP.
        case ignoreRest
        /// An Upgrade / CONNECT request waits for its answer; bytes meanwhile are dropped.
        case awaitUpgradeDecision
    }

    enum Event {
        /// A head was read: it is in `shared.head` (not carried here, to avoid copying it around).
        case head
        case body(UnsafeRawBufferPointer)
        /// The last bytes of a body of known length: `.body` then `.complete` in one event (the message
        /// is already ended here), which saves a round through `next` and the owner per message.
        case lastBody(UnsafeRawBufferPointer)
        case complete
        /// Message boundaries are lost; the message in progress (if its head was given) is cut short.
        case lost(HTTPParseAnomaly)
        /// A tolerated oddity to count.
        case anomaly(HTTPParseAnomaly)
        /// HTTP/2's connection preface was read whole where a request line was expected (RFC 9113
        /// §3.4): the direction ignores what follows, unless its owner makes it resynchronise.
        case http2Preface
        /// A TLS record header where a start line was expected, outside a resynchronisation (see
        /// `+TLSRecord`): the direction ignores what follows, unless its owner makes it resynchronise.
        case tlsRecord
        /// The first line of a direction read from its start is no HTTP/1 at all (see `+OtherProtocol`):
        /// the direction ignores what follows.
        case otherProtocol
        /// A PROXY protocol header was read and skipped (see `+ProxyProtocol`).
        case proxyHeader
        /// A direction of a connection picked up mid-stream skipped `unsyncedLimit` bytes without
        /// finding a head (see `+OtherProtocol`); reported once.
        case farFromSync
        /// Bytes of a CONNECT tunnel's own stream (after its 2xx), for the tunnel's observer: the rest
        /// of the delivery.
        case tunnel(UnsafeRawBufferPointer)
    }

    enum GapOutcome: Equatable {
        /// Skipped inside a body; framing goes on.
        case absorbed
        /// The gap ended the body of known length exactly.
        case completed
        /// The body ended inside the gap (its last `bodyBytes` were in it); later heads may be gone.
        case completedThenLost(HTTPParseAnomaly, bodyBytes: Int)
        case lost(HTTPParseAnomaly)
        /// Already resynchronising: the framing has nothing more to lose, but whole messages may
        /// have been in the gap (the owner decides what that means for pairing).
        case whileResynchronising
        /// Nothing to do (not parsing).
        case ignored
    }

    enum FinishOutcome {
        case betweenMessages
        case headIncomplete
        /// A close-delimited body ended with the direction.
        case bodyComplete
        case bodyIncomplete
    }

    enum State {
        /// Between messages: CR / LF before a start line are skipped (RFC 9112 §2.2).
        case idle
        case startLine(StartLineScanner)
        case fieldLines(lineBytes: Int, lastWasCR: Bool)
        case awaitingFraming
        case body(remaining: Int)
        case chunkSize(ChunkSizeLine)
        case chunkData(remaining: Int)
        case chunkDataEnd(sawCR: Bool)
        case trailers(lineBytes: Int, lastWasCR: Bool, total: Int)
        case untilClose
        /// Resynchronising: discard through the next LF, then try a start line.
        case skipLine
        /// The first `matched` bytes of HTTP/2's connection preface were read (see `+HTTP2Preface`).
        case http2Preface(matched: Int)
        /// The first `matched` bytes of what may be a TLS record header were read (see `+TLSRecord`).
        case tlsRecordHeader(matched: Int)
        /// A PROXY protocol header is being read (see `+ProxyProtocol`): v1, `lineBytes` of its line
        /// read; v2, `read` of its bytes, `length` its length field once read.
        case proxyHeaderV1(lineBytes: Int)
        case proxyHeaderV2(read: Int, length: Int)
        case awaitingUpgradeDecision
        case ignoring
        /// After a CONNECT's 2xx: every byte is the tunnel's (`Event.tunnel`), none is parsed here.
        case tunnel
    }
}
