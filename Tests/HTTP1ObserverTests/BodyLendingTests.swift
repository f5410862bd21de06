/// Response bodies that arrive whole in one delivery are lent to the sink in place, not copied.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

/// Takes lent bodies where they lie (copied here only to be compared) and counts them.
private final class LendingSink: HTTPExchangeSink {
    var exchanges: [HTTPExchange] = []
    var lent = 0
    func observe(_ exchange: HTTPExchange) { exchanges.append(exchange) }
    func observe(_ exchange: HTTPExchange, responseBody: UnsafeRawBufferPointer) {
        #expect(exchange.response?.bodyPrefix == [], "a lent body is not also in the exchange")
        lent += 1
        var copy = exchange
        copy.response?.bodyPrefix = Array(responseBody)
        exchanges.append(copy)
    }
}

@Suite("Lent response bodies")
struct BodyLendingTests {
    /// Keep-alive exchanges whose bodies are lent (whole, and cut at the prefix limit) or not (empty,
    /// chunked, gzip), among the heads of other messages in the same delivery.
    static let conversation: (requests: String, responses: [UInt8]) = {
        let requests = (1...5).map { "GET /\($0) HTTP/1.1\r\nHost: a\r\n\r\n" }.joined()
        var responses = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
        responses += Array("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{\"code\":0,\"m\":\"lon\"}".utf8)
        responses += Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)
        responses += Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n".utf8)
        // gzip of "hi" (RFC 1952, no name): inflated, never lent.
        let gzip: [UInt8] = [
            0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0xc8, 0x04, 0x00, 0xac, 0x2a, 0x93, 0xd8,
            0x02, 0x00, 0x00, 0x00,
        ]
        responses += Array("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: \(gzip.count)\r\n\r\n".utf8) + gzip
        return (requests, responses)
    }()

    private func feed(_ sink: any HTTPExchangeSink, cut: Int?) -> HTTPObserverStatistics {
        var configuration = HTTPObserverConfiguration()
        configuration.responseBodyPrefixLimit = 8
        let observer = HTTPObserver(configuration: configuration, sink: sink)
        let consumer = observer.makeConnectionObserver(for: connectionInfo())
        func deliver(_ bytes: [UInt8], _ direction: StreamDirection, at time: Int64) {
            let pieces = cut.map { n in stride(from: 0, to: bytes.count, by: n).map { Array(bytes[$0..<min($0 + n, bytes.count)]) } } ?? [bytes]
            for piece in pieces {
                piece.withUnsafeBytes { consumer.streamData($0, direction: direction, time: ts(time)) }
            }
        }
        deliver(Array(Self.conversation.requests.utf8), .clientToServer, at: 1_000)
        deliver(Self.conversation.responses, .serverToClient, at: 2_000)
        for step in Step.endBoth(at: 3_000) {
            if case .end(let direction, let time) = step {
                consumer.streamEnd(direction: direction, reason: .fin, time: ts(time))
            }
        }
        return observer.statistics
    }

    @Test func lentBodiesEqualCopiedOnes() {
        let lending = LendingSink()
        let lendingStatistics = feed(lending, cut: nil)
        // Delivered a byte at a time, no body is whole in one delivery: every body is copied.
        let copying = LendingSink()
        let copyingStatistics = feed(copying, cut: 1)
        #expect(lending.lent == 2)
        #expect(copying.lent == 0)
        #expect(lending.exchanges == copying.exchanges)
        #expect(lendingStatistics == copyingStatistics)
        #expect(lending.exchanges.map { $0.response?.bodyPrefix.text } == ["ok", "{\"code\":", "", "ab", "hi"])
        #expect(lending.exchanges[1].response?.bodyTruncated == true)
        #expect(lending.exchanges[1].response?.bodyLength == 20)
    }

    @Test func aSinkWithoutTheBorrowedPathGetsTheBodyInTheExchange() {
        let collecting = CollectingSink()
        _ = feed(collecting, cut: nil)
        #expect(collecting.exchanges.map { $0.response?.bodyPrefix.text } == ["ok", "{\"code\":", "", "ab", "hi"])
    }
}
