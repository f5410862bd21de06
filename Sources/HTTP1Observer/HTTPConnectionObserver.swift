/// One connection's HTTP/1.1 observer: both directions' parsers, the pending-request FIFO and the pairing rules.
import PacketDecoding
import TCPReassembly

/// Pairs each request with its response on one connection (RFC 9112 §9.3:
/// responses come in request order, so a FIFO of pending requests pairs
/// pipelined ones). Unpaired halves are emitted as such, never guessed; after
/// a loss of sync, pairing waits for a point where it is sure again (see
/// `HTTPConnectionObserver+Pairing.swift`).
public final class HTTPConnectionObserver: StreamConsumer {
    /// The connection observed (a spare observer made new again takes its next connection here).
    @exclusivity(unchecked) public internal(set) var connection: ConnectionInfo
    /// Strong: the core keeps no reference to the connections it serves (no cycle; spare ones are let go
    /// when the `HTTPObserver` goes), and a strong `let` costs nothing per access where `unowned` pays a
    /// reference-count check each time.
    let core: HTTPObserverCore
    let configuration: HTTPObserverConfiguration
    /// The observer's shared parser state, held here so that reaching it is one load of a `let`.
    let shared: SharedParserState

    // The hot mutable state skips dynamic exclusivity checks (about a tenth of the instructions per
    // exchange): a connection observer runs on its pipeline's thread only, and no access overlaps.
    @exclusivity(unchecked) var clientToServer: HTTPMessageParser
    @exclusivity(unchecked) var serverToClient: HTTPMessageParser
    /// The physical direction that carries requests (differs from `.clientToServer` when guessed roles were wrong).
    @exclusivity(unchecked) var requestDirection = StreamDirection.clientToServer
    @exclusivity(unchecked) var rolesSettled: Bool
    @exclusivity(unchecked) var pending = PendingQueue()
    @exclusivity(unchecked) var inFlight: InFlightResponse?
    /// The request whose body is being read.
    @exclusivity(unchecked) var currentRequest: PendingRequest?
    /// A complete response to `currentRequest`, answered before that request's body ended: emitted
    /// when the body does (`+EarlyAnswers`).
    @exclusivity(unchecked) var earlyAnswer: InFlightResponse?
    /// Its request's last byte when it was held, which the exchange keeps (`+EarlyAnswers`).
    @exclusivity(unchecked) var earlyAnswerRequestLastByte: Timestamp?
    @exclusivity(unchecked) var requestsSeen = 0
    /// A direction lost sync: responses that cannot be paired for sure are held until `settleRecovery`.
    @exclusivity(unchecked) var recovering = false
    /// Completed responses awaiting the recovery's settlement (bounded by twice `maxPendingRequests`).
    @exclusivity(unchecked) var heldResponses: [InFlightResponse] = []
    /// Packet time of the latest gap in the response direction that may have held whole responses
    /// (nanoseconds). A request complete before it but read after it waited behind a hole of its own
    /// direction (delivered when an acknowledgment passed the hole), and its answer may be in that gap.
    @exclusivity(unchecked) var responseLossTime = Int64.min
    @exclusivity(unchecked) var requestDirectionEnded = false
    /// The response direction's first line was bad and may have been a server's HTTP/2 preface: its
    /// `bad_status_line` and `resync` are counted once the client's first bytes are not HTTP/2's.
    @exclusivity(unchecked) var serverLineLossDeferred = false
    @exclusivity(unchecked) var responseDirectionEnded = false
    /// After a CONNECT's 2xx: the tunnel whose stream the connection carries now (`+Tunnel`).
    @exclusivity(unchecked) var tunnel: ConnectTunnel?
    /// Inside a CONNECT tunnel: the authority of the URL its calls were for (the CONNECT target's, see
    /// `ConnectTunnel.urlAuthority`), their host whatever `Host` says, as an absolute-form target's is.
    @exclusivity(unchecked) var tunnelAuthority: String?
    /// How many CONNECT tunnels this connection's stream is inside (0: a TCP connection's own).
    @exclusivity(unchecked) var tunnelDepth: UInt8 = 0
    /// What the client sent between an `Upgrade` request and the server's refusal (its pipelined
    /// requests), with when each piece came: parsed once the refusal's head is read (`+Responses`).
    @exclusivity(unchecked) var sentBehindUpgradeRequest: (bytes: [UInt8], pieces: [(end: Int, time: Timestamp)])?

