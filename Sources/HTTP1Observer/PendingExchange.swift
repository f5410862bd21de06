/// The halves of an exchange while they are on the wire: a request awaiting its response, a response being read.
import PacketDecoding
import TCPReassembly

/// A request whose head was seen, waiting in the connection's FIFO for its response.
///
/// A class: it sits in the FIFO, may move to the response being read, and
/// keeps receiving its body meanwhile; one reference avoids copying it around.
/// Emitted requests go back to a small pool (`SharedParserState`) and are reused,
/// so keep-alive traffic allocates none per exchange.
final class PendingRequest {
    /// Written field by field in place by the owner after `init` / `reset` (a summary built and then
    /// stored or passed in was copied whole by the optimiser: every string retained and released once
    /// more); empty once emitted (moved out). Not optional, so that a field is written directly.
    @exclusivity(unchecked) var summary = HTTPRequestSummary.empty
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
    /// Where its body prefix and its head's strings are charged (the observer's, for the object's life).
    let budget: Budget
    /// The head's length, charged to `budget` while the request waits (its strings: target, host,
    /// User-Agent...; see `chargeHead`), released when the summary is moved out.
    @exclusivity(unchecked) private var headCharge = 0

    init(
        budget: Budget, body: consuming BodyPrefix, firstByte: Timestamp?, lastByte: Timestamp?, isFirstOnConnection: Bool,
        arrivedAfterLoss: Bool, isHead: Bool, isConnect: Bool
    ) {
        self.budget = budget
        self.body = body
        self.firstByte = firstByte
        self.lastByte = lastByte
        self.isFirstOnConnection = isFirstOnConnection
        self.arrivedAfterLoss = arrivedAfterLoss
        self.isHead = isHead
        self.isConnect = isConnect
    }

    /// Makes a pooled request new again, every field as `init` sets it with a body of `bodyLimit` (the
    /// summary was moved out when the request was emitted, and the owner writes every field of it again).
    func reset(
        bodyLimit: Int, firstByte: Timestamp?, lastByte: Timestamp?, isFirstOnConnection: Bool,
        arrivedAfterLoss: Bool, isHead: Bool, isConnect: Bool
    ) {
        body.restart(limit: bodyLimit, budget: budget)
        releaseHead()
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

    /// The summary, body fields filled in, moved out (an empty one left): a request is emitted once.
    /// Returned (owned) straight into the exchange's initializer: moved through an `inout` optional
    /// or a stored empty value, the optimiser copied it whole (a retain and a release per string).
    /// Inlined, the fields go from here to the exchange being built without a round trip through a
    /// returned summary (measured: about 35 instructions an exchange less, with the response's).
    deinit {
        body.release(to: budget)
        releaseHead()
    }

    /// What a waiting request keeps besides its head's bytes: this object with its summary and body
    /// prefix, its place in the queue, the storage headers of its longer strings. Measured: 352 bytes of
    /// peak RSS for each of 1,260,000 waiting `GET / HTTP/1.1` (20,000 connections pipelining 64 each
    /// against 20,000 sending one; `captures/scripts/make-memory-bound-captures.py --parts 2`). Charged
    /// with the head, or 64 waiting 18-byte requests on each of 262,144 connections would keep 5.9 GB
    /// while the budget counted 300 MB.
    static let keptOverhead = 384

    /// What waiting costs a request whose head was `headLength` bytes (see `chargeHead`).
    @inline(__always)
    static func keptCost(headLength: Int) -> Int { headLength &+ keptOverhead }

    /// Charges `cost` (``keptCost(headLength:)``: the head its strings came from, and the request
    /// itself) while it waits.
    @inline(__always)
    func chargeHead(_ cost: Int) {
        budget.charge(cost)
        headCharge &+= cost
    }

    @inline(__always)
    private func releaseHead() {
        if headCharge != 0 {
            budget.release(headCharge)
            headCharge = 0
        }
    }

    @inline(__always)
    func takeSummary() -> HTTPRequestSummary {
        releaseHead()
        // One initializer call on the fields moved out: a summary held in a local `var` was also copied whole.
        return HTTPRequestSummary(
            method: summary.method.take(), storedTarget: summary.storedTarget.take(), rawPath: summary.rawPath.take(),
            path: summary.path.take(), query: summary.query.take(), version: summary.version.take(),
            host: summary.host.take(), userAgent: summary.userAgent.take(), methodCode: summary.methodCode.take(),
            tCode: summary.tCode.take(), contentType: summary.contentType.take(), bodyPrefix: body.takeKept(releasingTo: budget),
            bodyLength: body.wireLength, bodyTruncated: body.truncated || !isComplete)
    }
}

extension String {
    /// The string, moved out (an empty one left: no allocation).
    @inline(__always)
    mutating func take() -> String {
        var taken = ""
        swap(&taken, &self)
        return taken
    }
}

extension HTTPRequestSummary {
    /// Holds the place of a summary moved out (no allocation: empty strings and arrays are static).
    static var empty: HTTPRequestSummary {
        HTTPRequestSummary(
            method: "", storedTarget: nil, rawPath: "", path: "", query: nil, version: "", host: nil, userAgent: nil,
            methodCode: nil, tCode: nil, contentType: nil, bodyPrefix: [], bodyLength: 0, bodyTruncated: false)
    }
}

/// A final (non-1xx, or 101) response whose head was seen, held by its connection (in `inFlight`,
/// then maybe among the held responses) and emitted once.
///
/// A class, pooled like `PendingRequest`: as an optional struct, every `inFlight?.` access and each
/// time the slot was emptied or filled went through the runtime's value witnesses (a call that
/// looked up the type's metadata); an optional reference is a pointer test.
final class InFlightResponse {
    @exclusivity(unchecked) var request: PendingRequest?
    @exclusivity(unchecked) private(set) var status: Int
    @exclusivity(unchecked) var contentType: String?
    @exclusivity(unchecked) var contentEncoding: String?
    @exclusivity(unchecked) var body: BodyPrefix
    @exclusivity(unchecked) private(set) var bodyless: Bool
    @exclusivity(unchecked) private(set) var firstByte: Timestamp?
    @exclusivity(unchecked) var lastByte: Timestamp?
    @exclusivity(unchecked) var sawGap = false
    @exclusivity(unchecked) var isComplete = false
    /// The connection ended before the body did (see `HTTPExchangeCompleteness.responseIncomplete`).
    @exclusivity(unchecked) var cutShort = false
    /// Read while recovering from a loss: paired (or not) when the recovery settles.
    @exclusivity(unchecked) var isHeld: Bool
    /// Where its body prefix is charged (the observer's, for the object's life).
    let budget: Budget

