/// Gaps and ends of a connection's two directions, and the end of HTTP/1 on it: what a loss, a closed
/// direction or HTTP/2 means for the message under way and the requests still waiting.
import PacketDecoding
import TCPReassembly

extension HTTPConnectionObserver {
    public func streamGap(length: Int, direction: StreamDirection, time: Timestamp) {
        let outcome = withParser(direction) { $0.gap(length: length, time: time) }
        let isRequest = direction == requestDirection
        switch outcome {
        case .ignored:
            if case .some = tunnel { tunnelGap(length: length, direction: direction, time: time) }
            return
        case .whileResynchronising:
            // The direction was already looking for a start line, but pairing may be back to plain
            // order since (a request arrived with no response under way: `settleRecovery`). Messages
            // in this gap are then lost unseen: a response, and the next one found would answer the
            // request it belonged to; a request, and its answer would go to the next one waiting.
            // (A real tcpdump -s 300 capture paired POST /api/v1/pay with the 400 of the next
            // request: captures/http/snaplen/.) So it is a loss like any other, while recovering too:
            // the held responses settle the waiting requests aligned at their ends, which holds only
            // when no response of theirs and no request after them went unseen. (Live, a kernel that
            // dropped runs of packets lost a request, then a response, on one connection: the request
            // the lost response answered was paired with the next one found, 71 times in 53,215.)
            if !isRequest { responseLossTime = time.nanoseconds }
            guard isRequest || !pending.isEmpty else { return }
            lostSync(.gapInHeaders, direction: direction, time: time, sawGap: true)
            return
        case .absorbed, .completed, .completedThenLost:
            count(.gapInBody)
            var bodyBytes = length
            if case .completedThenLost(_, let inBody) = outcome { bodyBytes = inBody }
            if isRequest {
                updateCurrentRequest { $0.body.skipGap(bodyBytes); $0.sawGap = true; $0.lastByte = time }
            } else {
                inFlight?.body.skipGap(bodyBytes)
                inFlight?.sawGap = true
                inFlight?.lastByte = time
            }
        case .lost:
            break
        }
        switch outcome {
        case .completed:
            if isRequest { requestCompleted(time: time) } else { responseCompleted(time: time) }
        case .completedThenLost(let reason, _):
            if isRequest { requestCompleted(time: time) } else { responseCompleted(time: time) }
            if !isRequest { responseLossTime = time.nanoseconds }
            lostSync(reason, direction: direction, time: time, sawGap: true)
        case .lost(let reason):
            if !isRequest { responseLossTime = time.nanoseconds }
            lostSync(reason, direction: direction, time: time, sawGap: true)
        case .absorbed, .ignored, .whileResynchronising:
            break
        }
    }

