/// A PROXY protocol header (v1 or v2) before a connection's first request is skipped, counted, and
/// the requests after it are read (see `HTTPMessageParser+ProxyProtocol`).
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct ProxyProtocolTests {
    static let request = Array("GET /a HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
    static let secondRequest = Array("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}".utf8)
    static let answers: [Step] = [
        .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
        .response("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", at: 4000),
    ]

    /// v2 as HAProxy's `send-proxy-v2` writes it: the signature, PROXY over TCP/IPv4, 12 bytes of
    /// addresses and ports (from captures/http/proxy-protocol/).
    static let v2 = HTTPMessageParser.proxyV2Signature + bytes(hex: "2111000c" + "7f0000017f000001" + "b06e46a1")

    static let headers: [(name: String, bytes: [UInt8])] = [
        ("v1 TCP4", Array("PROXY TCP4 192.0.2.1 198.51.100.7 56324 8080\r\n".utf8)),
        ("v1 TCP6", Array("PROXY TCP6 2001:db8::1 2001:db8::2 56324 8080\r\n".utf8)),
        ("v1 UNKNOWN", Array("PROXY UNKNOWN\r\n".utf8)),
        ("v2 TCP4", v2),
        ("v2 LOCAL, with a TLV", HTTPMessageParser.proxyV2Signature + bytes(hex: "20000007" + "04000400000000")),
    ]

    static func expectRead(_ result: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.statistics.proxyProtocolHeaders == 1, sourceLocation: sourceLocation)
        #expect(result.statistics.anomalies.isEmpty, "\(result.statistics.anomalies)", sourceLocation: sourceLocation)
        #expect(result.statistics.otherProtocolConnections == 0, sourceLocation: sourceLocation)
        #expect(
            result.exchanges.map { "\($0.request?.target ?? "-") \($0.response?.status ?? 0) \($0.isFirstOnConnection)" }
                == ["/a 200 true", "/b 201 false"], sourceLocation: sourceLocation)
    }

    @Test(arguments: headers.indices)
    func aHeaderBeforeTheFirstRequestIsSkipped(_ index: Int) {
        Self.expectRead(runSplitInvariant(
            [.toServer(Self.headers[index].bytes + Self.request, at: 1000), Self.answers[0],
             .toServer(Self.secondRequest, at: 3000), Self.answers[1]] + Step.endBoth(at: 5000)))
    }

    /// The header alone in its segment, the request in the next (the time of the request's first byte
    /// is its own).
    @Test func aHeaderInASegmentOfItsOwn() {
        let result = runSplitInvariant(
            [.toServer(Self.v2, at: 900), .toServer(Self.request, at: 1000), Self.answers[0],
             .toServer(Self.secondRequest, at: 3000), Self.answers[1]] + Step.endBoth(at: 5000))
        Self.expectRead(result)
        #expect(result.exchanges.first?.requestFirstByte == ts(1000))
    }

    /// A v1 line longer than a header can be is a bad request line (the request after it is found);
    /// a v2 signature that breaks off is no HTTP at all (its first byte was 0x00).
    @Test func notAHeader() {
        let long = Array(("PROXY TCP4 " + String(repeating: "1", count: 100) + "\r\n").utf8)
        let tooLong = runSplitInvariant(
            [.toServer(long + Self.request, at: 1000), Self.answers[0]] + Step.endBoth(at: 5000))
        #expect(tooLong.statistics.proxyProtocolHeaders == 0)
        #expect(tooLong.statistics.count(of: .badRequestLine) == 1)
        #expect(tooLong.exchanges.map { $0.request?.target } == ["/a"])
        var broken = Self.v2
        broken[9] = 0x58  // `QUXT`
        let notV2 = runSplitInvariant([.toServer(broken + Self.request, at: 1000), Self.answers[0]] + Step.endBoth(at: 5000))
        #expect(notV2.statistics.proxyProtocolHeaders == 0 && notV2.statistics.otherProtocolConnections == 1)
        #expect(notV2.statistics.anomalies.isEmpty && notV2.exchanges.isEmpty)
    }

    /// Only before the first request of a connection read from its start: picked up mid-stream, a v1
    /// line is a bad line as before (and the request after it is found); after a request, too.
    @Test func onlyAtTheStart() {
        let v1 = Self.headers[0].bytes
        let midStream = runSplitInvariant(
            [.toServer(v1 + Self.request, at: 1000), Self.answers[0]] + Step.endBoth(at: 5000),
            connection: connectionInfo(roleSource: .configuredPort, synTime: nil))
        #expect(midStream.statistics.proxyProtocolHeaders == 0)
        #expect(midStream.statistics.count(of: .badRequestLine) == 1)
        #expect(midStream.exchanges.map { $0.request?.target } == ["/a"])
        let later = runSplitInvariant(
            [.toServer(Self.request, at: 1000), Self.answers[0], .toServer(v1, at: 3000)] + Step.endBoth(at: 5000))
        #expect(later.statistics.proxyProtocolHeaders == 0)
        #expect(later.statistics.count(of: .badRequestLine) == 1)
    }

    /// A gap inside the header: where the request begins is lost, as for any head.
    @Test func aGapInTheHeader() {
        let result = runSplitInvariant(
            [.toServer(Array(Self.v2.prefix(14)), at: 900), .gap(.clientToServer, 14, at: 950),
             .toServer(Self.request, at: 1000), Self.answers[0]] + Step.endBoth(at: 5000))
        #expect(result.statistics.proxyProtocolHeaders == 0)
        #expect(result.statistics.count(of: .gapInHeaders) == 1)
        #expect(result.exchanges.map { $0.request?.target } == ["/a"])
    }
}
