/// The halves of an exchange while they are on the wire: a request awaiting its response, a response being read.
import PacketDecoding

/// A request whose head was seen, waiting in the connection's FIFO for its response.
///
/// A class: it sits in the FIFO, may move to the response being read, and
/// keeps receiving its body meanwhile; one reference avoids copying it around.
/// Emitted requests go back to a small pool (`SharedParserState`) and are reused,
/// so keep-alive traffic allocates none per exchange.
final class PendingRequest {
    /// Nil once emitted (moved out).
    @exclusivity(unchecked) var summary: HTTPRequestSummary?
    @exclusivity(unchecked) var body: BodyPrefix
    var firstByte: Timestamp?
    var lastByte: Timestamp?
    var sawGap = false
    private(set) var isFirstOnConnection: Bool
    /// The request's last byte was seen.
    var isComplete = false
    /// Arrived after a loss of sync, before pairing was sure again.
    var arrivedAfterLoss: Bool
    private(set) var isHead: Bool
    private(set) var isConnect: Bool
    /// CONNECT, or a bodyless request with `Upgrade`: the request direction waits for the answer.
    var awaitsUpgradeDecision = false

    init(
        summary: HTTPRequestSummary, body: BodyPrefix, firstByte: Timestamp?, lastByte: Timestamp?,
        isFirstOnConnection: Bool, arrivedAfterLoss: Bool, isHead: Bool, isConnect: Bool
    ) {
        self.summary = summary
        self.body = body
        self.firstByte = firstByte
        self.lastByte = lastByte
        self.isFirstOnConnection = isFirstOnConnection
        self.arrivedAfterLoss = arrivedAfterLoss
        self.isHead = isHead
        self.isConnect = isConnect
    }

    /// Makes a pooled request new again, every field as `init` sets it.
    func reset(
        summary: consuming HTTPRequestSummary, body: consuming BodyPrefix, firstByte: Timestamp?, lastByte: Timestamp?,
        isFirstOnConnection: Bool, arrivedAfterLoss: Bool, isHead: Bool, isConnect: Bool
    ) {
        self.summary = summary
        self.body = body
        self.firstByte = firstByte
        self.lastByte = lastByte
        sawGap = false
        self.isFirstOnConnection = isFirstOnConnection
        isComplete = false
        self.arrivedAfterLoss = arrivedAfterLoss
        self.isHead = isHead
        self.isConnect = isConnect
        awaitsUpgradeDecision = false
    }

    /// The summary with the body fields filled in.
    /// Moves the summary, body fields filled in, into `slot` (an exchange's): a request is emitted once.
    /// In place through `inout`: returned, the optimiser copied the whole summary and destroyed the original.
    func moveSummary(into slot: inout HTTPRequestSummary?) {
        if case .none = summary { summary = .empty }
        summary!.bodyPrefix = body.takeKept()
        summary!.bodyLength = body.wireLength
        summary!.bodyTruncated = body.truncated || !isComplete
        swap(&slot, &summary)
    }
}

extension HTTPRequestSummary {
    /// Holds the place of a summary moved out (no allocation: empty strings and arrays are static).
    static var empty: HTTPRequestSummary {
        HTTPRequestSummary(
            method: "", target: "", rawPath: "", path: "", query: nil, version: "", host: nil, userAgent: nil,
            methodCode: nil, tCode: nil, contentType: nil, bodyPrefix: [], bodyLength: 0, bodyTruncated: false)
    }
}

/// A final (non-1xx, or 101) response whose head was seen: a value held by its connection
/// (in `inFlight`, then maybe among the held responses), moved out once when emitted.
struct InFlightResponse {
    var request: PendingRequest?
    let status: Int
    var contentType: String?
    var contentEncoding: String?
    var body: BodyPrefix
    let bodyless: Bool
    let firstByte: Timestamp?
    var lastByte: Timestamp?
    var sawGap = false
    var isComplete = false
    /// The connection ended before the body did (see `HTTPExchangeCompleteness.responseIncomplete`).
    var cutShort = false
    /// Read while recovering from a loss: paired (or not) when the recovery settles.
    var isHeld: Bool

    init(
        request: PendingRequest?, status: Int, contentType: String?, contentEncoding: String?, body: BodyPrefix,
        bodyless: Bool, firstByte: Timestamp?, lastByte: Timestamp?, isHeld: Bool
    ) {
        self.request = request
        self.status = status
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.body = body
        self.bodyless = bodyless
        self.firstByte = firstByte
        self.lastByte = lastByte
        self.isHeld = isHeld
    }

    /// Moves the summary (its strings and body) into `slot` (an exchange's): a response is emitted once.
    mutating func moveSummary(into slot: inout HTTPResponseSummary?) {
        slot = HTTPResponseSummary(
            status: status, contentType: nil, contentEncoding: nil, bodyPrefix: [], bodyLength: body.wireLength,
            bodyTruncated: body.truncated || !isComplete, bodyless: bodyless)
        swap(&slot!.contentType, &contentType)
        swap(&slot!.contentEncoding, &contentEncoding)
        slot!.bodyPrefix = body.takeKept()
    }
}