    public func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) {
        let wasOpen = !(requestDirectionEnded && responseDirectionEnded)
        if direction == requestDirection, !pending.isEmpty, pending[pending.count &- 1].awaitsUpgradeDecision,
            !pending[pending.count &- 1].isConnect
        {
            // The client ended its side before the answer to its `Upgrade` request came (a half-close
            // after its last request): what it pipelined behind it is HTTP/1.1 whatever the answer, and
            // is read now, before the end lets it go.
            sentBehindUpgradeRequest = withParser(direction) { $0.endAwaitingProtocolUpgrade() }
            parseSentBehindUpgradeRequest()
        }
        let outcome = withParser(direction) { $0.finish() }
        if direction == requestDirection {
            switch outcome {
            case .headIncomplete: count(.truncatedMessage)
            case .bodyIncomplete: if !currentRequestWasAnswered { count(.truncatedMessage) }
            case .betweenMessages, .bodyComplete: break
            }
            currentRequest = nil
            if case .some = earlyAnswer { emitEarlyAnswer() }
            requestDirectionEnded = true
            // The client's preface cannot come any more.
            if serverLineLossDeferred { countDeferredServerLineLoss() }
        } else {
            switch outcome {
            case .bodyComplete:
                responseCompleted(time: time)
            case .bodyIncomplete:
                count(.truncatedMessage)
                inFlight?.cutShort = true
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
            if recovering { settleRecovery(atEnd: true) }
            flushPending()
        }
        // Both directions have ended: no more calls come (`StreamConsumer`), so this observer can serve
        // a later connection once its owner lets it go (`HTTPObserverCore.takeSpareConnection`).
        if case .some = tunnel {
            tunnelEnd(
                direction: direction, reason: reason, time: time, bothEnded: requestDirectionEnded && responseDirectionEnded)
        }
        if wasOpen && requestDirectionEnded && responseDirectionEnded { core.keepSpareConnection(self) }
    }

    /// The request whose body is being read already has its final response (paired, so no longer
    /// waiting): a client may then withhold the rest of the body and close (RFC 9110 §10.1.1 after
    /// `Expect: 100-continue`, RFC 9112 §9.3), as Go's client and curl do when Go's net/http answers
    /// without reading the body. Not a truncated message. (While recovering, pairing is not sure:
    /// such a request still waits, and an end inside its body counts as truncation.)
    var currentRequestWasAnswered: Bool {
        guard let current = currentRequest else { return false }
        return !pending.contains { $0 === current }
    }

    /// HTTP ends on this connection (an upgrade, a tunnel, HTTP/2): neither direction is parsed any more.
    /// (Out of line: rare, and kept out of `responseHead`.)
    @inline(never)
    func stopParsing() {
        clientToServer.stopParsing()
        serverToClient.stopParsing()
        currentRequest = nil
        if case .some = earlyAnswer { emitEarlyAnswer() }
    }

    /// The client began with HTTP/2's connection preface (RFC 9113 §3.4; HTTP/2 over cleartext with
    /// prior knowledge, §3.3): nothing on this connection is HTTP/1 any more, and it is not decoded.
    /// Taken at the start of the connection (no request read yet), or where a direction that lost
    /// sync finds it; after requests read in sync it is not where HTTP/2 begins (an h2c upgrade's
    /// preface follows its 101, after which nothing is parsed), and it is a bad request line as before.
    @inline(never)
    func http2Preface(direction: StreamDirection, time: Timestamp) {
        guard requestsSeen == 0 || withParser(direction, { $0.isResynchronising }) else {
            return badLineAfterRequests(.badRequestLine, direction: direction, time: time)
        }
        core.statistics.http2Connections += 1
        // A bad first line from the server was its HTTP/2 preface: not counted.
        endHTTP1()
    }

    /// A direction began with a TLS record (see `HTTPMessageParser+TLSRecord`): the connection is
    /// encrypted, nothing on it can be read, and it is counted once as such, not as bad lines and a
    /// search for a start line through every byte it carries. After requests read in sync, TLS does
    /// not begin there (an upgrade to TLS ends parsing at its 101): a bad line as before.
    @inline(never)
    func tlsRecord(direction: StreamDirection, time: Timestamp) {
        guard requestsSeen == 0 else {
            return badLineAfterRequests(
                direction == requestDirection ? .badRequestLine : .badStatusLine, direction: direction, time: time)
        }
        core.statistics.tlsConnections += 1
        endHTTP1()
    }

    /// The client's first line, read from the connection's start, is no HTTP/1, or both directions of
    /// a connection picked up mid-stream skipped the limit without a head (see
    /// `HTTPMessageParser+OtherProtocol`): the connection carries another protocol, counted once as
    /// such, and nothing on it is read any more.
    @inline(never)
    func otherProtocol() {
        core.statistics.otherProtocolConnections += 1
        endHTTP1()
    }

    /// A direction of a connection picked up mid-stream skipped the limit without a head read in sync:
    /// when the other has too and is still resynchronising, the connection carries another protocol.
    /// (Out of line: rare, and kept out of `streamData`'s event switch.)
    @inline(never)
    func farFromSync(direction: StreamDirection) {
        if withParser(direction.reversed, { $0.isFarFromSync }) { otherProtocol() }
    }

    /// Another protocol's opening (HTTP/2's preface, a TLS record) after requests read in sync is not
    /// where that protocol begins: the line is a bad one, as the start line scanner's rejection was.
    private func badLineAfterRequests(_ reason: HTTPParseAnomaly, direction: StreamDirection, time: Timestamp) {
        withParser(direction) { $0.loseSync(atLineStart: false) }
        lostSync(reason, direction: direction, time: time, sawGap: false)
    }

    /// Nothing on this connection is HTTP/1 (HTTP/2, TLS, another protocol): both directions stop; a
    /// bad first line the server's direction held back (a possible HTTP/2 preface, a server that spoke
    /// first) is part of it, not counted; a
    /// response under way when a direction that lost sync found it ends here.
    private func endHTTP1() {
        serverLineLossDeferred = false
        stopParsing()
        if hasInFlight {
            inFlight?.cutShort = true
            emitInFlight()
        }
        if recovering { giveUpRecovery() }
    }
}
