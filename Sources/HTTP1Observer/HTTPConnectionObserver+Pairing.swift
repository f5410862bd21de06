/// Loss of sync, recovery without guessing, and emitting exchanges for one connection.
import PacketDecoding
import TCPReassembly

// After a direction loses sync, how many requests or responses vanished is
// unknown, so responses cannot be paired with later requests by order alone.
// The observer then holds the responses it cannot pair for sure and waits
// for quiescence: a new request head arriving while no response is under way
// (the client has had every answer it waited for). At that moment each
// waiting request has been answered, and the extra responses at the front of
// the held list answer requests lost in a gap (or dropped after a response
// loss): held and waiting lists are aligned at their ends. Fewer held
// responses than waiting requests means answers are still to come (a
// pipelining client): the settlement waits for a later quiescence. A pairing
// that contradicts packet times (a response beginning before its request) is
// not sure: everything is emitted unpaired instead. When the response
// direction ends, the settlement runs once more and whatever is not sure is
// emitted unpaired.
extension HTTPConnectionObserver {
    /// A direction lost message boundaries (its parser is already resynchronising); `reason` is counted with `resync`.
    func lostSync(_ reason: HTTPParseAnomaly?, direction: StreamDirection, time: Timestamp, sawGap: Bool) {
        if direction != requestDirection && requestsSeen == 0 && reason == .badStatusLine
            && (withParser(direction, { $0.firstLineMayBeHTTP2Settings }) || serverSpokeFirst())
        {
            // A server's HTTP/2 preface (SETTINGS) before the client's, perhaps, or the banner of a server
            // that speaks first (SSH, SMTP, MySQL): counted when the client shows it speaks HTTP/1
            // (`countDeferredServerLineLoss`), not if its preface comes or its first line is no HTTP/1.
            serverLineLossDeferred = true
        } else {
            countDeferredServerLineLoss()
            if let reason { count(reason) }
            count(.resync)
        }
        if direction == requestDirection {
            updateCurrentRequest { $0.sawGap = $0.sawGap || sawGap; $0.body.markIncomplete() }
            currentRequest = nil
            if case .some = earlyAnswer { emitEarlyAnswer() }
            // Already recovering: requests lost now came after the waiting ones, and their answers would
            // stand at the end of the held responses, where the settlement looks for the waiting ones'.
            if recovering { giveUpRecovery() }
        } else {
            if hasInFlight {
                if sawGap { inFlight?.sawGap = true }
                inFlight?.isHeld = false
                emitInFlight()
            }
            // Which of the waiting requests lost their responses is unknown: give them all up.
            if !pending.isEmpty {
                count(.pendingDroppedAfterLoss, times: pending.count)
                for i in pending.indices { pending[i].sawGap = pending[i].sawGap || sawGap }
                flushPending()
            }
            emitHeldUnpaired()
        }
        // Requests already waiting keep their flags: those from before any loss are answered first, in order.
        recovering = true
    }

    /// The server's first line was no status line and the client, read from its start, has sent
    /// nothing yet: no HTTP/1 server speaks first, so any rejection of the client's first line now
    /// shows another protocol (see `HTTPMessageParser+OtherProtocol`). Out of line: rare.
    @inline(never)
    private func serverSpokeFirst() -> Bool {
        guard clientToServer.otherProtocolCheck != .off, clientToServer.isIdle, clientToServer.headBytes == 0 else {
            return false
        }
        clientToServer.otherProtocolCheck = .wholeLine
        return true
    }

    /// The client's first bytes are not HTTP/2's preface (or the connection ended without them): the
    /// server's first line, whose loss of sync was held back, was a bad status line after all.
    /// (Out of line: callers test `serverLineLossDeferred` first, on paths every connection takes.)
    @inline(never)
    func countDeferredServerLineLoss() {
        guard serverLineLossDeferred else { return }
        serverLineLossDeferred = false
        count(.badStatusLine)
        count(.resync)
    }

    /// Pairs the held responses with the requests that arrived after the loss, aligned at the end (see above).
    func settleRecovery(atEnd: Bool = false) {
        // Requests from before the loss still wait: their responses come first, nothing to settle yet.
        if !atEnd, pending.contains(where: { !$0.arrivedAfterLoss }) { return }
        let waiting = pending.filter(\.arrivedAfterLoss)
        let held = heldResponses
        let extra = held.count - waiting.count
        var sure = extra >= 0
        if sure {
            for (i, request) in waiting.enumerated() {
                let response = held[extra + i]
                if let requestStart = request.firstByte, let responseStart = response.firstByte, responseStart < requestStart {
                    sure = false
                    break
                }
            }
        }
        if !sure && !atEnd && held.count < waiting.count {
            // Answers still to come (a pipelining client): wait for a later quiescence.
            return
        }
        pending.removeAll { $0.arrivedAfterLoss }
        heldResponses.removeAll()
        recovering = false
        if sure {
            for response in held.prefix(extra) { emit(response, answering: nil) }
            for (i, request) in waiting.enumerated() { emit(held[extra + i], answering: request) }
        } else {
            for response in held { emit(response, answering: nil) }
            for request in waiting { emitRequestWithoutResponse(request) }
        }
    }

