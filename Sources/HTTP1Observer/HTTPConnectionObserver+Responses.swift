/// A response head on one connection: interim answers, upgrades, and the body framing it says.
import PacketDecoding
import TCPReassembly

extension HTTPConnectionObserver {
    /// `head` is the shared head: its strings are moved into the response, not copied.
    func responseHead(_ head: inout MessageHead, time: Timestamp) {
        let responseDirection = requestDirection.reversed
        let status = head.status
        if status >= 100 && status < 200 && status != 101 {
            // Interim response (RFC 9110 §15.2), e.g. 100 Continue: not the answer.
            core.statistics.interimResponses += 1
            withParser(responseDirection) { $0.setFraming(.none) }
            return
        }
        let firstByte = responseParserFirstByte ?? time
        let request = takePairableRequest()
        if status == 101 && head.upgradesToHTTP2, let upgraded = request {
            return upgradedToHTTP2(answering: upgraded)
        }
        // Held in recovery: framed as the oldest waiting request says, the best knowledge there is.
        // Its flags read in place (a reference to the request framed for was one more retain and release).
        let isHeld = request == nil && recovering
        var framedForHead = false
        var framedForConnect = false
        if case .some = request {
            framedForHead = request.unsafelyUnwrapped.isHead
            framedForConnect = request.unsafelyUnwrapped.isConnect
        } else if isHeld && !pending.isEmpty {
            framedForHead = pending[0].isHead
            framedForConnect = pending[0].isConnect
        }
        let isUpgrade = status == 101 || (framedForConnect && status >= 200 && status < 300)
        let bodyless = framedForHead || status == 101 || status == 204 || status == 304 || isUpgrade
        let refusedUpgrade = request?.awaitsUpgradeDecision == true
        // The request and the head's strings moved in (consumed): kept to the end of the function, they
        // were copied in and released there. (No response is under way: nil is not released.)
        inFlight.replaceNil(with: shared.makeResponse(
            request: consume request, status: status, contentType: head.contentType.take(),
            contentEncoding: head.contentEncoding.take(), rawLimit: configuration.responseBodyPrefixLimit,
            inflatedLimit: configuration.maxInflatedBytes, bodyless: bodyless, firstByte: firstByte, lastByte: time,
            isHeld: isHeld && !isUpgrade))
        if isUpgrade {
            // RFC 9110 §7.8 / §9.3.6: after 101 or a successful CONNECT the bytes are no longer HTTP.
            core.statistics.upgrades += 1
            // A CONNECT's 2xx: the tunnel's stream follows, read as a connection of its own.
            if status != 101 { openTunnel(answeredAt: time) } else { stopParsing() }
            inFlight?.isComplete = true
            emitInFlight()
            if recovering { giveUpRecovery() }
            return
        }
        if refusedUpgrade {
            if framedForConnect {
                // Bytes an optimistic client sent after its CONNECT are not HTTP (its TLS ClientHello): lost.
                if withParser(requestDirection, { $0.resumeAfterRefusedUpgrade() }) { count(.bytesWhileAwaitingUpgrade) }
            } else {
                // After a refused `Upgrade` they are the requests the client pipelined behind it: before,
                // they were dropped and the direction resynchronised past the first of them, whose answer
                // then had no request (captures/http/upgrade-refused-pipelined.pcap, from captures/scripts/http_campaign.py).
                sentBehindUpgradeRequest = withParser(requestDirection) { $0.endAwaitingProtocolUpgrade() }
            }
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

    /// The requests a client pipelined behind an `Upgrade` request that was refused (or before it ended
    /// its side), parsed at the times they came, once the refusal's head is read (they then wait for
    /// their answers behind it). Out of line: rare.
    @inline(never)
    func parseSentBehindUpgradeRequest() {
        guard let sent = sentBehindUpgradeRequest.take() else { return }
        sent.bytes.withUnsafeBytes { bytes in
            var start = 0
            for piece in sent.pieces {
                streamData(UnsafeRawBufferPointer(rebasing: bytes[start..<piece.end]), direction: requestDirection, time: piece.time)
                start = piece.end
            }
        }
    }

    /// h2c (RFC 7540 §3.2): this 101 is not the request's answer, which comes on HTTP/2 stream 1 and
    /// is not read here; the request is left unanswered rather than answered with a status the
    /// service never gave (a WebSocket's 101 is its handshake's answer, in `responseHead`).
    /// Out of line: rare, and kept out of `responseHead`.
    @inline(never)
    func upgradedToHTTP2(answering upgraded: PendingRequest) {
        core.statistics.upgrades += 1
        core.statistics.http2Connections += 1
        stopParsing()
        emitRequestWithoutResponse(upgraded)
        if recovering { giveUpRecovery() }
    }
}
