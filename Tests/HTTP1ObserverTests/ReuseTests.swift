/// What the observer reuses between exchanges (pooled requests, cached targets and header values) never leaks from one exchange into the next.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct ReuseTests {
    /// One keep-alive connection whose exchanges differ in every field a reused request or cache holds.
    @Test func keepAliveExchangesShareNothing() {
        let latin1Target: [UInt8] = Array("GET /caf".utf8) + [0xE9] + Array("?q=1 HTTP/1.1\r\n\r\n".utf8)
        let result = runSplitInvariant(
            [
                .request("HEAD /same?id=1 HTTP/1.1\r\nHost: h1\r\nUser-Agent: first/1.0\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", at: 1100),
                .request("GET /same?id=1 HTTP/1.1\r\nHost: h1\r\n\r\n", at: 2000),
                .response("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", at: 2100),
                .request("POST /p HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\nabc", at: 3000),
                .response("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", at: 3100),
                .toServer(latin1Target, at: 4000),
                .response("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", at: 4100),
                .toServer(latin1Target, at: 5000),
                .response("HTTP/1.1 204 No Content\r\n\r\n", at: 5100),
            ] + Step.endBoth(at: 9000))
        let requests = result.exchanges.compactMap(\.request)
        let responses = result.exchanges.compactMap(\.response)
        #expect(result.exchanges.map(\.completeness) == Array(repeating: .complete, count: 5))
        #expect(result.exchanges.map(\.isFirstOnConnection) == [true, false, false, false, false])
        #expect(requests.map(\.method) == ["HEAD", "GET", "POST", "GET", "GET"])
        #expect(requests.map(\.target) == ["/same?id=1", "/same?id=1", "/p", "/caf\u{E9}?q=1", "/caf\u{E9}?q=1"])
        #expect(requests.map(\.path) == ["/same", "/same", "/p", "/caf\u{FFFD}", "/caf\u{FFFD}"])
        #expect(requests.map(\.query) == ["id=1", "id=1", nil, "q=1", "q=1"])
        #expect(requests.map(\.host) == ["h1", "h1", nil, nil, nil])
        #expect(requests.map(\.userAgent) == ["first/1.0", nil, nil, nil, nil])
        #expect(requests.map(\.contentType) == [nil, nil, "application/x-www-form-urlencoded", nil, nil])
        #expect(requests.map(\.bodyPrefix.text) == ["", "", "abc", "", ""])
        #expect(requests.map(\.bodyLength) == [0, 0, 3, 0, 0])
        #expect(responses.map(\.status) == [200, 200, 201, 404, 204])
        #expect(responses.map(\.bodyless) == [true, false, false, false, true])
        #expect(responses.map(\.contentType) == [nil, "text/plain", nil, nil, nil])
        #expect(responses.map(\.bodyPrefix.text) == ["", "hello", "ok", "", ""])
        #expect(result.exchanges.map(\.requestFirstByte) == [1000, 2000, 3000, 4000, 5000].map(ts))
    }

    /// Targets built in the head (met once: not cached) and taken from the cache (met again), absolute-
    /// form ones with and without `Host`: each request has its own target and host, nothing left over
    /// from the one before (a `Host` not taken, the authority being the host, is not the next request's).
    @Test func targetsBuiltInTheHeadLeaveNothingBehind() {
        let sequence = [
            "GET http://a.example:8080/x?id=1 HTTP/1.1\r\nHost: h\r\n\r\n",
            "GET /y?id=2 HTTP/1.1\r\n\r\n",
            "GET http://b.example?z HTTP/1.1\r\n\r\n",
            "GET /y?id=2 HTTP/1.1\r\n\r\n",
            "GET http://a.example:8080/x?id=1 HTTP/1.1\r\nHost: h\r\n\r\n",
            "GET http://a.example:8080/x?id=1 HTTP/1.1\r\n\r\n",
            "GET /p%20q HTTP/1.1\r\n\r\n",
            "GET /p%20q HTTP/1.1\r\n\r\n",
        ]
        var steps: [Step] = []
        for (i, request) in sequence.enumerated() {
            steps.append(.request(request, at: Int64(i) * 100))
            steps.append(.response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: Int64(i) * 100 + 50))
        }
        let result = runSplitInvariant(steps + Step.endBoth(at: 9000))
        let requests = result.exchanges.compactMap(\.request)
        #expect(requests.map(\.target) == sequence.map { String($0.split(separator: " ")[1]) })
        #expect(requests.map(\.host) == ["a.example:8080", nil, "b.example", nil, "a.example:8080", "a.example:8080", nil, nil])
        #expect(requests.map(\.rawPath) == ["/x", "/y", "/", "/y", "/x", "/x", "/p%20q", "/p%20q"])
        #expect(requests.map(\.path) == ["/x", "/y", "/", "/y", "/x", "/x", "/p q", "/p q"])
        #expect(requests.map(\.query) == ["id=1", "id=2", "z", "id=2", "id=1", "id=1", nil, nil])
    }

    /// More distinct targets than the target cache has slots, twice over: every one comes out as sent.
    @Test func manyTargetsEachComeOutAsSent() {
        let targets = (0..<300).map { "/t/\($0)/x\(String(repeating: "y", count: $0 % 23))?q=\($0 % 7)" }
        var steps: [Step] = []
        for (i, target) in (targets + targets.reversed()).enumerated() {
            let time = Int64(i) * 100
            steps.append(.request("GET \(target) HTTP/1.1\r\n\r\n", at: time))
            steps.append(.response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: time + 50))
        }
        let result = run(steps + Step.endBoth(at: 1_000_000))
        let requests = result.exchanges.compactMap(\.request)
        #expect(requests.map(\.target) == targets + targets.reversed())
        #expect(requests.map(\.rawPath) == (targets + targets.reversed()).map { String($0.split(separator: "?")[0]) })
        #expect(requests.map(\.query) == (targets + targets.reversed()).map { String($0.split(separator: "?")[1]) })
    }

    /// A sink that keeps nothing lets the observer reuse body buffers: each body still comes out whole
    /// and alone (a longer body before a shorter one leaves no stale bytes behind).
    @Test func reusedBodyBuffersHoldOnlyTheirOwnBody() {
        final class TextSink: HTTPExchangeSink {
            var bodies: [String] = []
            func observe(_ exchange: HTTPExchange) {
                bodies.append((exchange.request?.bodyPrefix.text ?? "-") + "|" + (exchange.response?.bodyPrefix.text ?? "-"))
            }
        }
        let sink = TextSink()
        let observer = HTTPObserver(sink: sink)
        let connection = observer.makeConnectionObserver(for: connectionInfo())
        let bodies = ["a long request body", "short", "", "mid-size", "x"]
        var expected: [String] = []
        for (i, body) in bodies.enumerated() {
            let answer = String(bodies[(i + 2) % bodies.count].reversed())
            let request = "POST /b HTTP/1.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            let response = "HTTP/1.1 200 OK\r\nContent-Length: \(answer.utf8.count)\r\n\r\n\(answer)"
            Array(request.utf8).withUnsafeBytes { connection.streamData($0, direction: .clientToServer, time: ts(Int64(i) * 10)) }
            Array(response.utf8).withUnsafeBytes { connection.streamData($0, direction: .serverToClient, time: ts(Int64(i) * 10 + 5)) }
            expected.append(body + "|" + answer)
        }
        #expect(sink.bodies == expected)
    }

    /// Two connections of one observer, interleaved: pooled requests and shared caches stay with their own exchange.
    @Test func interleavedConnectionsKeepTheirOwnExchanges() {
        let sink = CollectingSink()
        let observer = HTTPObserver(sink: sink)
        let first = observer.makeConnectionObserver(for: connectionInfo())
        var secondInfo = connectionInfo()
        secondInfo.id = 8
        let second = observer.makeConnectionObserver(for: secondInfo)
        func send(_ consumer: HTTPConnectionObserver, _ text: String, _ direction: StreamDirection, _ time: Int64) {
            Array(text.utf8).withUnsafeBytes { consumer.streamData($0, direction: direction, time: ts(time)) }
        }
        send(first, "GET /one HTTP/1.1\r\nUser-Agent: a\r\n\r\n", .clientToServer, 100)
        send(second, "POST /two HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", .clientToServer, 200)
        send(second, "HTTP/1.1 500 Oops\r\nContent-Length: 1\r\n\r\nx", .serverToClient, 300)
        send(first, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny", .serverToClient, 400)
        send(second, "GET /three HTTP/1.1\r\n\r\n", .clientToServer, 500)
        send(first, "GET /four HTTP/1.1\r\n\r\n", .clientToServer, 600)
        send(first, "HTTP/1.1 201 OK\r\nContent-Length: 0\r\n\r\n", .serverToClient, 700)
        send(second, "HTTP/1.1 202 OK\r\nContent-Length: 0\r\n\r\n", .serverToClient, 800)
        let exchanges = sink.exchanges
        #expect(exchanges.map(\.connection.id) == [8, 7, 7, 8])
        #expect(exchanges.map { $0.request?.target } == ["/two", "/one", "/four", "/three"])
        #expect(exchanges.map { $0.request?.userAgent } == [nil, "a", nil, nil])
        #expect(exchanges.map { $0.request?.bodyPrefix.text } == ["hi", "", "", ""])
        #expect(exchanges.map { $0.response?.status } == [500, 200, 201, 202])
        #expect(exchanges.map { $0.response?.bodyPrefix.text } == ["x", "y", "", ""])
        #expect(exchanges.map(\.isFirstOnConnection) == [true, true, false, false])
        #expect(exchanges.map(\.requestFirstByte) == [200, 100, 600, 500].map(ts))
    }
}
