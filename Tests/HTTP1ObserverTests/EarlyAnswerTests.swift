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
}
