/// The halves of an exchange while they are on the wire: a request awaiting its response, a response being read.
import PacketDecoding

/// A request whose head was seen, waiting in the connection's FIFO for its response.
struct PendingRequest {
    /// Order of arrival on the connection (finds the request whose body is still arriving).
    var serial: Int
    var summary: HTTPRequestSummary
    var body: BodyPrefix
    var firstByte: Timestamp?
    var lastByte: Timestamp?
    var sawGap = false
    var isFirstOnConnection: Bool
    /// The request's last byte was seen.
    var isComplete = false
    /// Arrived after the request direction lost sync: requests may be missing before it.
    var arrivedAfterLoss: Bool
    var isHead: Bool
    var isConnect: Bool
    /// CONNECT, or a bodyless request with `Upgrade`: the request direction waits for the answer.
    var awaitsUpgradeDecision: Bool

    /// The summary with the body fields filled in.
    func finishedSummary() -> HTTPRequestSummary {
        var summary = summary
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
