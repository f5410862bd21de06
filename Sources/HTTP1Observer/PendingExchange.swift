/// The halves of an exchange while they are on the wire: a request awaiting its response, a response being read.
import PacketDecoding

/// A request whose head was seen, waiting in the connection's FIFO for its response.
///
/// A class: it sits in the FIFO, may move to the response being read, and
/// keeps receiving its body meanwhile; one reference avoids copying it around.
final class PendingRequest {
    @exclusivity(unchecked) var summary: HTTPRequestSummary
    @exclusivity(unchecked) var body: BodyPrefix
    var firstByte: Timestamp?
    var lastByte: Timestamp?
    var sawGap = false
    let isFirstOnConnection: Bool
    /// The request's last byte was seen.
    var isComplete = false
    /// Arrived after a loss of sync, before pairing was sure again.
    var arrivedAfterLoss: Bool
    let isHead: Bool
    let isConnect: Bool
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

    /// The summary with the body fields filled in.
    /// The summary with the body fields filled in, moved out: a request is emitted once.
    func finishedSummary() -> HTTPRequestSummary {
        var finished = Self.emptySummary
        swap(&finished, &summary)
        finished.bodyPrefix = body.kept
        finished.bodyLength = body.wireLength
        finished.bodyTruncated = body.truncated || !isComplete
        return finished
    }

    private static let emptySummary = HTTPRequestSummary(
        method: "", target: "", rawPath: "", path: "", query: nil, version: "", host: nil, userAgent: nil,
        methodCode: nil, tCode: nil, contentType: nil, bodyPrefix: [], bodyLength: 0, bodyTruncated: false)
}

/// A final (non-1xx, or 101) response whose head was seen (a class, like `PendingRequest`, so it is never copied).
final class InFlightResponse {
    let request: PendingRequest?
    let status: Int
    let contentType: String?
    let contentEncoding: String?
    @exclusivity(unchecked) var body: BodyPrefix
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

    func summary() -> HTTPResponseSummary {
        HTTPResponseSummary(
            status: status, contentType: contentType, contentEncoding: contentEncoding, bodyPrefix: body.kept,
            bodyLength: body.wireLength, bodyTruncated: body.truncated || !isComplete, bodyless: bodyless)
    }
}