    /// A response that cannot be held (upgrade), or too many held: nothing waiting can be paired for sure.
    func giveUpRecovery() {
        emitHeldUnpaired()
        let waiting = pending.filter(\.arrivedAfterLoss)
        pending.removeAll { $0.arrivedAfterLoss }
        if !waiting.isEmpty { count(.pendingDroppedAfterLoss, times: waiting.count) }
        for request in waiting { emitRequestWithoutResponse(request) }
    }

    /// A request read after a response loss it came before (it waited behind a hole of its own
    /// direction): its answer, and those of the requests waiting with it, may be in that loss, and the
    /// next response may answer a request after it. (Live, under kernel drops: a request held behind a
    /// hole until the server's acknowledgment passed it, read after the server's gap, was paired with
    /// the answer to the next request, 67 times in 9,473 exchanges of a replayed capture.)
    func giveUpAnswersOfEarlierLoss() {
        if !pending.isEmpty {
            count(.pendingDroppedAfterLoss, times: pending.count)
            for i in pending.indices { pending[i].sawGap = true }
            flushPending()
        }
        emitHeldUnpaired()
        recovering = true
    }

    private func emitHeldUnpaired() {
        let held = heldResponses
        heldResponses.removeAll()
        for response in held { emit(response, answering: nil) }
    }

    // MARK: Emitting

    func emitInFlight() {
        guard hasInFlight else { return }
        if inFlight!.isHeld {
            // Emitted after this delivery: a lent body must be the response's own by then.
            inFlight!.body.materialize(spares: shared)
            heldResponses.append(inFlight.take()!)
            // Held answers cover the waiting requests (at most maxPendingRequests) and as many lost ones.
            if heldResponses.count > 2 * configuration.maxPendingRequests {
                count(.pendingQueueFull)
                giveUpRecovery()
            }
            return
        }
        if case .some = currentRequest, inFlight.unsafelyUnwrapped.request === currentRequest {
            // Answered before its body ended (nginx's `return`, squid, a 413): the body may still
            // carry the request's `method_code`. Emitted when the body ends (`+EarlyAnswers`).
            return holdEarlyAnswer()
        }
        // `let`s: emitted from a `var`, the response was retained and released around `emit`.
        let response = inFlight.take().unsafelyUnwrapped
        let request = response.request.take()
        emit(response, answering: request)
        // The common end of an exchange: both halves back to their pools, unless something still refers to them.
        shared.recycle(ifUnique: consume request)
        shared.recycle(ifUnique: response)
    }

    /// Emits `response` (moving its summary out) with the request it answers, if any.
    func emit(_ response: InFlightResponse, answering request: PendingRequest?) {
        if let anomaly = response.body.anomaly { count(anomaly) }
        if let request {
            if let anomaly = request.body.anomaly { count(anomaly) }
            if response.cutShort {
                core.statistics.responsesIncomplete += 1
            } else {
                core.statistics.exchangesComplete += 1
            }
        } else {
            core.statistics.responsesWithoutRequest += 1
        }
        // One initializer call on the summaries as returned (owned), into a `let`: built empty and then
        // filled through `inout` optionals, or passed to the sink as a `var` changed afterwards, the
        // exchange or its summaries were copied whole (every string retained and released once more).
        // Read before the summary moves the body out (which forgets it).
        let lentBody = response.body.lent
        if case .some = request {
            // Two exchanges built, one for each case: with `request?.takeSummary()` the summary was made
            // optional first, and copied once more (a memcpy of its 193 bytes) on its way into the exchange.
            // Unwrapped in place: `if let` retained and released the request.
            let request = request.unsafelyUnwrapped
            let exchange = HTTPExchange(
                connection: connection, client: client, server: server, request: request.takeSummary(),
                response: response.takeSummary(), completeness: response.cutShort ? .responseIncomplete : .complete,
                sawGap: response.sawGap || request.sawGap, isFirstOnConnection: request.isFirstOnConnection,
                requestFirstByte: request.firstByte, requestLastByte: request.lastByte,
                responseFirstByte: response.firstByte, responseLastByte: response.lastByte)
            core.deliver(exchange, responseBody: lentBody)
            // The sink is done with the exchange: gone now, its body buffers serve the next bodies (unless
            // the sink kept a copy: then they are copied when emptied).
            core.endedExchange.discard(exchange, reclaimingBodiesInto: shared)
        } else {
            let exchange = HTTPExchange(
                connection: connection, client: client, server: server, request: nil,
                response: response.takeSummary(), completeness: .responseWithoutRequest, sawGap: response.sawGap,
                isFirstOnConnection: false, requestFirstByte: nil, requestLastByte: nil,
                responseFirstByte: response.firstByte, responseLastByte: response.lastByte)
            core.deliver(exchange, responseBody: lentBody)
            core.endedExchange.discard(exchange, reclaimingBodiesInto: shared)
        }
    }

