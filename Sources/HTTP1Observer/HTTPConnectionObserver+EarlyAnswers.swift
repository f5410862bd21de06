/// Responses that come before their request's body has ended, held until it has.
import TCPReassembly

// A server may answer before it has read the request's body (RFC 9110 §15 lets it; nginx's `return`,
// squid relaying such an answer, a 413), and a client whose small body leaves in a segment of its own
// (Python's http.client sends the head and the body apart; Nagle holds the body until the head is
// acknowledged, and the answer carries the acknowledgment) then sends the body after the whole
// answer. Emitted at the answer's end, the exchange lost what the body says: the reference reads the
// body the caller passed (`json=`), and its `method_code` was missing (live: 37 of 44 such calls
// through a CONNECT tunnel, and as many direct and plain ones). So the complete answer waits for the
// body's end, or for the request direction to end, lose sync or stop being HTTP (a client that
// stops sending a body the server refused closes). Not for its kept prefix to fill: where a delivery
// ends would then decide the body length the exchange carries. One answer a connection at most.
// The request's last byte stays what it was when the answer ended, as before: an inbound call's
// duration (first answer byte − last request byte) is unchanged, never negative for it.
extension HTTPConnectionObserver {
    /// `inFlight` is complete and answers `currentRequest`, whose body is still being read: held.
    /// (Out of line: rare, and kept out of `emitInFlight`.)
    @inline(never)
    func holdEarlyAnswer() {
        // A lent body must be the response's own by the time it is emitted (after this delivery).
        inFlight!.body.materialize(spares: shared)
        if case .some = earlyAnswer { emitEarlyAnswer() }
        earlyAnswerRequestLastByte = currentRequest?.lastByte
        earlyAnswer = inFlight.take()
    }

    /// The held answer, emitted with its request as that request now stands.
    @inline(never)
    func emitEarlyAnswer() {
        guard let response = earlyAnswer.take() else { return }
        let request = response.request.take()
        request?.lastByte = earlyAnswerRequestLastByte
        emit(response, answering: request)
    }
}
