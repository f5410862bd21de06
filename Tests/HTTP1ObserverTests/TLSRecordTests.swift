/// A TLS record header where a start line was expected ends HTTP/1 parsing of its connection and is
/// counted as TLS, not as bad lines and a search for a start line.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct TLSRecordTests {
    /// A ClientHello's record header and the start of its handshake message, then bytes that look
    /// like HTTP/1 (the observer must not find them).
    static let clientHello = bytes(hex: "1603010200" + "010001fc0303") + Array(repeating: 0x41, count: 40)
        + Array("\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
    static let serverHello = bytes(hex: "160303007a" + "020000760303") + Array(repeating: 0x42, count: 30)
    static let applicationData = bytes(hex: "1703030030") + Array(repeating: 0x5A, count: 48)
        + Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)

    static func expectTLS(_ result: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.statistics.tlsConnections == 1, sourceLocation: sourceLocation)
        #expect(result.statistics.anomalies.isEmpty, "\(result.statistics.anomalies)", sourceLocation: sourceLocation)
        #expect(result.exchanges.isEmpty, sourceLocation: sourceLocation)
    }

    /// Seen from its SYN: the client's ClientHello comes first.
    @Test func aHandshakeAtTheStartIsTLS() {
        Self.expectTLS(runSplitInvariant(
            [
                .toServer(Self.clientHello, at: 1000), .toClient(Self.serverHello, at: 2000),
                .toServer(Self.applicationData, at: 3000), .toClient(Self.applicationData, at: 4000),
            ] + Step.endBoth(at: 5000)))
    }

    /// Picked up in its middle (no SYN, roles guessed), either side's records first.
    @Test(arguments: [true, false])
    func applicationDataPickedUpMidStreamIsTLS(serverFirst: Bool) {
        let client: Step = .toServer(Self.applicationData, at: 1000)
        let server: Step = .toClient(Self.applicationData, at: 1000)
        Self.expectTLS(runSplitInvariant(
            (serverFirst ? [server, client] : [client, server]) + Step.endBoth(at: 5000),
            connection: connectionInfo(roleSource: .firstSender, synTime: nil)))
    }

    /// A content type and a version byte, then something else: not a record header. Picked up
    /// mid-stream, a bad request line as before, and the request on the next line is read; from the
    /// handshake, the client's first line is no HTTP/1: another protocol (`OtherProtocolTests`).
    @Test(arguments: [[0x16, 0x41], [0x17, 0x03, 0x09], [0x15, 0x0A]] as [[UInt8]])
    func almostARecordHeaderIsABadRequestLine(_ start: [UInt8]) {
        let steps: [Step] = [
            .toServer(start + Array("x\r\nGET /after HTTP/1.1\r\n\r\n".utf8), at: 1000),
            .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
        ] + Step.endBoth(at: 3000)
        let fromHandshake = runSplitInvariant(steps)
        #expect(fromHandshake.statistics.tlsConnections == 0 && fromHandshake.statistics.otherProtocolConnections == 1)
        #expect(fromHandshake.statistics.anomalies.isEmpty && fromHandshake.exchanges.isEmpty)
        let result = runSplitInvariant(steps, connection: connectionInfo(roleSource: .configuredPort, synTime: nil))
        #expect(result.statistics.tlsConnections == 0)
        #expect(result.statistics.count(of: .badRequestLine) == 1)
        #expect(result.exchanges.map { $0.request?.target } == ["/after"])
    }

    /// After a request and its answer read in sync, TLS does not begin there: a bad request line.
    @Test func aRecordAfterRequestsInSyncIsABadRequestLine() {
        let result = runSplitInvariant(
            [
                .request("GET /first HTTP/1.1\r\nHost: h\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
                .toServer(Self.applicationData, at: 3000),
            ] + Step.endBoth(at: 4000))
        #expect(result.statistics.tlsConnections == 0)
        #expect(result.statistics.count(of: .badRequestLine) == 1)
        #expect(result.exchanges.map { $0.request?.target } == ["/first"])
    }
}