    init(connection: ConnectionInfo, core: HTTPObserverCore) {
        self.connection = connection
        self.core = core
        configuration = core.configuration
        shared = core.sharedParserState
        rolesSettled = connection.roleSource != .firstSender
        let c2sKind: StartLineKind = rolesSettled ? .request : .either
        let s2cKind: StartLineKind = rolesSettled ? .response : .either
        clientToServer = HTTPMessageParser(
            expectedKind: c2sKind, maxHeaderBytes: configuration.maxHeaderBytes, maxHeaderCount: configuration.maxHeaderCount,
            shared: core.sharedParserState)
        serverToClient = HTTPMessageParser(
            expectedKind: s2cKind, maxHeaderBytes: configuration.maxHeaderBytes, maxHeaderCount: configuration.maxHeaderCount,
            shared: core.sharedParserState)
        startOtherProtocolChecks()
    }

    /// From the handshake, the client's first line shows another protocol; picked up mid-stream,
    /// bytes skipped both ways without a head do (see `HTTPMessageParser+OtherProtocol`).
    func startOtherProtocolChecks() {
        if connection.roleSource == .handshake {
            clientToServer.otherProtocolCheck = .firstToken
        } else {
            clientToServer.unsyncedBytesLeft = HTTPMessageParser.unsyncedLimit
            serverToClient.unsyncedBytesLeft = HTTPMessageParser.unsyncedLimit
        }
    }

    deinit {
        // Heads split over deliveries give their bytes back (requests and responses do in their own).
        let split =
            clientToServer.headCharged &+ serverToClient.headCharged &+ clientToServer.earlyTunnelBytes.count
            &+ serverToClient.earlyTunnelBytes.count
        if split != 0 { shared.keptBytes.release(split) }
    }

    /// Buffer bytes this connection holds (split heads) and requests it keeps waiting: 0 and 0 when idle.
    var retainedState: (bufferedBytes: Int, pendingRequests: Int, heldResponses: Int) {
        (clientToServer.bufferedBytes + serverToClient.bufferedBytes, pending.count, heldResponses.count)
    }

    /// True when the guessed roles were found wrong and swapped.
    public var rolesSwapped: Bool { requestDirection != .clientToServer }

    // MARK: StreamConsumer

