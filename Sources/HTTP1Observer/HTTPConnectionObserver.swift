/// One connection's HTTP/1.1 observer: both directions' parsers, the pending-request FIFO and the pairing rules.
import PacketDecoding
import TCPReassembly

/// Pairs each request with its response on one connection (RFC 9112 §9.3:
/// responses come in request order, so a FIFO of pending requests pairs
/// pipelined ones). Unpaired halves are emitted as such, never guessed.
///
/// After the request direction loses sync, requests may be missing: a
/// response that began before the next request we saw began cannot answer
/// it and is emitted alone (exact for clients that wait for each response;
/// a pipelining client that loses a request in a gap can still be mispaired).
/// After the response direction loses sync, the pending requests are given
/// up (`pending_dropped_after_loss`), since how many responses were lost is unknown.
public final class HTTPConnectionObserver: StreamConsumer {
    public let connection: ConnectionInfo
    private unowned let observer: HTTPObserver
    private let configuration: HTTPObserverConfiguration

    private var clientToServer: HTTPMessageParser
    private var serverToClient: HTTPMessageParser
    /// The physical direction that carries requests (differs from `.clientToServer` when guessed roles were wrong).
    private var requestDirection = StreamDirection.clientToServer
    private var rolesSettled: Bool
    private var pending: [PendingRequest] = []
    private var inFlight: InFlightResponse?
    /// The request whose body is being read.
    private var currentRequestSerial: Int?
    private var requestsSeen = 0
    /// The request direction lost sync and no response has been paired since.
    private var requestLossOutstanding = false
    private var requestDirectionEnded = false
    private var responseDirectionEnded = false