    func flushPending() {
        // Usually nothing waits: the queue keeps its buffer (a spare observer reuses it).
        guard !pending.isEmpty else { return }
        let unanswered = pending
        pending.removeAll()
        for request in unanswered { emitRequestWithoutResponse(request) }
    }

    func emitRequestWithoutResponse(_ request: PendingRequest) {
        if request === currentRequest { currentRequest = nil }
        if let anomaly = request.body.anomaly { count(anomaly) }
        core.statistics.requestsWithoutResponse += 1
        let exchange = HTTPExchange(
            connection: connection, client: client, server: server, request: request.takeSummary(),
            response: nil, completeness: .requestWithoutResponse, sawGap: request.sawGap,
            isFirstOnConnection: request.isFirstOnConnection, requestFirstByte: request.firstByte,
            requestLastByte: request.lastByte, responseFirstByte: nil, responseLastByte: nil)
        core.deliver(exchange, responseBody: nil)
    }

    private var client: Endpoint { rolesSwapped ? connection.server : connection.client }
    private var server: Endpoint { rolesSwapped ? connection.client : connection.server }

    // MARK: Helpers

    /// Applies `change` to the request whose body is being read, wherever it waits.
    func updateCurrentRequest(_ change: (PendingRequest) -> Void) {
        if let request = currentRequest { change(request) }
    }

    var requestParserFirstByte: Timestamp? {
        requestDirection == .clientToServer ? clientToServer.messageFirstByte : serverToClient.messageFirstByte
    }

    var responseDirectionIsBetweenMessages: Bool {
        requestDirection == .clientToServer ? serverToClient.isBetweenMessages : clientToServer.isBetweenMessages
    }

    var responseParserFirstByte: Timestamp? {
        requestDirection == .clientToServer ? serverToClient.messageFirstByte : clientToServer.messageFirstByte
    }

    func withParser<R>(_ direction: StreamDirection, _ body: (inout HTTPMessageParser) -> R) -> R {
        direction == .clientToServer ? body(&clientToServer) : body(&serverToClient)
    }

    func count(_ reason: HTTPParseAnomaly, times: Int = 1) {
        core.statistics.record(reason, times: times)
    }

    /// The oldest pending request, when it is for sure the one this response answers: it arrived before any loss.
    /// Inlined into its one caller (a response head): a few tests and a move, where the call cost as much.
    @inline(__always)
    func takePairableRequest() -> PendingRequest? {
        // Read in place (`pending.first` bound a reference: a retain and a release per response).
        guard !pending.isEmpty, !pending[0].arrivedAfterLoss else { return nil }
        // One waiting request (no pipelining) is the common case: it is in the queue's own slot.
        return pending.removeFirst()
    }

    func requestCompleted(time: Timestamp) {
        // Moved out of `currentRequest`, which the request leaves anyway: bound in place (`updateCurrentRequest`)
        // and then set to nil, it was retained and released once more.
        guard case .some = currentRequest else { return }
        let request = currentRequest.take().unsafelyUnwrapped
        request.isComplete = true
        request.lastByte = time
        if case .some = earlyAnswer { emitEarlyAnswer() }
    }

    /// `appendBody` of the request's last bytes, then `requestCompleted`, with one move of the request.
    func requestCompleted(lastBody slice: UnsafeRawBufferPointer, time: Timestamp) {
        guard case .some = currentRequest else { return }
        let request = currentRequest.take().unsafelyUnwrapped
        request.body.append(slice, spares: shared)
        request.isComplete = true
        request.lastByte = time
        if case .some = earlyAnswer { emitEarlyAnswer() }
    }

    func responseCompleted(time: Timestamp) {
        guard hasInFlight else { return }
        inFlight?.isComplete = true
        inFlight?.lastByte = time
        emitInFlight()
    }
}
