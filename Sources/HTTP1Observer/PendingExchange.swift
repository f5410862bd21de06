/// The halves of an exchange while they are on the wire: a request awaiting its response, a response being read.
import PacketDecoding

/// A request whose head was seen, waiting in the connection's FIFO for its response.
///
/// A class: it sits in the FIFO, may move to the response being read, and
/// keeps receiving its body meanwhile; one reference avoids copying it around.
final class PendingRequest {
    var summary: HTTPRequestSummary
    var body: BodyPrefix
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
    func finishedSummary() -> HTTPRequestSummary {
        summary.bodyPrefix = body.kept
        summary.bodyLength = body.wireLength
        summary.bodyTruncated = body.truncated || !isComplete
        return summary
    }
}

/// A final (non-1xx, or 101) response whose head was seen.
struct InFlightResponse {
    var request: PendingRequest?
    var status: Int
    var contentType: String?
    var contentEncoding: String?
    var body: BodyPrefix
    var bodyless: Bool
    var firstByte: Timestamp?
    var lastByte: Timestamp?
    var sawGap = false
    var isComplete = false
    /// Read while recovering from a loss: paired (or not) when the recovery settles.
    var isHeld = false

    func summary() -> HTTPResponseSummary {
        HTTPResponseSummary(
            status: status, contentType: contentType, contentEncoding: contentEncoding, bodyPrefix: body.kept,
            bodyLength: body.wireLength, bodyTruncated: body.truncated || !isComplete, bodyless: bodyless)
    }
}