    init(connection: ConnectionInfo, observer: HTTPObserver) {
        self.connection = connection
        self.observer = observer
        configuration = observer.configuration
        rolesSettled = connection.roleSource != .firstSender
        let c2sKind: StartLineKind = rolesSettled ? .request : .either
        let s2cKind: StartLineKind = rolesSettled ? .response : .either
        clientToServer = HTTPMessageParser(
            expectedKind: c2sKind, maxHeaderBytes: configuration.maxHeaderBytes, maxHeaderCount: configuration.maxHeaderCount)
        serverToClient = HTTPMessageParser(
            expectedKind: s2cKind, maxHeaderBytes: configuration.maxHeaderBytes, maxHeaderCount: configuration.maxHeaderCount)
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
        }
    }

    public func streamGap(length: Int, direction: StreamDirection, time: Timestamp) {
        let outcome = withParser(direction) { $0.gap(length: length, time: time) }
        let isRequest = direction == requestDirection
        switch outcome {
        case .ignored:
            return
        case .absorbed, .completed, .completedThenLost:
            count(.gapInBody)
            if isRequest {
                updateCurrentRequest { $0.body.skipGap(length); $0.sawGap = true; $0.lastByte = time }
            } else {
                inFlight?.body.skipGap(length)
                inFlight?.sawGap = true
                inFlight?.lastByte = time
            }
        case .lost:
            break
        }
        switch outcome {
        case .completed:
            if isRequest { requestCompleted(time: time) } else { responseCompleted(time: time) }
        case .completedThenLost(let reason):
            if isRequest { requestCompleted(time: time) } else { responseCompleted(time: time) }
            lostSync(reason, direction: direction, time: time, sawGap: true)
        case .lost(let reason):
            lostSync(reason, direction: direction, time: time, sawGap: true)
        case .absorbed, .ignored:
            break
        }
    }

    public func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) {
        let outcome = withParser(direction) { $0.finish() }
        if direction == requestDirection {
            switch outcome {
            case .headIncomplete, .bodyIncomplete: count(.truncatedMessage)
            case .betweenMessages, .bodyComplete: break
            }
            currentRequestSerial = nil
            requestDirectionEnded = true
        } else {
            switch outcome {
            case .bodyComplete:
                responseCompleted(time: time)
            case .bodyIncomplete:
                count(.truncatedMessage)
                emitInFlight()
            case .headIncomplete:
                count(.truncatedMessage)
            case .betweenMessages:
                break
            }
            responseDirectionEnded = true
        }
        if responseDirectionEnded {
            // No response can come any more.
            flushPending()
        }
    }

    // MARK: Events

    private func handle(_ event: HTTPMessageParser.Event, direction: StreamDirection, time: Timestamp) {
        switch event {
        case .head(let head):
            if !rolesSettled { settleRoles(firstHeadIsRequest: head.isRequest, direction: direction) }
            for anomaly in head.anomalies { count(anomaly) }
            let isRequestDirection = direction == requestDirection
            guard head.isRequest == isRequestDirection else {
                withParser(direction) { $0.loseSync(atLineStart: false) }
                lostSync(isRequestDirection ? .badRequestLine : .badStatusLine, direction: direction, time: time, sawGap: false)
                return
            }
            if head.isRequest { requestHead(head, time: time) } else { responseHead(head, time: time) }
        case .body(let slice):
            if direction == requestDirection {
                updateCurrentRequest { $0.body.append(slice); $0.lastByte = time }
            } else {
                inFlight?.body.append(slice)
                inFlight?.lastByte = time
            }
        case .complete:
            if direction == requestDirection { requestCompleted(time: time) } else { responseCompleted(time: time) }
        case .lost(let reason):
            lostSync(reason, direction: direction, time: time, sawGap: false)
        case .anomaly(let reason):
            count(reason)
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
            observer.statistics.rolesSwapped += 1
        }
    }

    private func requestHead(_ head: MessageHead, time: Timestamp) {
        let target = RequestTarget(head.target)
        let summary = HTTPRequestSummary(
            method: head.method, target: head.target, rawPath: target.rawPath, path: target.path, query: target.query,
            version: head.version, host: head.host ?? target.authority, userAgent: head.userAgent,
            methodCode: head.methodCode, tCode: head.tCode, contentType: head.contentType, bodyPrefix: [],
            bodyLength: 0, bodyTruncated: false)
        let parserLostSync = requestDirection == .clientToServer ? clientToServer.hasLostSync : serverToClient.hasLostSync
        var request = PendingRequest(
            serial: requestsSeen, summary: summary, body: BodyPrefix(limit: configuration.requestBodyPrefixLimit),
            firstByte: requestParserFirstByte ?? time, lastByte: time,
            isFirstOnConnection: requestsSeen == 0 && !parserLostSync, arrivedAfterLoss: requestLossOutstanding,
            isHead: head.isHead, isConnect: head.isConnect, awaitsUpgradeDecision: false)
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
        if pending.count >= configuration.maxPendingRequests {
            count(.pendingQueueFull)
            emitRequestWithoutResponse(pending.removeFirst())
        }
        pending.append(request)
        currentRequestSerial = framingUsable && framing != .none && framing != .awaitUpgradeDecision ? request.serial : nil
        if framingUsable {
            withParser(requestDirection) { $0.setFraming(framing) }
        } else {
            // The body length is unknown: what follows cannot be framed (a server answers 400 and closes).
            withParser(requestDirection) { $0.loseSync(atLineStart: false) }
            lostSync(nil, direction: requestDirection, time: time, sawGap: false)
        }
    }

    private var requestParserFirstByte: Timestamp? {
        requestDirection == .clientToServer ? clientToServer.messageFirstByte : serverToClient.messageFirstByte
    }

    private var responseParserFirstByte: Timestamp? {
        requestDirection == .clientToServer ? serverToClient.messageFirstByte : clientToServer.messageFirstByte
    }

    private func responseHead(_ head: MessageHead, time: Timestamp) {
        let responseDirection = requestDirection.reversed
        let status = head.status
        if status >= 100 && status < 200 && status != 101 {
            // Interim response (RFC 9110 §15.2), e.g. 100 Continue: not the answer.
            observer.statistics.interimResponses += 1
            withParser(responseDirection) { $0.setFraming(.none) }
            return
        }
        let firstByte = responseParserFirstByte ?? time
        let request = takePairableRequest(responseFirstByte: firstByte)
        let isUpgrade = status == 101 || (request?.isConnect == true && status >= 200 && status < 300)
        let bodyless = request?.isHead == true || status == 101 || status == 204 || status == 304 || isUpgrade
        let body = BodyPrefix(
            contentEncoding: head.contentEncoding, rawLimit: configuration.responseBodyPrefixLimit,
            inflatedLimit: configuration.maxInflatedBytes)
        inFlight = InFlightResponse(
            request: request, status: status, contentType: head.contentType, contentEncoding: head.contentEncoding,
            body: body, bodyless: bodyless, firstByte: firstByte, lastByte: time)
        if isUpgrade {
            // RFC 9110 §7.8 / §9.3.6: after 101 or a successful CONNECT the bytes are no longer HTTP.
            observer.statistics.upgrades += 1
            clientToServer.stopParsing()
            serverToClient.stopParsing()
            currentRequestSerial = nil
            inFlight?.isComplete = true
            emitInFlight()
            return
        }
        if request?.awaitsUpgradeDecision == true {
            withParser(requestDirection) { $0.resumeAfterRefusedUpgrade() }
        }
        // Response body length, RFC 9112 §6.3 items 1-8.
        let framing: HTTPMessageParser.BodyFraming
        if bodyless {
            framing = .none
        } else {
            switch head.transferEncoding {
            case .chunked:
                framing = .chunked
                if head.contentLength != .absent { count(.contentLengthWithTransferEncoding) }
            case .other:
                framing = .untilClose
            case .absent:
                switch head.contentLength {
                case .absent: framing = .untilClose
                case .valid(let length): framing = length > 0 ? .length(length) : .none
                case .invalid:
                    count(.badContentLength)
                    framing = .untilClose
                case .conflicting:
                    count(.conflictingContentLength)
                    framing = .untilClose
                }
            }
        }
        withParser(responseDirection) { $0.setFraming(framing) }
        if framing == .none { responseCompleted(time: time) }
    }

    /// The oldest pending request, when it can be the one this response answers.
    private func takePairableRequest(responseFirstByte: Timestamp) -> PendingRequest? {
        guard let oldest = pending.first else { return nil }
        if oldest.arrivedAfterLoss, let requestStart = oldest.firstByte, responseFirstByte < requestStart {
            // It began before this request did: it answers a request lost in the gap.
            return nil
        }
        pending.removeFirst()
        if oldest.arrivedAfterLoss {
            requestLossOutstanding = false
            for i in pending.indices { pending[i].arrivedAfterLoss = false }
        }
        return oldest
    }

    private func requestCompleted(time: Timestamp) {
        updateCurrentRequest { $0.isComplete = true; $0.lastByte = time }
        currentRequestSerial = nil
    }

    private func responseCompleted(time: Timestamp) {
        guard inFlight != nil else { return }
        inFlight?.isComplete = true
        inFlight?.lastByte = time
        emitInFlight()
    }

    // MARK: Loss of sync

    /// A direction lost message boundaries (its parser is already resynchronising); `reason` is counted with `resync`.
    private func lostSync(_ reason: HTTPParseAnomaly?, direction: StreamDirection, time: Timestamp, sawGap: Bool) {
        if let reason { count(reason) }
        count(.resync)
        if direction == requestDirection {
            updateCurrentRequest { $0.sawGap = $0.sawGap || sawGap; $0.body.markIncomplete() }
            currentRequestSerial = nil
            requestLossOutstanding = true
        } else {
            if inFlight != nil {
                if sawGap { inFlight?.sawGap = true }
                emitInFlight()
            }
            if !pending.isEmpty {
                count(.pendingDroppedAfterLoss, times: pending.count)
                for i in pending.indices { pending[i].sawGap = pending[i].sawGap || sawGap }
                flushPending()
            }
        }
    }

    // MARK: Emitting

    private func emitInFlight() {
        guard let response = inFlight else { return }
        inFlight = nil
        if let anomaly = response.body.anomaly { count(anomaly) }
        var requestSummary: HTTPRequestSummary?
        if let request = response.request {
            if let anomaly = request.body.anomaly { count(anomaly) }
            requestSummary = request.finishedSummary()
            observer.statistics.exchangesComplete += 1
        } else {
            observer.statistics.responsesWithoutRequest += 1
        }
        emit(
            HTTPExchange(
                connection: connection, client: client, server: server, request: requestSummary,
                response: response.summary(), completeness: response.request == nil ? .responseWithoutRequest : .complete,
                sawGap: response.sawGap || response.request?.sawGap == true,
                isFirstOnConnection: response.request?.isFirstOnConnection ?? false,
                requestFirstByte: response.request?.firstByte, requestLastByte: response.request?.lastByte,
                responseFirstByte: response.firstByte, responseLastByte: response.lastByte))
    }

    private func flushPending() {
        let unanswered = pending
        pending.removeAll()
        for request in unanswered { emitRequestWithoutResponse(request) }
    }

    private func emitRequestWithoutResponse(_ request: PendingRequest) {
        if request.serial == currentRequestSerial { currentRequestSerial = nil }
        if let anomaly = request.body.anomaly { count(anomaly) }
        observer.statistics.requestsWithoutResponse += 1
        emit(
            HTTPExchange(
                connection: connection, client: client, server: server, request: request.finishedSummary(),
                response: nil, completeness: .requestWithoutResponse, sawGap: request.sawGap,
                isFirstOnConnection: request.isFirstOnConnection, requestFirstByte: request.firstByte,
                requestLastByte: request.lastByte, responseFirstByte: nil, responseLastByte: nil))
    }

    private func emit(_ exchange: HTTPExchange) {
        observer.sink.observe(exchange)
    }

    private var client: Endpoint { rolesSwapped ? connection.server : connection.client }
    private var server: Endpoint { rolesSwapped ? connection.client : connection.server }

    // MARK: Helpers

    /// Applies `change` to the request whose body is being read, wherever it waits.
    private func updateCurrentRequest(_ change: (inout PendingRequest) -> Void) {
        guard let serial = currentRequestSerial else { return }
        if let last = pending.indices.last, pending[last].serial == serial {
            change(&pending[last])
        } else if inFlight?.request?.serial == serial {
            change(&inFlight!.request!)
        }
    }

    private func withParser<R>(_ direction: StreamDirection, _ body: (inout HTTPMessageParser) -> R) -> R {
        direction == .clientToServer ? body(&clientToServer) : body(&serverToClient)
    }

    private func count(_ reason: HTTPParseAnomaly, times: Int = 1) {
        observer.statistics.record(reason, times: times)
    }
}