    public func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
        var index = 0
        while true {
            let event: HTTPMessageParser.Event?
            if direction == .clientToServer {
                event = clientToServer.next(bytes, index: &index, time: time)
            } else {
                event = serverToClient.next(bytes, index: &index, time: time)
            }
            guard let event else { break }
            handle(event, direction: direction, time: time)
            // All bytes read and no message under way: `next` would return nil with nothing to do (the
            // usual end of a delivery, one call saved).
            if index == bytes.count {
                if direction == .clientToServer {
                    if clientToServer.isIdle { break }
                } else if serverToClient.isIdle {
                    break
                }
            }
        }
    }

    /// Kept with the connection: exchanges carry it, for `HTTPExchange.callStart`.
    public func streamHandshakeEnd(time: Timestamp) {
        connection.handshakeEnd = time
    }

    // MARK: Events

    /// Inlined into `streamData`, its one caller, which calls it for every event (about four an
    /// exchange): the call and the event passed through registers cost more than the switch.
    @inline(__always)
    private func handle(_ event: HTTPMessageParser.Event, direction: StreamDirection, time: Timestamp) {
        switch event {
        case .head:
            // The parser left the head in the shared state: read (and moved out of) in place, never copied.
            let isRequest = shared.head.isRequest
            if !rolesSettled { settleRoles(firstHeadIsRequest: isRequest, direction: direction) }
            if !shared.head.anomalies.isEmpty {
                for anomaly in shared.head.anomalies { count(anomaly) }
            }
            let isRequestDirection = direction == requestDirection
            guard isRequest == isRequestDirection else {
                withParser(direction) { $0.loseSync(atLineStart: false) }
                lostSync(isRequestDirection ? .badRequestLine : .badStatusLine, direction: direction, time: time, sawGap: false)
                return
            }
            if isRequest {
                requestHead(&shared.head, time: time)
            } else {
                responseHead(&shared.head, time: time)
                // Parsed here, not in `responseHead`: their heads are read into the shared head.
                if case .some = sentBehindUpgradeRequest { parseSentBehindUpgradeRequest() }
            }
        case .body(let slice):
            appendBody(slice, direction: direction, time: time)
        case .lastBody(let slice):
            if direction != requestDirection, hasInFlight, !inFlight.unsafelyUnwrapped.isHeld,
                inFlight.unsafelyUnwrapped.body.canLend
            {
                // A whole response body in this delivery, emitted now: lent to the sink, not copied.
                // (No local reference to the response: it would keep the response from its pool.)
                inFlight!.body.lend(slice)
                responseCompleted(time: time)
                return
            }
            if direction == requestDirection { return requestCompleted(lastBody: slice, time: time) }
            appendBody(slice, direction: direction, time: time)
            responseCompleted(time: time)
        case .complete:
            if direction == requestDirection { requestCompleted(time: time) } else { responseCompleted(time: time) }
        case .lost(let reason):
            lostSync(reason, direction: direction, time: time, sawGap: false)
        case .anomaly(let reason):
            count(reason)
        case .http2Preface:
            http2Preface(direction: direction, time: time)
        case .tlsRecord:
            tlsRecord(direction: direction, time: time)
        case .otherProtocol:
            otherProtocol()
        case .proxyHeader:
            core.statistics.proxyProtocolHeaders += 1
        case .farFromSync:
            farFromSync(direction: direction)
        case .tunnel(let slice):
            tunnelData(slice, direction: direction, time: time)
        }
    }

    @inline(__always)
    private func appendBody(_ slice: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
        if direction == requestDirection {
            let spares = shared
            updateCurrentRequest { $0.body.append(slice, spares: spares); $0.lastByte = time }
        } else if case .some = inFlight {
            // Borrowed without a retain (the response is not let go during the call): through
            // `inFlight?.`, the response was retained and released around `append`.
            let spares = shared
            Unmanaged.passUnretained(inFlight.unsafelyUnwrapped)._withUnsafeGuaranteedRef {
                $0.body.append(slice, spares: spares)
                $0.lastByte = time
            }
        }
    }

    /// The first head on a connection whose roles were only guessed tells which side is the client.
    private func settleRoles(firstHeadIsRequest: Bool, direction: StreamDirection) {
        rolesSettled = true
        requestDirection = firstHeadIsRequest ? direction : direction.reversed
        if requestDirection == .clientToServer {
            clientToServer.expectedKind = .request
            serverToClient.expectedKind = .response
        } else {
            clientToServer.expectedKind = .response
            serverToClient.expectedKind = .request
            core.statistics.rolesSwapped += 1
        }
    }

    /// `head` is the shared head: its strings are moved into the request, not copied.
    private func requestHead(_ head: inout MessageHead, time: Timestamp) {
        if case .some = earlyAnswer { emitEarlyAnswer() }
        let parserLostSync = requestDirection == .clientToServer ? clientToServer.hasLostSync : serverToClient.hasLostSync
        let request = shared.makeRequest(
            bodyLimit: configuration.requestBodyPrefixLimit,
            firstByte: requestParserFirstByte ?? time, lastByte: time,
            isFirstOnConnection: requestsSeen == 0 && !parserLostSync, arrivedAfterLoss: recovering,
            isHead: head.isHead, isConnect: head.isConnect)
        // Every field of the summary written in place, the head's strings swapped in (moved, not copied).
        // Swapped too: the summary's are empty (taken when the last request was emitted), so the head is
        // left with empty strings that `reset` need not release, and no retain is made here.
        swap(&request.summary.method, &head.method)
        swap(&request.summary.version, &head.version)
        // The host is an absolute-form target's authority when there is one, else the `Host` header:
        // a proxy ignores `Host` then (RFC 9112 §3.2.2), and the authority is the URL the caller
        // called, which the reference reads (a `Host` set by hand goes to the proxy as is). A `Host`
        // not taken stays in the head, released when it is reset.
        if head.cachedTargetSlot >= 0 {  // copied from the cache entry straight into the summary
            let tookAuthority = shared.writeTarget(head.cachedTargetSlot, into: &request.summary)
            if !tookAuthority { takeHost(into: &request.summary, from: &head) }
        } else {
            // The head's own target swapped in (the summary's empty strings out), its authority too.
            swap(&request.summary.storedTarget, &head.target.storedTarget)
            swap(&request.summary.rawPath, &head.target.rawPath)
            swap(&request.summary.path, &head.target.path)
            swap(&request.summary.query, &head.target.query)
            if case .some = head.target.authority {
                swap(&request.summary.host, &head.target.authority)
            } else {
                takeHost(into: &request.summary, from: &head)
            }
            head.targetMayOwnStrings = false
        }
        // A CONNECT's target is an authority (RFC 9112 §3.2.3), not a path: Werkzeug's leading `/`
        // ("/partner.example:443") was written to the exchange log. The metrics never read it (a
        // CONNECT is not a call of the reference's: `ChannelMetrics` skips it).
        if head.isConnect { request.summary.path = request.summary.target }
        swap(&request.summary.userAgent, &head.userAgent)
        swap(&request.summary.methodCode, &head.methodCode)
        swap(&request.summary.tCode, &head.tCode)
        swap(&request.summary.contentType, &head.contentType)
        requestsSeen += 1

        // Request body length, RFC 9112 §6.3 items 3-7.
        var framing = HTTPMessageParser.BodyFraming.none
        var framingUsable = true
        switch head.transferEncoding {
        case .chunked:
            framing = .chunked
            if head.contentLength != .absent { count(.contentLengthWithTransferEncoding) }
        case .other:
            count(.badTransferEncoding)
            framingUsable = false
        case .absent:
            switch head.contentLength {
            case .absent: framing = .none
            case .valid(let length): framing = length > 0 ? .length(length) : .none
            case .invalid:
                count(.badContentLength)
                framingUsable = false
            case .conflicting:
                count(.conflictingContentLength)
                framingUsable = false
            }
        }
        if framing == .none && framingUsable && (head.isConnect || head.hasUpgradeHeader) {
            request.awaitsUpgradeDecision = true
            framing = .awaitUpgradeDecision
        }
        if framing == .none || framing == .awaitUpgradeDecision {
            request.isComplete = framingUsable
        }
        // Read after a response loss it came before: the order of arrival says nothing of what was answered.
        let answerMayBeLost = time.nanoseconds < responseLossTime
        if recovering {
            // A client that sends a request speaks HTTP/1: the server's first line was no HTTP/2 preface.
            if serverLineLossDeferred { countDeferredServerLineLoss() }
            if !hasInFlight && responseDirectionIsBetweenMessages && !answerMayBeLost {
                // The client sends a new request with no response under way: what it sent before is answered.
                settleRecovery()
                request.arrivedAfterLoss = recovering
            }
        }
        // While it waits, the request (its head's strings and itself) counts towards what the connections
        // keep together; past that bound no queue grows: a request behind waiting ones is taken as one
        // past a full queue, and one the bound has no room for even then is not kept at all (the first
        // request of each of 262,144 connections, a 64 KiB head each, would be 16 GiB).
        let cost = PendingRequest.keptCost(headLength: shared.lastHeadLength)
        let queueFull = pending.count >= configuration.maxPendingRequests
        if queueFull || (!pending.isEmpty && !shared.keptBytes.hasRoom(for: cost)) {
            count(queueFull ? .pendingQueueFull : .keptBytesLimit)
            emitRequestWithoutResponse(pending.removeFirst())
            // Its answer may still come: the waiting requests can no longer be paired by order alone.
            recovering = true
            for waiting in pending { waiting.arrivedAfterLoss = true }
            request.arrivedAfterLoss = true
        }
        if shared.keptBytes.hasRoom(for: cost) {
            request.chargeHead(cost)
            // The request's last use moves it into the queue (appended first, it was retained for the
            // queue and released at the end of the function). `currentRequest` is usually nil (moved out
            // at the last request's end): stored over without a release.
            if framingUsable && framing != .none && framing != .awaitUpgradeDecision {
                currentRequest.replaceNil(with: request)
            } else if case .some = currentRequest {
                currentRequest = nil
            }
            pending.append(consume request)
        } else {
            // Emitted unanswered now (its body, if any, is skipped); its answer may still come.
            count(.keptBytesLimit)
            currentRequest = nil
            recovering = true
            for waiting in pending { waiting.arrivedAfterLoss = true }
            request.arrivedAfterLoss = true
            emitRequestWithoutResponse(request)
        }
        if answerMayBeLost { giveUpAnswersOfEarlierLoss() }
        if framingUsable {
            let keepsEarlyBytes = framing == .awaitUpgradeDecision
            withParser(requestDirection) {
                $0.setFraming(framing)
                $0.keepsEarlyTunnelBytes = keepsEarlyBytes
            }
        } else {
            // The body length is unknown: what follows cannot be framed (a server answers 400 and closes).
            withParser(requestDirection) { $0.loseSync(atLineStart: false) }
            lostSync(nil, direction: requestDirection, time: time, sawGap: false)
        }
    }

    /// The host of a request without an absolute-form target: its `Host` header (moved in), or inside a
    /// CONNECT tunnel the authority the tunnel was opened for (the URL's, which the reference reads).
    @inline(__always)
    private func takeHost(into summary: inout HTTPRequestSummary, from head: inout MessageHead) {
        if case .some = tunnelAuthority {
            summary.host = tunnelAuthority
        } else {
            swap(&summary.host, &head.host)
        }
    }

    /// A response is being read.
    var hasInFlight: Bool { inFlight != nil }
}
