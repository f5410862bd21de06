/// A connection read from its handshake whose client's first line is no HTTP/1 carries another
/// protocol: counted once as such, not as bad lines and a search for start lines through its bytes
/// (see `HTTPMessageParser+OtherProtocol`).
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct OtherProtocolTests {
    /// Real first bytes of clients that are not HTTP/1 (from captures/http/other-protocols/ and the
    /// protocols' specifications), each followed by bytes that hold an HTTP request and response
    /// (a Redis value, a mail body): none of them may be read.
    static let clientOpenings: [(name: String, bytes: [UInt8])] = [
        ("Redis", Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$38\r\nGET /api/v1/order HTTP/1.1\r\nHost: h\r\n\r\n\r\n".utf8)),
        ("PostgreSQL SSLRequest", bytes(hex: "0000000804d2162f")),
        ("PostgreSQL StartupMessage", bytes(hex: "0000002900030000") + Array("user\0postgres\0database\0postgres\0\0".utf8)),
        ("SSH", Array("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n".utf8)),
        ("AMQP on a port not configured as a broker's", Array("AMQP".utf8) + [0, 0, 9, 1]),
        ("memcached", Array("get session:42\r\n".utf8)),
        ("a status line from the client", Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)),
    ]
    static let httpInside = Array("\r\nGET /inside HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
    static let responseInside = Array("+OK\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)

    static func expectOtherProtocol(_ result: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.statistics.otherProtocolConnections == 1, sourceLocation: sourceLocation)
        #expect(result.statistics.anomalies.isEmpty, "\(result.statistics.anomalies)", sourceLocation: sourceLocation)
        #expect(result.exchanges.isEmpty, sourceLocation: sourceLocation)
    }

    @Test(arguments: clientOpenings.indices)
    func aClientThatOpensWithNoRequestLineIsAnotherProtocol(_ index: Int) {
        Self.expectOtherProtocol(runSplitInvariant(
            [
                .toServer(Self.clientOpenings[index].bytes + Self.httpInside, at: 1000),
                .toClient(Self.responseInside, at: 2000),
                .toServer(Self.httpInside, at: 3000),
            ] + Step.endBoth(at: 4000)))
    }

    /// Picked up mid-stream (no SYN), the same bytes may be anywhere in an HTTP body: bad lines and a
    /// search for start lines, as before.
    @Test(arguments: [RoleSource.configuredPort, .firstSender])
    func withoutTheHandshakeTheyAreSearchedForHTTP(_ roleSource: RoleSource) {
        let result = runSplitInvariant(
            [
                .toServer(Array("*1\r\n$4\r\nPING\r\n".utf8) + Self.httpInside, at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
            ] + Step.endBoth(at: 3000), connection: connectionInfo(roleSource: roleSource, synTime: nil))
        #expect(result.statistics.otherProtocolConnections == 0)
        #expect(result.statistics.count(of: .resync) >= 1)
        #expect(result.exchanges.map { $0.request?.target } == ["/inside"])
    }

    /// Bytes lost before the client's first line: where it begins is not known any more.
    @Test func aGapBeforeTheFirstLineLeavesTheSearch() {
        let result = runSplitInvariant(
            [
                .gap(.clientToServer, 100, at: 900),
                .toServer(Array("*1\r\n$4\r\nPING\r\n".utf8) + Self.httpInside, at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
            ] + Step.endBoth(at: 3000))
        #expect(result.statistics.otherProtocolConnections == 0)
        #expect(result.exchanges.map { $0.request?.target } == ["/inside"])
    }

    /// A first line rejected after its method may be a broken HTTP request: a bad line as before, and
    /// the next request is read.
    @Test(arguments: ["GET /a b HTTP/1.1\r\n", "GET /a HTTP/2.0\r\n", "POST /x HTTP/1.1 extra\r\n"])
    func aFirstLineRejectedAfterItsMethodIsABadLine(_ line: String) {
        let result = runSplitInvariant(
            [
                .request(line + "\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
            ] + Step.endBoth(at: 3000))
        #expect(result.statistics.otherProtocolConnections == 0)
        #expect(result.statistics.count(of: .badRequestLine) == 1)
        #expect(result.exchanges.map { $0.request?.target } == ["/next"])
    }

    /// After a request read in sync, a line that is no request is a bad line as before.
    @Test func laterLinesAreBadLines() {
        let result = runSplitInvariant(
            [
                .request("GET /first HTTP/1.1\r\nHost: h\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
                .toServer(Array("*1\r\n$4\r\nPING\r\n".utf8), at: 3000),
            ] + Step.endBoth(at: 4000))
        #expect(result.statistics.otherProtocolConnections == 0)
        #expect(result.statistics.count(of: .badRequestLine) == 1)
        #expect(result.exchanges.map { $0.request?.target } == ["/first"])
    }

    /// A server that speaks first with no status line (SSH, SMTP, MySQL, FTP): its line waits for the
    /// client's, and any rejection of that shows another protocol, even after a method (`EHLO host`).
    @Test(arguments: [
        ("220 mail.example.org ESMTP\r\n", "EHLO client.example.org\r\n"),
        ("SSH-2.0-OpenSSH_9.2p1\r\n", "SSH-2.0-OpenSSH_9.2p1\r\n"),
        ("220 FTP server ready\r\n", "USER anonymous\r\n"),
    ])
    func aServerThatSpeaksFirstThenAClientThatIsNoHTTPClient(banner: String, client: String) {
        Self.expectOtherProtocol(runSplitInvariant(
            [
                .response(banner, at: 900),
                .request(client, at: 1000),
                .toClient(Self.responseInside, at: 2000),
                .toServer(Self.httpInside, at: 3000),
            ] + Step.endBoth(at: 4000)))
    }

    /// MySQL's greeting (a length, a sequence number, protocol 10, the version), then the client's
    /// binary answer.
    @Test func mysqlIsAnotherProtocol() {
        Self.expectOtherProtocol(runSplitInvariant(
            [
                .toClient(bytes(hex: "4a0000000a") + Array("8.0.36\0".utf8) + Array(repeating: 0x41, count: 40), at: 900),
                .toServer(bytes(hex: "200000010fa20a00ffffff00210000000000000000000000000000000000000000"), at: 1000),
            ] + Step.endBoth(at: 2000)))
    }

    /// The server's first line waits for the client; when the client then sends a request, the server's
    /// line was a bad status line after all, counted as before, and the exchange is read.
    @Test func aServerBannerThenAnHTTPClientIsCountedAsBefore() {
        let result = runSplitInvariant(
            [
                .response("220 hello\r\n", at: 900),
                .request("GET /a HTTP/1.1\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
            ] + Step.endBoth(at: 3000))
        #expect(result.statistics.otherProtocolConnections == 0)
        #expect(result.statistics.anomalies == [.badStatusLine: 1, .resync: 1])
        #expect(result.exchanges.map { "\($0.request?.target ?? "-") \($0.response?.status ?? 0)" } == ["/a 200"])
    }

    /// A server banner and a client that never speaks: the bad status line, at the end.
    @Test func aServerBannerAndASilentClient() {
        let observer = HTTPObserver(sink: CollectingSink())
        let consumer = observer.makeConnectionObserver(for: connectionInfo())
        Array("SSH-2.0-OpenSSH_9.2p1\r\n".utf8).withUnsafeBytes {
            consumer.streamData($0, direction: .serverToClient, time: ts(900))
        }
        #expect(observer.statistics.anomalies.isEmpty)
        consumer.streamEnd(direction: .clientToServer, reason: .fin, time: ts(1000))
        consumer.streamEnd(direction: .serverToClient, reason: .fin, time: ts(1000))
        #expect(observer.statistics.anomalies == [.badStatusLine: 1, .resync: 1])
        #expect(observer.statistics.otherProtocolConnections == 0)
    }

    /// A server's HTTP/2 SETTINGS first, then the client's preface: still HTTP/2, not another protocol.
    @Test func http2StillWins() {
        let result = runSplitInvariant(
            [
                .toClient(bytes(hex: "000006040000000000000300000064"), at: 900),
                .toServer(HTTPMessageParser.http2Preface + bytes(hex: "000000040000000000"), at: 1000),
            ] + Step.endBoth(at: 2000))
        #expect(result.statistics.http2Connections == 1 && result.statistics.otherProtocolConnections == 0)
        #expect(result.statistics.anomalies.isEmpty)
    }

    /// A spare observer that served a connection of another protocol serves the next one afresh, and
    /// one picked up mid-stream is not judged from its first bytes.
    @Test func aReusedObserverJudgesEachConnectionOnItsOwn() {
        let sink = CollectingSink()
        let observer = HTTPObserver(sink: sink)
        func connect(_ id: UInt64, _ roleSource: RoleSource, client: [UInt8], server: [UInt8]) {
            var info = connectionInfo(roleSource: roleSource, synTime: roleSource == .handshake ? 500 : nil)
            info.id = id
            let consumer = observer.makeConnectionObserver(for: info)
            client.withUnsafeBytes { consumer.streamData($0, direction: .clientToServer, time: ts(1000)) }
            server.withUnsafeBytes { consumer.streamData($0, direction: .serverToClient, time: ts(2000)) }
            consumer.streamEnd(direction: .clientToServer, reason: .fin, time: ts(3000))
            consumer.streamEnd(direction: .serverToClient, reason: .fin, time: ts(3000))
        }
        let redis = Array("*1\r\n$4\r\nPING\r\n".utf8) + Self.httpInside
        let ok = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)
        connect(1, .handshake, client: redis, server: Array("+PONG\r\n".utf8))
        connect(2, .handshake, client: Array("GET /two HTTP/1.1\r\n\r\n".utf8), server: ok)
        connect(3, .configuredPort, client: redis, server: ok)
        connect(4, .handshake, client: redis, server: Array("+PONG\r\n".utf8))
        #expect(observer.statistics.otherProtocolConnections == 2)
        #expect(sink.exchanges.map { "\($0.connection.id) \($0.request?.target ?? "-")" } == ["2 /two", "3 /inside"])
        #expect(observer.statistics.count(of: .badRequestLine) == 1)
    }
}

/// Picked up mid-stream, a connection whose two directions each skip `unsyncedLimit` bytes without
/// a head is taken as another protocol (a connection pool open when the exporter started); HTTP/1,
/// where one direction is silent while a body streams the other way, is not.
@Suite struct MidStreamOtherProtocolTests {
    static let limit = HTTPMessageParser.unsyncedLimit
    /// Redis-like traffic: commands and replies, with uppercase words where a start line could begin.
    static func chatter(_ bytes: Int, seed: UInt8) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while out.count < bytes {
            out += Array("*3\r\n$3\r\nSET\r\n$8\r\nkey:\(i % 1000)\r\n$20\r\nVALUE-\(seed)-xxxxxxxxxxxx\r\n".utf8)
            i += 1
        }
        return out
    }

    @Test(arguments: [RoleSource.configuredPort, .firstSender])
    func bothWaysPastTheLimitIsAnotherProtocol(_ roleSource: RoleSource) {
        var steps: [Step] = []
        var time: Int64 = 1000
        // Exchanges of 4 KiB each way, until both are past the limit; then HTTP text, never read.
        for _ in 0..<(Self.limit / 4096 + 4) {
            steps.append(.toServer(Self.chatter(4096, seed: 1), at: time))
            steps.append(.toClient(Self.chatter(4096, seed: 2), at: time + 1))
            time += 10
        }
        steps.append(.request("GET /later HTTP/1.1\r\n\r\n", at: time))
        steps.append(.response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: time + 1))
        let result = runSplitInvariant(
            steps + Step.endBoth(at: time + 10),
            connection: connectionInfo(roleSource: roleSource, synTime: nil))
        #expect(result.statistics.otherProtocolConnections == 1)
        #expect(result.exchanges.isEmpty)
    }

    /// A download picked up in its body: the client waits in silence, however long the body; the
    /// next request on the connection is read.
    @Test func aLongBodyOneWayIsStillSearched() {
        let body = [UInt8](repeating: 0x41, count: 4 * Self.limit)
        let result = runSplitInvariant(
            [
                .toClient(body, at: 1000),
                .request("GET /next HTTP/1.1\r\nHost: h\r\n\r\n", at: 2000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 3000),
            ] + Step.endBoth(at: 4000),
            connection: connectionInfo(roleSource: .configuredPort, synTime: nil))
        #expect(result.statistics.otherProtocolConnections == 0)
        #expect(result.exchanges.map { $0.request?.target } == ["/next"])
    }

    /// A Redis connection whose values hold HTTP text (a cached request, a cached response): the search
    /// finds a head in each round and loses sync at the next command or reply. Only a head read in sync
    /// ends the count, so once both ways skipped the limit the connection is another protocol and its
    /// later rounds make no exchange (each head found had ended the count: an exchange every round).
    @Test(arguments: [RoleSource.configuredPort, .firstSender])
    func httpTextFoundInsideAnotherProtocolDoesNotEndTheCount(_ roleSource: RoleSource) {
        let cachedRequest = "GET /cached HTTP/1.1\r\nHost: shop\r\n\r\n"
        let cachedResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
        let set = "*3\r\n$3\r\nSET\r\n$3\r\nreq\r\n$\(cachedRequest.utf8.count)\r\n\(cachedRequest)\r\n"
        let reply = "+OK\r\n$\(cachedResponse.utf8.count)\r\n\(cachedResponse)\r\n"
        let rounds = 2 * Self.limit / 1024
        var steps: [Step] = []
        var time: Int64 = 1000
        for _ in 0..<rounds {
            steps.append(.toServer(Array(set.utf8) + Self.chatter(1024, seed: 1), at: time))
            steps.append(.toClient(Array(reply.utf8) + Self.chatter(1024, seed: 2), at: time + 1))
            time += 10
        }
        let result = runSplitInvariant(
            steps + Step.endBoth(at: time), connection: connectionInfo(roleSource: roleSource, synTime: nil))
        #expect(result.statistics.otherProtocolConnections == 1)
        #expect(result.exchanges.count <= rounds / 2, "\(result.exchanges.count) exchanges of \(rounds) rounds")
    }

    /// A head found in one direction after it passed the limit: the other direction passing it later
    /// does not end the connection.
    @Test func aHeadFoundResetsTheCount() {
        let result = runSplitInvariant(
            [
                .toClient(Self.chatter(Self.limit + 4096, seed: 2), at: 1000),
                .toClient(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".utf8), at: 1100),
                .toServer(Self.chatter(Self.limit + 4096, seed: 1), at: 1200),
                .request("GET /next HTTP/1.1\r\n\r\n", at: 2000),
                .response("HTTP/1.1 204 No Content\r\n\r\n", at: 3000),
            ] + Step.endBoth(at: 4000),
            connection: connectionInfo(roleSource: .configuredPort, synTime: nil))
        #expect(result.statistics.otherProtocolConnections == 0)
        #expect(result.exchanges.compactMap { $0.request?.target } == ["/next"])
    }
}