    init(
        budget: Budget, request: PendingRequest?, status: Int, contentType: String?, contentEncoding: String?,
        body: consuming BodyPrefix, bodyless: Bool, firstByte: Timestamp?, lastByte: Timestamp?, isHeld: Bool
    ) {
        self.budget = budget
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

    /// Makes a pooled response new again, every field as `init` sets it with a body for
    /// `contentEncoding` and the limits (restarted in place, see `BodyPrefix.restart`).
    func reset(
        request: consuming PendingRequest?, status: Int, contentType: consuming String?,
        contentEncoding: consuming String?, rawLimit: Int, inflatedLimit: Int, bodyless: Bool,
        firstByte: Timestamp?, lastByte: Timestamp?, isHeld: Bool
    ) {
        body.restart(contentEncoding: contentEncoding, rawLimit: rawLimit, inflatedLimit: inflatedLimit, budget: budget)
        // Moved out when the response was emitted: nil stored over without a release (see `EmptySlots.swift`).
        self.request.replaceNil(with: request)
        self.status = status
        self.contentType.replaceNil(with: contentType)
        self.contentEncoding.replaceNil(with: contentEncoding)
        self.bodyless = bodyless
        self.firstByte = firstByte
        self.lastByte = lastByte
        sawGap = false
        isComplete = false
        cutShort = false
        self.isHeld = isHeld
    }

    deinit {
        body.release(to: budget)
    }

    /// The summary (its strings and body) moved out: a response is emitted once. Inlined as the request's.
    @inline(__always)
    func takeSummary() -> HTTPResponseSummary {
        HTTPResponseSummary(
            status: status, contentType: contentType.take(), contentEncoding: contentEncoding.take(),
            bodyPrefix: body.takeKept(releasingTo: budget), bodyLength: body.wireLength, bodyTruncated: body.truncated || !isComplete,
            bodyless: bodyless)
    }
}
