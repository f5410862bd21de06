/// The one bound on what all connections of an observer keep: pipelined bodies, split heads.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct KeptBytesTests {
    /// An observer whose connections keep at most `bound` bytes together (nil: the default), with a
    /// sink, and `count` connections of it (distinct client ports).
    static func observer(
        bound: Int? = nil, connections count: Int
    ) -> (HTTPObserver, CollectingSink, [HTTPConnectionObserver], HTTPObserverConfiguration) {
        var configuration = HTTPObserverConfiguration()
        if let bound { configuration.maxKeptBytesTotal = bound }
        let sink = CollectingSink()
        let observer = HTTPObserver(configuration: configuration, sink: sink)
        let connections = (0..<count).map { i in
            observer.makeConnectionObserver(for: ConnectionInfo(
                id: UInt64(i), client: Endpoint(address: IPAddress("10.0.0.1")!, port: UInt16(40000 + i)), server: testServer,
                roleSource: .handshake, synTime: Timestamp(nanoseconds: 1), firstSeen: Timestamp(nanoseconds: 1)))
        }
        return (observer, sink, connections, configuration)
    }

    static func post(_ n: Int, bodyBytes: Int) -> [UInt8] {
        let body = "{\"method_code\":\"\(n)\",\"pad\":\"" + String(repeating: "x", count: bodyBytes) + "\"}"
        return Array("POST /p/\(n) HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
    }

    static func send(_ bytes: [UInt8], to connection: HTTPConnectionObserver, _ direction: StreamDirection, at time: Int64) {
        bytes.withUnsafeBytes { connection.streamData($0, direction: direction, time: Timestamp(nanoseconds: time)) }
    }

    static func end(_ connection: HTTPConnectionObserver, at time: Int64) {
        connection.streamEnd(direction: .clientToServer, reason: .fin, time: Timestamp(nanoseconds: time))
        connection.streamEnd(direction: .serverToClient, reason: .fin, time: Timestamp(nanoseconds: time))
    }

    /// Clients pipelining large JSON bodies that no server answers yet: without a common bound each
    /// connection would keep all its waiting requests' bodies (8 connections × 20 × 2 KB here; in
    /// the field 262,144 connections × 64 × 64 KiB). With one, what they keep together stays at it,
    /// every request is still emitted once, and nothing stays charged at the end.
    @Test func pipelinedBodiesNoServerAnswersStayWithinTheBound() {
        let (observer, sink, connections, configuration) = Self.observer(bound: 20_000, connections: 8)
        var time: Int64 = 10
        for n in 0..<20 {
            for connection in connections {
                time += 1
                Self.send(Self.post(n, bodyBytes: 2000), to: connection, .clientToServer, at: time)
                // The bound may be passed by what one delivery brings, never by more.
                #expect(observer.keptBytes.now <= configuration.maxKeptBytesTotal + 2200)
            }
        }
        #expect(observer.statistics.count(of: .keptBytesLimit) > 0)
        #expect(observer.reachedGlobalBudget)
        for connection in connections { Self.end(connection, at: time + 1) }
        #expect(sink.exchanges.count == 8 * 20)
        #expect(observer.statistics.requestsWithoutResponse == 8 * 20)
        #expect(observer.keptBytes.now == 0)
        #expect(observer.keptBytes.peak <= configuration.maxKeptBytesTotal + 2200)
        // Every request was emitted once: its own path, in order per connection.
        let paths = Set(sink.exchanges.map { "\($0.client.port) \($0.request!.path)" })
        #expect(paths.count == 8 * 20)
    }

    /// The same traffic answered in order, under the default bound: all paired, every body kept
    /// whole, nothing charged once the connections end.
    @Test func answeredTrafficBelowTheBoundIsUntouched() {
        let (observer, sink, connections, _) = Self.observer(connections: 4)
        var time: Int64 = 10
        for n in 0..<10 {
            for connection in connections {
                time += 1
                Self.send(Self.post(n, bodyBytes: 2000), to: connection, .clientToServer, at: time)
            }
        }
        #expect(observer.keptBytes.now > 4 * 10 * 2000)
        for connection in connections {
            for n in 0..<10 {
                time += 1
                let body = "{\"code\":\(n)}"
                Self.send(Array("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8), to: connection, .serverToClient, at: time)
            }
            Self.end(connection, at: time)
        }
        #expect(sink.exchanges.count == 40)
        #expect(observer.statistics.exchangesComplete == 40)
        #expect(observer.statistics.count(of: .keptBytesLimit) == 0)
        #expect(!observer.reachedGlobalBudget)
        #expect(sink.exchanges.allSatisfy { $0.request?.bodyPrefix.count == $0.request?.bodyLength && $0.request?.bodyTruncated == false })
        #expect(observer.keptBytes.now == 0)
    }

    /// A head split over deliveries that the bound leaves no room for is given up (counted), and the
    /// direction resynchronises: the next request, whole in its delivery, is paired as usual.
    @Test func aSplitHeadPastTheBoundIsGivenUp() {
        // Room for the request that follows (a waiting request costs its head and itself), not for the long head.
        let bound = PendingRequest.keptCost(headLength: 300)
        let (observer, sink, connections, _) = Self.observer(bound: bound, connections: 1)
        let connection = connections[0]
        let longHead = "GET /long HTTP/1.1\r\nX-Pad: " + String(repeating: "y", count: 1000)
        // Cut in 100-byte deliveries: the first ones fit, then the budget has no room.
        let bytes = Array(longHead.utf8)
        for start in stride(from: 0, to: bytes.count, by: 100) {
            Self.send(Array(bytes[start..<min(start + 100, bytes.count)]), to: connection, .clientToServer, at: 10)
            #expect(observer.keptBytes.now <= bound)
        }
        #expect(observer.statistics.count(of: .keptBytesLimit) == 1)
        Self.send(Array("\r\n\r\nGET /next HTTP/1.1\r\n\r\n".utf8), to: connection, .clientToServer, at: 20)
        Self.send(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8), to: connection, .serverToClient, at: 30)
        Self.end(connection, at: 40)
        #expect(sink.exchanges.map { "\($0.request?.path ?? "-") \($0.response?.status ?? 0)" } == ["/next 204"])
        #expect(observer.keptBytes.now == 0)
    }

    /// Below the bound, a head split over deliveries is kept and charged until it is parsed; a
    /// connection that ends mid-head gives its bytes back at once.
    @Test func splitHeadsAreChargedAndGivenBack() {
        let (observer, sink, connections, _) = Self.observer(connections: 2)
        let firstPart = Array("GET /a HTTP/1.1\r\nHost: h\r\n".utf8), secondPart = Array("GET /b HTTP/1.1\r\nHo".utf8)
        Self.send(firstPart, to: connections[0], .clientToServer, at: 10)
        Self.send(secondPart, to: connections[1], .clientToServer, at: 10)
        #expect(observer.keptBytes.now == firstPart.count + secondPart.count)
        Self.send(Array("\r\n".utf8), to: connections[0], .clientToServer, at: 11)
        // The first head, parsed, now waits as a request (its head's length and the request itself are
        // charged while it waits).
        let waiting = PendingRequest.keptCost(headLength: firstPart.count + 2)
        #expect(observer.keptBytes.now == secondPart.count + waiting)
        Self.end(connections[1], at: 12)
        #expect(observer.keptBytes.now == waiting)
        Self.send(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8), to: connections[0], .serverToClient, at: 13)
        #expect(observer.keptBytes.now == 0)
        #expect(sink.exchanges.map { $0.request?.path } == ["/a"])
    }

    /// A body inflated past what the bound leaves ends there, as a truncated body.
    @Test func inflatedBodiesStopAtTheBound() {
        // Room for the three requests and a little more.
        let request = Array("GET /z HTTP/1.1\r\n\r\n".utf8)
        let requests = 3 * PendingRequest.keptCost(headLength: request.count)
        let (observer, sink, connections, configuration) = Self.observer(bound: requests + 100, connections: 3)
        // 1 MiB of zeros, gzip: one response per connection, none complete.
        let gzip = ContentEncodingTests.gzipBomb
        for (i, connection) in connections.enumerated() {
            Self.send(request, to: connection, .clientToServer, at: Int64(10 + i))
        }
        for (i, connection) in connections.enumerated() {
            let head = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: \(gzip.count + 10)\r\n\r\n"
            Self.send(Array(head.utf8) + gzip, to: connection, .serverToClient, at: Int64(20 + i))
        }
        // The first inflates to its own bound in one delivery (which may pass the common one); the
        // others keep nothing.
        #expect(observer.keptBytes.now <= configuration.maxInflatedBytes + requests + 100)
        for connection in connections { Self.end(connection, at: 40) }
        #expect(observer.keptBytes.now == 0)
        #expect(sink.exchanges.map { $0.response?.bodyPrefix.count ?? -1 } == [configuration.maxInflatedBytes, 0, 0])
        #expect(observer.statistics.count(of: .keptBytesLimit) == 2)
    }

    /// Connections that each send one request nobody answers, its head whole in one delivery (as a
    /// capture of offloaded traffic carries it): a connection's first waiting request was kept
    /// whatever the bound said (262,144 connections with a 64 KiB head each: 16 GiB under 256 MiB).
    /// One the bound has no room for is now emitted at once, unanswered (counted).
    @Test func firstWaitingRequestsStayWithinTheBound() {
        let bound = 50_000
        let (observer, sink, connections, _) = Self.observer(bound: bound, connections: 20)
        let head = Array(("GET /" + String(repeating: "p", count: 8000) + " HTTP/1.1\r\n\r\n").utf8)
        for (i, connection) in connections.enumerated() {
            Self.send(head, to: connection, .clientToServer, at: Int64(10 + i))
            #expect(observer.keptBytes.now <= bound)
        }
        let kept = bound / PendingRequest.keptCost(headLength: head.count)
        #expect(kept == 5)
        #expect(observer.statistics.count(of: .keptBytesLimit) == 20 - kept)
        #expect(observer.statistics.requestsWithoutResponse == 20 - kept)
        for connection in connections { Self.end(connection, at: 100) }
        #expect(sink.exchanges.count == 20)
        #expect(observer.keptBytes.peak <= bound)
        #expect(observer.keptBytes.now == 0)
    }

    /// Minimal pipelined requests (18 bytes of head each) that nobody answers: a waiting request
    /// keeps far more than its head (measured 352 bytes of RSS each), and the bound counts it, so
    /// what the queues hold is what the bound says.
    @Test func smallWaitingRequestsAreChargedWhatTheyKeep() {
        let bound = 100_000
        let (observer, sink, connections, _) = Self.observer(bound: bound, connections: 50)
        let gets = Array(String(repeating: "GET / HTTP/1.1\r\n\r\n", count: 64).utf8)
        for connection in connections { Self.send(gets, to: connection, .clientToServer, at: 10) }
        let waiting = connections.reduce(0) { $0 + $1.retainedState.pendingRequests }
        #expect(waiting > 0)
        #expect(waiting * 300 <= bound)
        #expect(observer.keptBytes.peak <= bound)
        for connection in connections { Self.end(connection, at: 20) }
        #expect(sink.exchanges.count == 50 * 64)
        #expect(observer.keptBytes.now == 0)
    }
}
