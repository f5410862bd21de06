/// A request body the client never finishes because the server answered first (RFC 9110 §10.1.1,
/// RFC 9112 §9.3): Go's net/http answers a handler that does not read the body without 100 Continue
/// and closes; Go's client and curl then send no body (captures/http/stacks/go.pcap).
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct EarlyAnswerTests {
    @Test func bodyWithheldAfterAFinalAnswerToExpectContinueIsNotTruncation() {
        let result = runSplitInvariant([
            .request("POST /api/order HTTP/1.1\r\nHost: x\r\nContent-Length: 20032\r\nExpect: 100-continue\r\n\r\n", at: 1000),
            .response("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", at: 2000),
            .end(.serverToClient, at: 3000),
            .end(.clientToServer, at: 3100),
        ])
        #expect(result.exchanges.map(\.completeness) == [.complete])
        #expect(result.exchanges.first?.response?.status == 200)
        #expect(result.exchanges.first?.request?.bodyLength == 0)
        #expect(result.exchanges.first?.request?.bodyTruncated == true)
        #expect(result.statistics.count(of: .truncatedMessage) == 0)
    }

    @Test func bodyCutShortAfterAnEarlyAnswerIsNotTruncation() {
        // RFC 9112 §9.3: a client that sees the server does not want the body ceases sending it.
        let result = runSplitInvariant([
            .request("POST /up HTTP/1.1\r\nContent-Length: 100\r\n\r\nfirst part", at: 1000),
            .response("HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", at: 2000),
            .end(.clientToServer, at: 3000),
            .end(.serverToClient, at: 3100),
        ])
        #expect(result.exchanges.map(\.completeness) == [.complete])
        #expect(result.exchanges.first?.request?.bodyLength == 10)
        #expect(result.statistics.count(of: .truncatedMessage) == 0)
    }

    @Test func bodyCutShortWithoutAnAnswerIsTruncation() {
        let result = runSplitInvariant([
            .request("POST /up HTTP/1.1\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", at: 1000),
            .response("HTTP/1.1 100 Continue\r\n\r\n", at: 1500),
            .request("first part", at: 1600),
            .end(.clientToServer, at: 3000),
            .end(.serverToClient, at: 3100),
        ])
        #expect(result.exchanges.map(\.completeness) == [.requestWithoutResponse])
        #expect(result.statistics.count(of: .truncatedMessage) == 1)
    }

    // Live (captures/parity/live-mixed-check.sh): Python's http.client sends a small JSON body in a
    // segment of its own, which Nagle holds until the head is acknowledged; nginx's `return` (and squid
    // relaying it) answered the head at once, so the body followed the whole answer. The exchange must
    // still carry the body: it holds the call's `method_code`.
    @Test func bodyAfterAWholeEarlyAnswerStaysWithItsRequest() {
        let body = #"{"method_code": "MP"}"#
        let result = runSplitInvariant([
            .request("POST /svc/post HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n", at: 1000),
            .response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"code\":0}", at: 2000),
            .request(body, at: 2100),
            .request("GET /next HTTP/1.1\r\nHost: x\r\n\r\n", at: 3000),
            .response("HTTP/1.1 204 No Content\r\n\r\n", at: 3100),
        ])
        #expect(result.exchanges.map(\.request?.path) == ["/svc/post", "/next"])
        #expect(result.exchanges.map(\.completeness) == [.complete, .complete])
        let first = result.exchanges.first?.request
        #expect(first?.bodyPrefix.text == body)
        #expect(first?.bodyLength == body.utf8.count)
        #expect(first?.bodyTruncated == false)
        // Timed as before: the request's last byte when the answer came (no negative duration).
        #expect(result.exchanges.first?.requestLastByte == ts(1000))
        #expect(result.exchanges.first?.responseLastByte == ts(2000))
        #expect(result.statistics.count(of: .truncatedMessage) == 0)
    }

    @Test func earlyAnswerToALargeUploadWaitsForItsEnd() {
        // A large upload answered early (a 413) and sent whole anyway: the exchange goes at the body's
        // end, its prefix as bounded as ever.
        var configuration = HTTPObserverConfiguration()
        configuration.requestBodyPrefixLimit = 8
        let result = runSplitInvariant([
            .request("POST /up HTTP/1.1\r\nContent-Length: 1000\r\n\r\n", at: 1000),
            .response("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n", at: 2000),
            .request("0123456789", at: 2100),
            .request(String(repeating: "z", count: 990), at: 9000),
        ], configuration: configuration)
        #expect(result.exchanges.count == 1)
        #expect(result.exchanges.first?.request?.bodyPrefix.text == "01234567")
        #expect(result.exchanges.first?.request?.bodyLength == 1000)
        #expect(result.exchanges.first?.requestLastByte == ts(1000))
    }

    @Test func earlyAnswerGoesWhenTheClientStopsSending() {
        let result = runSplitInvariant([
            .request("POST /up HTTP/1.1\r\nContent-Length: 100\r\n\r\n", at: 1000),
            .response("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", at: 2000),
            .request("part", at: 2100),
            .end(.clientToServer, at: 3000),
        ])
        #expect(result.exchanges.map(\.completeness) == [.complete])
        #expect(result.exchanges.first?.request?.bodyPrefix.text == "part")
        #expect(result.statistics.count(of: .truncatedMessage) == 0)
    }
}
