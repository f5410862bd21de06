@testable import HTTP1Observer
import PacketDecoding
import TCPReassembly
import Testing

/// After a CONNECT's 2xx the connection carries the tunnel's own stream (RFC 9110 §9.3.6), read as a
/// connection of its own from its start: the calls inside are the caller's to the CONNECT target.
@Suite struct ConnectTunnelTests {
    static let json = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"code\":0}"

    /// curl `-p` (`--proxytunnel`) with an `http://` URL: plain HTTP/1 inside the tunnel, origin-form.
    @Test func plainHTTPInsideATunnelIsReadAsCallsToTheTarget() {
        let result = runSplitInvariant(
            [
                .request("CONNECT partner.example:80 HTTP/1.1\r\nHost: partner.example:80\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 Connection established\r\n\r\n", at: 2000),
                .request("GET /api/x?y=1 HTTP/1.1\r\nHost: alias.example\r\nMethod-Code: MC6\r\n\r\n", at: 3000),
                .response(Self.json, at: 4000),
                .request("GET /api/fail HTTP/1.1\r\nHost: partner.example\r\n\r\n", at: 5000),
                .response("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", at: 6000),
            ] + Step.endBoth(at: 7000))
        #expect(result.exchanges.map { $0.request?.method } == ["CONNECT", "GET", "GET"])
        #expect(result.exchanges.map { $0.response?.status } == [200, 200, 500])
        let inside = Array(result.exchanges.dropFirst())
        // The URL's authority (`http://partner.example/...`: port 80 is the scheme's), whatever `Host` says.
        #expect(inside.map { $0.request?.host } == ["partner.example", "partner.example"])
        #expect(inside[0].request?.methodCode == "MC6")
        #expect(inside[0].response?.bodyPrefix.text == "{\"code\":0}")
        #expect(result.statistics.connectTunnels == 1 && result.statistics.upgrades == 1)
        #expect(result.statistics.exchangesComplete == 3)
        #expect(result.statistics.anomalies.isEmpty, "\(result.statistics.anomalies)")
        // Timing: the first call inside opened the proxy connection (CONNECT its first request): from
        // the SYN; its tunnel "opened" at the 2xx. The second is a call on a kept connection.
        #expect(inside[0].connection.synTime == ts(500) && inside[0].connection.handshakeEnd == ts(2000))
        #expect(inside[0].isFirstOnConnection && inside[0].callStart == ts(500))
        #expect(!inside[1].isFirstOnConnection && inside[1].callStart == ts(5000))
        #expect(inside[0].connection.id == 7 && inside[0].server == testServer && inside[0].client == testClient)
    }

    /// A port that is not the scheme's stays in the authority, as in the URL (`http://host:8080/`).
    @Test func aPortOtherThanTheSchemesStays() {
        let result = runSplitInvariant(
            [
                .request("CONNECT partner.example:8080 HTTP/1.1\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 Connection established\r\n\r\n", at: 2000),
                .request("GET /api/x HTTP/1.1\r\nHost: partner.example:8080\r\n\r\n", at: 3000),
                .response(Self.json, at: 4000),
            ] + Step.endBoth(at: 5000))
        #expect(result.exchanges.last?.request?.host == "partner.example:8080")
    }

    @Test(arguments: [
        ("partner.example:443", true, "partner.example"),
        ("partner.example:443", false, "partner.example:443"),
        ("partner.example:80", false, "partner.example"),
        ("partner.example:80", true, "partner.example:80"),
        ("partner.example:8443", true, "partner.example:8443"),
        ("[2001:db8::1]:443", true, "[2001:db8::1]"),
        ("[2001:db8::1]:8443", true, "[2001:db8::1]:8443"),
        ("2001:db8::1:443", true, "2001:db8::1:443"),
        (":443", true, ":443"),
        ("partner.example", true, "partner.example"),
        ("partner.example:4430", true, "partner.example:4430"),
    ])
    func urlAuthorityDropsOnlyTheSchemesPort(target: String, tls: Bool, expected: String) {
        #expect(ConnectTunnel.urlAuthority(target: target, carriesTLS: tls) == expected)
    }

