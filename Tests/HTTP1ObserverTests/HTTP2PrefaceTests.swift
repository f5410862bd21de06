/// HTTP/2's connection preface (RFC 9113 §3.4) ends HTTP/1 parsing of its connection and is counted as HTTP/2, not as a bad request line.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct HTTP2PrefaceTests {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    /// The client's SETTINGS (empty) and a HEADERS frame on stream 1 whose block holds text that looks like HTTP/1.
    static let clientFrames = bytes(hex: "000000040000000000") + bytes(hex: "00001c01050000000182") + Array("GET /x HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
    /// The server's SETTINGS, its ACK of the client's, and a HEADERS frame for stream 1.
    static let serverFrames = bytes(hex: "000006040000000000000300000064") + bytes(hex: "000000040100000000")
        + bytes(hex: "000001010400000001") + [0x88]

    static func prefaceConnection(_ clientBytes: [[UInt8]]) -> [Step] {
        clientBytes.enumerated().map { .toServer($1, at: 1000 + Int64($0)) }
            + [.toClient(serverFrames, at: 2000), .toServer(clientFrames, at: 3000), .toClient(serverFrames, at: 4000)]
            + Step.endBoth(at: 5000)
    }

    static func expectHTTP2(_ result: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.statistics.http2Connections == 1, sourceLocation: sourceLocation)
        #expect(result.statistics.anomalies.isEmpty, "\(result.statistics.anomalies)", sourceLocation: sourceLocation)
        #expect(result.exchanges.isEmpty, sourceLocation: sourceLocation)
        #expect(result.statistics.upgrades == 0, sourceLocation: sourceLocation)
    }

    /// The preface whole, then frames both ways (some of whose bytes look like HTTP/1): nothing is
    /// parsed after it, whole, byte by byte or at random cuts.
    @Test func prefaceAtTheStartEndsHTTP1Parsing() {
        Self.expectHTTP2(runSplitInvariant(Self.prefaceConnection([Self.preface + Self.clientFrames])))
    }

    /// Cut once and cut twice, at every place (the scanner reads `PRI * HTTP/2` and rejects it at
    /// the `2`; the rest is matched across deliveries).
    @Test(arguments: 1..<24)
    func prefaceSplitAnywhere(first cut: Int) {
        Self.expectHTTP2(run(Self.prefaceConnection([Array(Self.preface[..<cut]), Array(Self.preface[cut...])])))
        for second in (cut + 1)..<24 {
            let parts = [Array(Self.preface[..<cut]), Array(Self.preface[cut..<second]), Array(Self.preface[second...])]
            Self.expectHTTP2(run(Self.prefaceConnection(parts)))
        }
        // The frames in the same delivery as the preface's end.
        Self.expectHTTP2(run(Self.prefaceConnection([Array(Self.preface[..<cut]), Array(Self.preface[cut...]) + Self.clientFrames])))
    }

    /// Without a SYN the roles are guessed: the preface still ends parsing.
    @Test func prefaceWithGuessedRoles() {
        Self.expectHTTP2(runSplitInvariant(
            Self.prefaceConnection([Self.preface]), connection: connectionInfo(roleSource: .firstSender, synTime: nil)))
    }

    /// `PRI` is a valid method token: an HTTP/1.1 request with it is an ordinary request.
    @Test func priMethodInHTTP1IsARequest() {
        let result = runSplitInvariant(
            [
                .request("PRI * HTTP/1.1\r\nHost: h\r\n\r\n", at: 1000),
                .response("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n", at: 2000),
            ] + Step.endBoth(at: 3000))
        #expect(result.exchanges.count == 1)
        #expect(result.exchanges.first?.request?.method == "PRI")
        #expect(result.exchanges.first?.response?.status == 405)
        #expect(result.statistics.http2Connections == 0)
        #expect(result.statistics.anomalies.isEmpty)
    }

    /// Every proper prefix of the preface followed by other bytes, and the preface with one byte
    /// changed: not HTTP/2, a bad request line as any other, and the request after it is read.
    @Test(arguments: Self.notPrefaces)
    func almostThePrefaceIsABadRequestLine(_ start: [UInt8]) {
        let result = runSplitInvariant(
            [
                .toServer(start + Array("\r\nGET /after HTTP/1.1\r\n\r\n".utf8), at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
            ] + Step.endBoth(at: 3000))
        #expect(result.statistics.http2Connections == 0)
        #expect(result.statistics.count(of: .badRequestLine) == 1)
        #expect(result.statistics.count(of: .resync) == 1)
        #expect(result.exchanges.map { $0.request?.target } == ["/after"])
        #expect(result.exchanges.first?.response?.status == 200)
    }

    static let notPrefaces: [[UInt8]] = {
        // `PRI * HTTP/2` and more of the preface, then `X` (the line ends in the test with CR LF).
        var cases = (12..<24).map { Array(preface[..<$0]) + Array("X".utf8) }
        // Each of the preface's last 12 bytes changed (the first 12 are where the scanner rejects it).
        for i in 12..<24 {
            var changed = preface
            changed[i] = changed[i] == 0x58 ? 0x59 : 0x58
            cases.append(changed)
        }
        cases.append(Array("PRJ * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8))
        cases.append(Array("PRI / HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8))
        return cases
    }()

    /// A preface after the client's first bytes were lost: the gap is counted, the direction
    /// resynchronises and finds the preface there, and nothing more is parsed.
    @Test func prefaceAfterAGap() {
        let result = runSplitInvariant(
            [
                .gap(.clientToServer, 57, at: 900),
                .toServer(Self.preface + Self.clientFrames, at: 1000),
                .toClient(Self.serverFrames, at: 2000),
                .toServer(Self.clientFrames, at: 3000),
            ] + Step.endBoth(at: 5000))
        #expect(result.statistics.http2Connections == 1)
        #expect(result.statistics.anomalies == [.gapInHeaders: 1, .resync: 1])
        #expect(result.exchanges.isEmpty)
    }

    /// Resynchronising through bytes that are no HTTP/1 lands on the preface: found there too. (A
    /// connection picked up mid-stream: from the handshake, such first bytes are another protocol.)
    @Test func resynchronisingLandsOnThePreface() {
        let result = runSplitInvariant(
            [
                .toServer(bytes(hex: "0b030100a5010000a103") + Array("xxPRI * HTTP/".utf8), at: 1000),
                .toServer(Array(Self.preface[11...]) + Self.clientFrames, at: 1100),
                .toClient(Self.serverFrames, at: 2000),
            ] + Step.endBoth(at: 5000), connection: connectionInfo(roleSource: .configuredPort, synTime: nil))
        #expect(result.statistics.http2Connections == 1)
        #expect(result.statistics.anomalies == [.badRequestLine: 1, .resync: 1])
        #expect(result.exchanges.isEmpty)
    }

    /// After HTTP/1.1 requests read in sync, the preface is not where a connection turns HTTP/2
    /// (an h2c upgrade's comes after its 101, when nothing is parsed any more): a bad request line.
    @Test func prefaceAfterHTTP1RequestsIsABadRequestLine() {
        let result = runSplitInvariant(
            [
                .request("GET /first HTTP/1.1\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
                // (Frames without HTTP-looking bytes: the resynchronisation after the bad line finds none.)
                .toServer(Self.preface + bytes(hex: "000000040000000000"), at: 3000),
            ] + Step.endBoth(at: 5000))
        #expect(result.statistics.http2Connections == 0)
        #expect(result.statistics.count(of: .badRequestLine) == 1)
        #expect(result.exchanges.map { $0.request?.target } == ["/first"])
    }

    /// A connection that ends inside the preface: a message cut short, not HTTP/2.
    @Test func connectionEndingInsideThePreface() {
        let result = runSplitInvariant([.toServer(Array(Self.preface[..<20]), at: 1000)] + Step.endBoth(at: 2000))
        #expect(result.statistics.http2Connections == 0)
        #expect(result.statistics.anomalies == [.truncatedMessage: 1])
    }

    /// A server never sends the preface: in the response direction it is a bad status line.
    @Test func prefaceFromTheServerIsABadStatusLine() {
        let result = runSplitInvariant(
            [
                .request("GET /a HTTP/1.1\r\n\r\n", at: 1000),
                .toClient(Self.preface, at: 2000),
            ] + Step.endBoth(at: 3000))
        #expect(result.statistics.http2Connections == 0)
        #expect(result.statistics.count(of: .badStatusLine) == 1)
    }

    // MARK: The server's preface first

    /// gRPC-Go's server writes its SETTINGS when it accepts the connection, before it reads the
    /// client's preface: in a capture it may come first. Not counted as a bad status line when the
    /// client's preface follows.
    @Test func serverSettingsBeforeTheClientsPreface() {
        Self.expectHTTP2(runSplitInvariant(
            [.toClient(Self.serverFrames, at: 900), .toServer(Self.preface + Self.clientFrames, at: 1000),
             .toClient(Self.serverFrames, at: 2000)] + Step.endBoth(at: 5000)))
    }

    /// The same first bytes from a server whose client then speaks HTTP/1: the bad status line and
    /// its resynchronisation are counted (when the request comes), and the exchange is read.
    @Test func serverZeroFirstThenAnHTTP1Client() {
        let result = runSplitInvariant(
            [
                .toClient(Self.serverFrames, at: 900),
                .request("GET /a HTTP/1.1\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
            ] + Step.endBoth(at: 3000))
        #expect(result.statistics.http2Connections == 0)
        #expect(result.statistics.anomalies == [.badStatusLine: 1, .resync: 1])
        #expect(result.exchanges.map { "\($0.request?.target ?? "-") \($0.response?.status ?? 0)" } == ["/a 200"])
    }

    /// ... and whose client sends nothing: counted when the connection ends.
    @Test func serverZeroFirstThenNothing() {
        let result = runSplitInvariant([.toClient(Self.serverFrames, at: 900)] + Step.endBoth(at: 3000))
        #expect(result.statistics.http2Connections == 0)
        #expect(result.statistics.anomalies == [.badStatusLine: 1, .resync: 1])
    }

    /// On a connection picked up mid-stream (roles from the server port), only a first line that may be
    /// a SETTINGS frame waits for the client: a HEADERS frame header (type 1) first, or any other bad
    /// first line, is counted at once. (From the handshake, every bad first line of a server that
    /// speaks first waits: `OtherProtocolTests`.)
    @Test(arguments: [
        (bytes(hex: "000006040000000000000300000064"), 0),  // SETTINGS: waits
        (bytes(hex: "000001010400000001") + [0x88], 1),  // HEADERS
        (bytes(hex: "000006040100000000000300000064"), 1),  // SETTINGS with the ACK flag
        (bytes(hex: "000006040000000001000300000064"), 1),  // SETTINGS on stream 1
        (bytes(hex: "0b0303"), 1),  // other binary bytes (a TLS record is TLS: TLSRecordTests)
    ])
    func whichFirstLinesWaitForTheClient(_ first: [UInt8], countedAtOnce: Int) {
        let observer = HTTPObserver(sink: CollectingSink())
        let consumer = observer.makeConnectionObserver(for: connectionInfo(roleSource: .configuredPort, synTime: nil))
        first.withUnsafeBytes { consumer.streamData($0, direction: .serverToClient, time: ts(900)) }
        #expect(observer.statistics.count(of: .badStatusLine) == countedAtOnce)
        #expect(observer.statistics.count(of: .resync) == countedAtOnce)
        consumer.streamEnd(direction: .clientToServer, reason: .fin, time: ts(1000))
        consumer.streamEnd(direction: .serverToClient, reason: .fin, time: ts(1000))
        #expect(observer.statistics.count(of: .badStatusLine) == 1)
    }
}
