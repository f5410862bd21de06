/// Body framing (RFC 9112 §6) and pairing of ordinary exchanges, each checked for split invariance.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct FramingTests {
    @Test func simpleGetIsPairedWithEveryField() {
        let result = runSplitInvariant(
            [
                .request("GET /a%20b/c?x=1&y=2 HTTP/1.1\r\nHost: svc:8080\r\nUser-Agent: curl/8.5.0\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"code\":0}\n", at: 2000),
            ] + Step.endBoth(at: 3000))
        let expected = HTTPExchange(
            connection: connectionInfo(), client: testClient, server: testServer,
            request: HTTPRequestSummary(
                method: "GET", target: "/a%20b/c?x=1&y=2", rawPath: "/a%20b/c", path: "/a b/c", query: "x=1&y=2",
                version: "HTTP/1.1", host: "svc:8080", userAgent: "curl/8.5.0", methodCode: nil, tCode: nil,
                contentType: nil, bodyPrefix: [], bodyLength: 0, bodyTruncated: false),
            response: HTTPResponseSummary(
                status: 200, contentType: "application/json", contentEncoding: nil, bodyPrefix: Array("{\"code\":0}\n".utf8),
                bodyLength: 11, bodyTruncated: false, bodyless: false),
            completeness: .complete, sawGap: false, isFirstOnConnection: true, requestFirstByte: ts(1000),
            requestLastByte: ts(1000), responseFirstByte: ts(2000), responseLastByte: ts(2000))
        #expect(result.exchanges == [expected])
        #expect(result.statistics.exchangesComplete == 1)
        #expect(result.statistics.anomalies.isEmpty)
    }

    @Test func postWithContentLengthKeepsBodyAndTimesOfEachPart() {
        let result = runSplitInvariant(
            [
                .request("POST /v1/pay HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n", at: 1000),
                .request("{\"method_code\":\"M1\"}", at: 1100),
                .response("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n", at: 5000),
                .response("ok", at: 5200),
            ] + Step.endBoth(at: 9000))
        #expect(result.exchanges.count == 1)
        let e = result.exchanges[0]
        #expect(e.request?.bodyPrefix.text == "{\"method_code\":\"M1\"}")
        #expect(e.request?.bodyLength == 20)
        #expect(e.request?.contentType == "application/json")
        #expect(e.response?.status == 201)
        #expect(e.response?.bodyPrefix.text == "ok")
        #expect([e.requestFirstByte, e.requestLastByte, e.responseFirstByte, e.responseLastByte] == [ts(1000), ts(1100), ts(5000), ts(5200)])
    }

    @Test func chunkedWithExtensionsAndTrailersIsDechunked() {
        let result = runSplitInvariant(
            [
                .request("GET / HTTP/1.1\r\nHost: h\r\n\r\n", at: 1000),
                .response(
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
                        + "5;name=value\r\n{\"cod\r\n" + "A ; x=\"y\"\r\ne\":7, \"a\":\r\n" + "2\r\n1}\r\n"
                        + "0\r\nExpires: never\r\nX-Trailer: 1\r\n\r\n", at: 2000),
                .request("GET /next HTTP/1.1\r\nHost: h\r\n\r\n", at: 3000),
                .response("HTTP/1.1 204 No Content\r\n\r\n", at: 4000),
            ])
        #expect(result.exchanges.count == 2)
        #expect(result.exchanges[0].response?.bodyPrefix.text == "{\"code\":7, \"a\":1}")
        #expect(result.exchanges[0].response?.bodyLength == 17)
        #expect(result.exchanges[0].response?.bodyTruncated == false)
        #expect(result.exchanges[1].request?.path == "/next")
        #expect(result.exchanges[1].response?.status == 204)
        #expect(result.statistics.anomalies.isEmpty)
    }

    @Test func chunkedRequestBodyAndTransferEncodingBeatsContentLength() {
        let result = runSplitInvariant([
            .request(
                "POST /x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", at: 1000),
            .request("GET /y HTTP/1.1\r\n\r\n", at: 1500),
            .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
        ])
        #expect(result.exchanges.map { $0.request?.path } == ["/x", "/y"])
        #expect(result.exchanges[0].request?.bodyPrefix.text == "abcd")
        #expect(result.statistics.count(of: .contentLengthWithTransferEncoding) == 1)
    }

    @Test func headResponseHasNoBodyDespiteContentLength() {
        let result = runSplitInvariant([
            .request("HEAD /big HTTP/1.1\r\n\r\nGET /small HTTP/1.1\r\n\r\n", at: 1000),
            .response("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", at: 2000),
            .response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", at: 3000),
        ])
        #expect(result.exchanges.map { $0.response?.bodyless } == [true, false])
        #expect(result.exchanges.map { $0.response?.bodyLength } == [0, 2])
        #expect(result.exchanges[1].response?.bodyPrefix.text == "hi")
        #expect(result.exchanges[1].isFirstOnConnection == false)
    }

    @Test(arguments: [204, 304])
    func bodylessStatusesEndAtTheHead(status: Int) {
        let result = runSplitInvariant([
            .request("GET /a HTTP/1.1\r\n\r\n", at: 1000),
            .response("HTTP/1.1 \(status) X\r\nContent-Length: 10\r\n\r\n", at: 2000),
            .request("GET /b HTTP/1.1\r\n\r\n", at: 3000),
            .response("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz", at: 4000),
        ])
        #expect(result.exchanges.map { $0.response?.status } == [status, 200])
        #expect(result.exchanges[0].response?.bodyless == true)
        #expect(result.exchanges[1].response?.bodyPrefix.text == "z")
    }

    @Test func interimContinueIsNotTheAnswer() {
        let result = runSplitInvariant(
            [
                .request("PUT /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", at: 1000),
                .response("HTTP/1.1 100 Continue\r\n\r\n", at: 1500),
                .request("data", at: 1600),
                .response("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
            ] + Step.endBoth(at: 3000))
        #expect(result.exchanges.count == 1)
        let e = result.exchanges[0]
        #expect(e.response?.status == 200)
        #expect(e.request?.bodyPrefix.text == "data")
        #expect(e.requestLastByte == ts(1600))
        #expect(e.responseFirstByte == ts(2000))
        #expect(result.statistics.interimResponses == 2)
    }

    @Test func switchingProtocolsEndsHttpParsing() {
        let result = runSplitInvariant(
            [
                .request("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", at: 1000),
                .response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\u{81}\u{05}hello", at: 2000),
                .toServer([0x81, 0x85, 1, 2, 3, 4, 0x49, 0x67, 0x6F, 0x68, 0x6E], at: 3000),
                .request("GET /not-http HTTP/1.1\r\n\r\n", at: 3500),
                .response("HTTP/1.1 200 OK\r\n\r\n", at: 4000),
            ] + Step.endBoth(at: 5000))
        #expect(result.exchanges.count == 1)
        #expect(result.exchanges[0].response?.status == 101)
        #expect(result.exchanges[0].completeness == .complete)
        #expect(result.statistics.upgrades == 1)
        #expect(result.statistics.anomalies.isEmpty)
    }

    /// An h2c upgrade (RFC 7540 §3.2; lighttpd accepts Java's HttpClient's, captures/http/stacks/
    /// h2c-lighttpd): the 101 is not the request's answer, which comes on HTTP/2 stream 1, unread by an
    /// HTTP/1.1 observer. The request is unanswered for it, not answered with a 101 the service never
    /// gave (a WebSocket's 101, above, is the handshake's answer). Either case of the token, in a list.
    @Test(arguments: ["h2c", "H2C", "foo/1, h2c"])
    func anUpgradeToHTTP2LeavesTheRequestUnanswered(_ token: String) {
        let result = runSplitInvariant(
            [
                .request("GET /api/order HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                         + "HTTP2-Settings: AAEAAEAAAAIAAAAAAAMAAAAQ\r\n\r\n", at: 1000),
                .response("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: \(token)\r\n\r\n"
                          + "\u{0}\u{0}\u{0}\u{4}\u{0}\u{0}\u{0}\u{0}\u{0}", at: 2000),
                .toServer(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8), at: 3000),
                .request("GET /not-http HTTP/1.1\r\n\r\n", at: 3500),
                .response("HTTP/1.1 200 OK\r\n\r\n", at: 4000),
            ] + Step.endBoth(at: 5000))
        #expect(result.exchanges.count == 1)
        #expect(result.exchanges.first?.request?.target == "/api/order")
        #expect(result.exchanges.first?.response == nil)
        #expect(result.exchanges.first?.completeness == .requestWithoutResponse)
        #expect(result.statistics.upgrades == 1)
        // The connection goes on in HTTP/2: counted as such (its preface, after the 101, is not parsed).
        #expect(result.statistics.http2Connections == 1)
        #expect(result.statistics.anomalies.isEmpty)
    }

    @Test func connectTunnelEndsHttpParsing() {
        let result = runSplitInvariant(
            [
                .request("CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 Connection established\r\n\r\n", at: 2000),
                .toServer([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5], at: 3000),
                .toClient([0x16, 0x03, 0x03, 0x00, 0x02, 9, 9], at: 3500),
            ] + Step.endBoth(at: 5000))
        #expect(result.exchanges.count == 1)
        #expect(result.exchanges[0].request?.method == "CONNECT")
        #expect(result.exchanges[0].request?.host == "api.example:443")
        #expect(result.exchanges[0].response?.bodyless == true)
        #expect(result.statistics.upgrades == 1)
        // The tunnel's stream is read as a connection of its own: TLS, not decrypted here.
        #expect(result.statistics.connectTunnels == 1 && result.statistics.tlsConnections == 1)
        #expect(result.statistics.anomalies.isEmpty)
    }

    @Test func refusedConnectKeepsParsing() {
        let result = runSplitInvariant([
            .request("CONNECT blocked:443 HTTP/1.1\r\n\r\n", at: 1000),
            .response("HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno", at: 2000),
            .request("GET / HTTP/1.1\r\n\r\n", at: 3000),
            .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 4000),
        ])
        #expect(result.exchanges.map { $0.response?.status } == [403, 200])
        #expect(result.statistics.upgrades == 0)
    }

    /// A client that pipelines behind an `Upgrade` request the server refuses (RFC 9110 §7.8: it
    /// answers in HTTP/1.1, no 101): what came meanwhile is its next requests, read at their own times
    /// (captures/http/upgrade-refused-pipelined.pcap). They were dropped, and the direction
    /// resynchronised past the first of them, whose answer had no request.
    @Test(arguments: ["websocket", "h2c"])
    func requestsPipelinedBehindARefusedUpgradeAreRead(_ protocolName: String) {
        let result = runSplitInvariant(
            [
                .request("GET /a HTTP/1.1\r\nUpgrade: \(protocolName)\r\nConnection: Upgrade\r\n\r\n", at: 1000),
                .request("GET /b HTTP/1.1\r\nHost: x\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 2\r\n\r\nok", at: 1100),
                .request("HEAD /d HTTP/1.1\r\n\r\n", at: 1200),
                .response("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", at: 2000),
                .response("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", at: 2100),
            ] + Step.endBoth(at: 3000))
        #expect(result.exchanges.map { "\($0.request?.target ?? "-") \($0.response?.status ?? 0)" } == ["/a 204", "/b 200", "/c 201", "/d 200"])
        #expect(result.exchanges.allSatisfy { $0.completeness == .complete })
        #expect(result.exchanges.map(\.requestFirstByte) == [ts(1000), ts(1100), ts(1100), ts(1200)])
        #expect(result.exchanges[2].request?.bodyPrefix.text == "ok")
        #expect(result.statistics.upgrades == 0)
        #expect(result.statistics.anomalies.isEmpty)
    }

    /// The same when the client half-closes after its last request, before the refusal comes: what it
    /// sent is read at its end, not let go with it.
    @Test func requestsPipelinedBehindAnUpgradeBeforeAHalfCloseAreRead() {
        let result = runSplitInvariant([
            .request("GET /a HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", at: 1000),
            .request("GET /b HTTP/1.1\r\n\r\n", at: 1100),
            .end(.clientToServer, at: 1200),
            .response("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", at: 2000),
            .end(.serverToClient, at: 3000),
        ])
        #expect(result.exchanges.map { "\($0.request?.target ?? "-") \($0.response?.status ?? 0)" } == ["/a 200", "/b 404"])
        #expect(result.exchanges.map(\.requestFirstByte) == [ts(1000), ts(1100)])
        #expect(result.statistics.anomalies.isEmpty)
    }

    /// Accepted, the same bytes are not read as HTTP: the connection is the new protocol's.
    @Test func bytesBehindAnAcceptedUpgradeAreNotRead() {
        let result = runSplitInvariant(
            [
                .request("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", at: 1000),
                .request("GET /b HTTP/1.1\r\n\r\n", at: 1100),
                .response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", at: 2000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2100),
            ] + Step.endBoth(at: 3000))
        #expect(result.exchanges.map { "\($0.request?.target ?? "-") \($0.response?.status ?? 0)" } == ["/ws 101"])
        #expect(result.statistics.upgrades == 1)
    }

    @Test func closeDelimitedResponseEndsWithTheStream() {
        let result = runSplitInvariant([
            .request("GET /old HTTP/1.0\r\n\r\n", at: 1000),
            .response("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nline one\n", at: 2000),
            .response("line two\n", at: 2500),
            .end(.clientToServer, at: 2600),
            .end(.serverToClient, at: 2700),
        ])
        #expect(result.exchanges.count == 1)
        let e = result.exchanges[0]
        #expect(e.request?.version == "HTTP/1.0")
        #expect(e.response?.bodyPrefix.text == "line one\nline two\n")
        #expect(e.response?.bodyTruncated == false)
        #expect(e.responseLastByte == ts(2700))
        #expect(e.completeness == .complete)
    }

    @Test func pipelinedRequestsPairInOrder() {
        let result = runSplitInvariant([
            .request("GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\n\r\n", at: 1000),
            .response("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 201 OK\r\nContent-Length: 1\r\n\r\n2", at: 2000),
            .response("HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\n3", at: 3000),
        ])
        #expect(result.exchanges.map { $0.request?.path } == ["/1", "/2", "/3"])
        #expect(result.exchanges.map { $0.response?.status } == [200, 201, 404])
        #expect(result.exchanges.map { $0.response?.bodyPrefix.text } == ["1", "2", "3"])
        #expect(result.exchanges.map(\.isFirstOnConnection) == [true, false, false])
        #expect(result.exchanges.map(\.responseFirstByte) == [ts(2000), ts(2000), ts(3000)])
        #expect(result.statistics.exchangesComplete == 3)
    }

    @Test func pendingQueueIsBounded() {
        var configuration = HTTPObserverConfiguration()
        configuration.maxPendingRequests = 2
        let result = runSplitInvariant(
            [
                .request("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n", at: 1000),
                .response("HTTP/1.1 201 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
                .response("HTTP/1.1 202 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 203 OK\r\nContent-Length: 0\r\n\r\n", at: 2001),
                .request("GET /4 HTTP/1.1\r\n\r\n", at: 3000),
                .response("HTTP/1.1 204 OK\r\n\r\n", at: 4000),
            ], configuration: configuration)
        let pairs = result.exchanges.map { "\($0.request?.path ?? "-") \($0.response.map { String($0.status) } ?? "-")" }
        // /1 was given up when /3 arrived; its answer (201) is then not paired with /2 by mistake.
        #expect(pairs == ["/1 -", "- 201", "/2 202", "/3 203", "/4 204"])
        #expect(result.statistics.count(of: .pendingQueueFull) == 1)
    }

    @Test func idleConnectionHoldsNoBuffers() {
        let sink = CollectingSink()
        let observer = HTTPObserver(sink: sink)
        let connection = observer.makeConnectionObserver(for: connectionInfo())
        func feed(_ text: String, _ direction: StreamDirection) {
            Array(text.utf8).withUnsafeBytes { connection.streamData($0, direction: direction, time: ts(1)) }
        }
        feed("GET /a HTTP/1.1\r\nHo", .clientToServer)
        #expect(connection.retainedState.bufferedBytes > 0)
        feed("st: h\r\n\r\n", .clientToServer)
        #expect(connection.retainedState == (0, 1, 0))
        feed("HTTP/1.1 200 OK\r\nContent-", .serverToClient)
        feed("Length: 0\r\n\r\n", .serverToClient)
        #expect(connection.retainedState == (0, 0, 0))
        #expect(sink.exchanges.count == 1)
    }
}
