/// Spare connection observers (kept by `HTTPObserver` after both directions end) carry nothing from one connection into the next.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct ConnectionReuseTests {
    /// Earlier connections that end in every kind of unfinished state a spare observer could keep.
    static let earlierConnections: [(name: String, roleSource: RoleSource, steps: [Step])] = [
        ("ends mid request head", .handshake, [
            .request("GET /a HTTP/1.1\r\nHost: earlier\r\nUser-Ag", at: 100),
        ] + Step.endBoth(at: 900)),
        ("ends mid response head", .handshake, [
            .request("GET /b HTTP/1.1\r\nHost: earlier\r\n\r\n", at: 100),
            .response("HTTP/1.1 200 OK\r\nContent-Le", at: 200),
        ] + Step.endBoth(at: 900)),
        ("ends mid request body, requests unanswered", .handshake, [
            .request("GET /c1 HTTP/1.1\r\n\r\nPOST /c2 HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", at: 100),
        ] + Step.endBoth(at: 900)),
        ("ends mid chunked response", .handshake, [
            .request("GET /d HTTP/1.1\r\n\r\n", at: 100),
            .response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", at: 200),
        ] + Step.endBoth(at: 900)),
        ("ends recovering after a lost response", .handshake, [
            .request("GET /e1 HTTP/1.1\r\n\r\n", at: 100),
            .response("garbage that is no status line\r\n", at: 200),
            .request("GET /e2 HTTP/1.1\r\n\r\n", at: 300),
            .response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", at: 400),
            .gap(.serverToClient, 40, at: 500),
            .request("GET /e3 HTTP/1.1\r\n\r\n", at: 600),
        ] + Step.endBoth(at: 900)),
        ("roles swapped", .firstSender, [
            .request("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 100),
            .response("GET /f HTTP/1.1\r\n\r\n", at: 200),
        ] + Step.endBoth(at: 900)),
        ("upgraded", .handshake, [
            .request("GET /g HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", at: 100),
            .response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\u{1}\u{2}", at: 200),
            .request("\u{3}\u{4} not HTTP", at: 300),
        ] + Step.endBoth(at: 900)),
        ("HTTP/2 with prior knowledge", .handshake, [
            .request("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\u{0}\u{0}\u{0}\u{4}\u{0}\u{0}\u{0}\u{0}\u{0}", at: 100),
            .response("\u{0}\u{0}\u{0}\u{4}\u{0}\u{0}\u{0}\u{0}\u{0}", at: 200),
        ] + Step.endBoth(at: 900)),
        ("a server's SETTINGS first, then the end", .handshake, [
            .toClient(bytes(hex: "000006040000000000000300000064"), at: 100),
        ] + Step.endBoth(at: 900)),
        ("ends inside an HTTP/2 preface", .handshake, [
            .request("PRI * HTTP/2.0\r\n\r\nS", at: 100),
        ] + Step.endBoth(at: 900)),
        ("awaiting an upgrade decision", .handshake, [
            .request("GET /h HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nearly bytes", at: 100),
        ] + Step.endBoth(at: 900)),
    ]

    /// The next connection: a gzip body, a request body, a HEAD, pipelining, a closing response.
    static let nextConnection: [Step] = [
        .request("HEAD /next HTTP/1.1\r\nHost: next\r\nUser-Agent: next/1\r\n\r\nPOST /p?q=1 HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody", at: 10_000),
        .response("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", at: 10_100),
        .response("HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi", at: 10_200),
        .request("GET /last HTTP/1.1\r\n\r\n", at: 10_300),
        .response("HTTP/1.1 404 Not Found\r\n\r\nuntil close", at: 10_400),
    ] + Step.endBoth(at: 20_000)

    @Test(arguments: 0..<earlierConnections.count, [RoleSource.handshake, .firstSender])
    func spareObserverGivesTheExchangesOfANewOne(earlier index: Int, nextRoles: RoleSource) {
        let earlier = Self.earlierConnections[index]
        var nextInfo = connectionInfo(roleSource: nextRoles)
        nextInfo.id = 9
        let fresh = CollectingSink()
        let freshObserver = HTTPObserver(sink: fresh)
        feed(Self.nextConnection, to: freshObserver.makeConnectionObserver(for: nextInfo))
        let alone = HTTPObserver(sink: CollectingSink())
        feed(earlier.steps, to: alone.makeConnectionObserver(for: connectionInfo(roleSource: earlier.roleSource)))

        let sink = CollectingSink()
        let observer = HTTPObserver(sink: sink)
        weak var first: HTTPConnectionObserver?
        do {
            let consumer = observer.makeConnectionObserver(for: connectionInfo(roleSource: earlier.roleSource))
            first = consumer
            feed(earlier.steps, to: consumer)
        }
        let earlierExchanges = sink.exchanges.count
        let reused = observer.makeConnectionObserver(for: nextInfo)
        #expect(first === reused, "\(earlier.name): the spare observer serves the next connection")
        #expect(reused.retainedState == (0, 0, 0))
        feed(Self.nextConnection, to: reused)
        #expect(Array(sink.exchanges.dropFirst(earlierExchanges)) == fresh.exchanges, "\(earlier.name)")
        #expect(zip(counts(observer.statistics), counts(alone.statistics)).map(-) == counts(freshObserver.statistics),
                "\(earlier.name): the counters add up")
        #expect(fresh.exchanges.count == 3)
    }

    /// An observer still held after its end (here by the caller) is never handed to another connection.
    @Test func heldObserverIsNotReused() {
        let observer = HTTPObserver(sink: CollectingSink())
        let held = observer.makeConnectionObserver(for: connectionInfo())
        feed([.request("GET /x HTTP/1.1\r\n\r\n", at: 100)] + Step.endBoth(at: 200), to: held)
        var other = connectionInfo()
        other.id = 8
        let next = observer.makeConnectionObserver(for: other)
        #expect(next !== held)
        #expect(held.connection.id == 7 && next.connection.id == 8)
    }

    /// A connection that did not end both directions is not kept.
    @Test func halfEndedObserverIsNotKept() {
        let observer = HTTPObserver(sink: CollectingSink())
        weak var first: HTTPConnectionObserver?
        do {
            let consumer = observer.makeConnectionObserver(for: connectionInfo())
            first = consumer
            feed([.request("GET /x HTTP/1.1\r\n\r\n", at: 100), .end(.clientToServer, at: 200)], to: consumer)
        }
        #expect(first == nil)
        _ = observer.makeConnectionObserver(for: connectionInfo())
    }

    /// The spares do not keep the observer alive, nor does a connection that ends after the observer is gone.
    @Test func sparesGoWithTheirObserver() {
        weak var weakObserver: HTTPObserver?
        weak var spare: HTTPConnectionObserver?
        weak var late: HTTPConnectionObserver?
        var lateConnection: HTTPConnectionObserver?
        do {
            let observer = HTTPObserver(sink: CollectingSink())
            weakObserver = observer
            lateConnection = observer.makeConnectionObserver(for: connectionInfo())
            late = lateConnection
            do {
                let consumer = observer.makeConnectionObserver(for: connectionInfo())
                spare = consumer
                feed(Step.endBoth(at: 100), to: consumer)
            }
            #expect(spare != nil, "kept as a spare")
        }
        #expect(weakObserver == nil)
        #expect(spare == nil)
        feed(Step.endBoth(at: 200), to: lateConnection!)
        lateConnection = nil
        #expect(late == nil)
    }

    private func counts(_ statistics: HTTPObserverStatistics) -> [Int] {
        [statistics.exchangesComplete, statistics.responsesWithoutRequest, statistics.requestsWithoutResponse,
         statistics.responsesIncomplete, statistics.upgrades, statistics.interimResponses, statistics.rolesSwapped,
         statistics.http2Connections]
            + HTTPParseAnomaly.allCases.map(statistics.count(of:))
    }
}