    /// TLS inside the tunnel, with nothing to decrypt it: counted as a TLS connection (as HTTPS reached
    /// directly is), not as bad lines; with a wrapper (the pipeline's decryptor) the stream goes to it,
    /// in the tunnel's own directions.
    @Test func tlsInsideATunnelGoesToTheWrapper() {
        let steps: [Step] = [
            .request("CONNECT partner.example:443 HTTP/1.1\r\n\r\n", at: 1000),
            .response("HTTP/1.1 200 Connection established\r\n\r\n", at: 2000),
            .toServer([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5], at: 3000),
            .toClient([0x16, 0x03, 0x03, 0x00, 0x02, 9, 9], at: 3500),
        ] + Step.endBoth(at: 5000)
        let plain = runSplitInvariant(steps)
        #expect(plain.statistics.tlsConnections == 1 && plain.statistics.connectTunnels == 1)
        #expect(plain.statistics.anomalies.isEmpty)

        let recorder = Recorder()
        let sink = CollectingSink()
        let observer = HTTPObserver(sink: sink)
        observer.tunnelStreamWrapper = { inner in recorder.inner = inner; return recorder }
        let consumer = observer.makeConnectionObserver(for: connectionInfo())
        feed(steps, to: consumer)
        #expect(recorder.calls == [
            "data c2s 10 at 3000", "data s2c 7 at 3500", "end c2s", "end s2c",
        ])
        #expect(recorder.inner is HTTPConnectionObserver)
        // The observer inside learns the URL's authority from the tunnel's first byte: TLS, so https.
        #expect((recorder.inner as? HTTPConnectionObserver)?.tunnelAuthority == "partner.example")
    }

    /// A refused CONNECT (407, 403) is an answer like any: the connection goes on in HTTP.
    @Test func aRefusedConnectOpensNoTunnel() {
        let result = runSplitInvariant([
            .request("CONNECT partner.example:9443 HTTP/1.1\r\n\r\n", at: 1000),
            .response("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", at: 2000),
            .request("GET http://partner.example/x HTTP/1.1\r\n\r\n", at: 3000),
            .response(Self.json, at: 4000),
        ])
        #expect(result.exchanges.map { $0.response?.status } == [403, 200])
        #expect(result.statistics.connectTunnels == 0 && result.statistics.upgrades == 0)
    }

    /// A CONNECT sent long after the proxy connection opened (a pool's): the call began at the CONNECT.
    @Test func aConnectOnAnIdleConnectionStartsTheCall() {
        var info = connectionInfo()
        info.handshakeEnd = ts(600)
        let late: Int64 = 600 + HTTPExchange.openingCallDelayLimit + 1
        let result = run(
            [
                .request("CONNECT partner.example:80 HTTP/1.1\r\n\r\n", at: late),
                .response("HTTP/1.1 200 Connection established\r\n\r\n", at: late + 1000),
                .request("GET /a HTTP/1.1\r\n\r\n", at: late + 2000),
                .response(Self.json, at: late + 3000),
            ], connection: info)
        #expect(result.exchanges.last?.callStart == ts(late))
    }

    /// An optimistic client sends after its CONNECT without waiting for the answer (its TLS
    /// ClientHello, or here its first request): those bytes are kept and read as the tunnel's start
    /// once the 2xx comes, however the deliveries cut them. Seen fail: they were dropped, the tunnel
    /// read as picked up mid-stream (no call from the SYN) and its first call lost.
    @Test func bytesBeforeTheAnswerAreTheTunnelsStart() {
        let result = runSplitInvariant(
            [
                .request("CONNECT partner.example:80 HTTP/1.1\r\n\r\nGET /early HTTP/1.1\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 Connection established\r\n\r\n", at: 2000),
                .response(Self.json, at: 2500),
                .request("GET /a HTTP/1.1\r\n\r\n", at: 3000),
                .response(Self.json, at: 4000),
            ] + Step.endBoth(at: 5000))
        let inside = Array(result.exchanges.dropFirst())
        #expect(inside.map { $0.request?.path } == ["/early", "/a"])
        #expect(inside.map { $0.response?.status } == [200, 200])
        #expect(inside[0].isFirstOnConnection && inside[0].callStart == ts(500))
        #expect(inside[0].connection.synTime == ts(500))
        #expect(result.statistics.connectTunnels == 1)
        #expect(result.statistics.count(of: .bytesWhileAwaitingUpgrade) == 0)
        #expect(result.statistics.anomalies.isEmpty, "\(result.statistics.anomalies)")
    }

    /// More than `maxEarlyTunnelBytes` before the answer: dropped (counted), and the tunnel's start is
    /// not seen, so its stream is searched as one picked up mid-stream and no call is timed from a SYN.
    @Test func tooManyBytesBeforeTheAnswerMakeTheTunnelMidStream() {
        let early = "GET /early HTTP/1.1\r\nX-Pad: " + String(repeating: "p", count: HTTPMessageParser.maxEarlyTunnelBytes) + "\r\n\r\n"
        let result = run([
            .request("CONNECT partner.example:80 HTTP/1.1\r\n\r\n", at: 1000),
            .request(early, at: 1500),
            .response("HTTP/1.1 200 Connection established\r\n\r\n", at: 2000),
            .response(Self.json, at: 2500),
            .request("GET /a HTTP/1.1\r\n\r\n", at: 3000),
            .response(Self.json, at: 4000),
        ])
        let inside = result.exchanges.dropFirst()
        #expect(inside.allSatisfy { $0.connection.synTime == nil })
        #expect(!inside.contains { $0.request?.path == "/early" })
        #expect(inside.last?.request?.path == "/a" && inside.last?.response?.status == 200)
        #expect(result.statistics.count(of: .bytesWhileAwaitingUpgrade) == 1)
    }

    /// A refused CONNECT lets the bytes kept go (counted): they were for a tunnel that did not open,
    /// and are not HTTP (a ClientHello). The client's next CONNECT is read.
    @Test func aRefusedConnectDiscardsTheBytesKept() {
        let hello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]
        let result = runSplitInvariant(
            [
                .request("CONNECT partner.example:443 HTTP/1.1\r\n\r\n", at: 1000),
                .toServer(hello, at: 1000),
                .response("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n", at: 2000),
                .request("CONNECT partner.example:80 HTTP/1.1\r\nProxy-Authorization: Basic eDp5\r\n\r\n", at: 3000),
                .response("HTTP/1.1 200 Connection established\r\n\r\n", at: 3500),
                .request("GET /a HTTP/1.1\r\n\r\n", at: 4000),
                .response(Self.json, at: 4500),
            ] + Step.endBoth(at: 5000))
        #expect(result.exchanges.map { $0.response?.status } == [407, 200, 200])
        #expect(result.exchanges.last?.request?.path == "/a")
        #expect(result.statistics.count(of: .bytesWhileAwaitingUpgrade) == 1)
        #expect(result.statistics.connectTunnels == 1)
    }

    /// A tunnel inside a tunnel (a proxy reached through another's) is read too, up to a depth: a
    /// stream of nested CONNECTs does not nest observers without bound.
    @Test func nestedTunnelsStopAtTheirDepth() {
        var steps: [Step] = []
        for level in 0..<5 {
            steps.append(.request("CONNECT p\(level).example:3128 HTTP/1.1\r\n\r\n", at: Int64(1000 + level * 100)))
            steps.append(.response("HTTP/1.1 200 Connection established\r\n\r\n", at: Int64(1050 + level * 100)))
        }
        steps.append(.request("GET /deep HTTP/1.1\r\n\r\n", at: 3000))
        steps.append(.response(Self.json, at: 4000))
        let result = runSplitInvariant(steps + Step.endBoth(at: 5000))
        #expect(result.exchanges.map { $0.request?.method } == Array(repeating: "CONNECT", count: 5))
        #expect(result.statistics.connectTunnels == Int(HTTPConnectionObserver.maxTunnelDepth))
        #expect(result.statistics.upgrades == 5)
    }

    /// A gap and the end inside the tunnel reach its observer: a response cut by the end is incomplete.
    @Test func gapsAndEndsReachTheTunnel() {
        let result = runSplitInvariant(
            [
                .request("CONNECT partner.example:80 HTTP/1.1\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 Connection established\r\n\r\n", at: 2000),
                .request("GET /a HTTP/1.1\r\n\r\n", at: 3000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n12345", at: 4000),
                .gap(.serverToClient, 5, at: 4500),
            ] + Step.endBoth(at: 5000))
        let last = result.exchanges.last
        #expect(last?.request?.path == "/a" && last?.sawGap == true)
        #expect(last?.completeness == .responseIncomplete)
    }

    /// Records what reaches a tunnel's wrapper.
    final class Recorder: StreamConsumer {
        var calls: [String] = []
        var inner: (any StreamConsumer)?
        func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
            calls.append("data \(direction == .clientToServer ? "c2s" : "s2c") \(bytes.count) at \(time.nanoseconds)")
            inner?.streamData(bytes, direction: direction, time: time)
        }
        func streamGap(length: Int, direction: StreamDirection, time: Timestamp) {
            calls.append("gap \(direction == .clientToServer ? "c2s" : "s2c") \(length)")
        }
        func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) {
            calls.append("end \(direction == .clientToServer ? "c2s" : "s2c")")
            inner?.streamEnd(direction: direction, reason: reason, time: time)
        }
    }
}
