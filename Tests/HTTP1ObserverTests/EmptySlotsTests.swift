/// Stores that skip releasing an old value owning nothing keep the new value and still release an old one that owns something.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

private final class Token {}

@Suite("Stores over empty slots")
struct EmptySlotsTests {
    /// Over the shared empty array the new array is stored as it is; over an array owning storage the
    /// old one is released (its elements go), as an assignment does.
    @Test func arrayStores() {
        var bytes: [UInt8] = []
        bytes.replaceEmpty(with: [1, 2, 3])
        #expect(bytes == [1, 2, 3])
        var emptied: [UInt8] = [9]
        emptied.removeAll()
        emptied.replaceEmpty(with: [4])
        #expect(emptied == [4])

        weak var old: Token?
        var tokens: [Token] = []
        do {
            let first = Token()
            old = first
            tokens.replaceEmpty(with: [first])
        }
        #expect(old != nil && tokens.count == 1)
        let second = Token()
        tokens.replaceEmpty(with: [second])
        #expect(old == nil)
        #expect(tokens.count == 1 && tokens[0] === second)
    }

    /// The same for strings (the empty literal skipped, a stored one released) and optionals.
    @Test func stringAndOptionalStores() {
        var text = ""
        text.replaceEmpty(with: String(repeating: "x", count: 40))
        #expect(text == String(repeating: "x", count: 40))
        text.replaceEmpty(with: "short")
        #expect(text == "short")
        weak var old: Token?
        var slot: Token?
        do {
            let first = Token()
            old = first
            slot.replaceNil(with: first)
        }
        #expect(old != nil)
        slot.replaceNil(with: Token())
        #expect(old == nil && slot != nil)
    }
}

/// `UnsafeMutablePointer<HTTPExchange>.discard` releases the fields of an emitted exchange it names, one
/// by one: a stored property added to an exchange or a summary must be named there too (or be
/// trivial), or every exchange would leak it. These lists fail first when one is added.
@Suite("Discarded exchanges")
struct DiscardedExchangeTests {
    @Test func discardNamesEveryStoredProperty() {
        let request = HTTPRequestSummary(
            method: "GET", target: "/", rawPath: "/", path: "/", query: nil, version: "HTTP/1.1", host: nil,
            userAgent: nil, methodCode: nil, tCode: nil, contentType: nil, bodyPrefix: [], bodyLength: 0,
            bodyTruncated: false)
        let response = HTTPResponseSummary(
            status: 200, contentType: nil, contentEncoding: nil, bodyPrefix: [], bodyLength: 0, bodyTruncated: false,
            bodyless: false)
        let exchange = HTTPExchange(
            connection: connectionInfo(), client: testClient, server: testServer, request: request, response: response,
            completeness: .complete,
            sawGap: false, isFirstOnConnection: true, requestFirstByte: nil, requestLastByte: nil,
            responseFirstByte: nil, responseLastByte: nil)
        // Released by `discard` (strings, optional strings, body arrays) or trivial (the rest).
        #expect(labels(of: request) == [
            "method", "storedTarget", "rawPath", "path", "query", "version", "host", "userAgent", "methodCode",
            "tCode", "contentType", "bodyPrefix", "bodyLength", "bodyTruncated", "memberwiseMarker",
        ])
        #expect(labels(of: response) == [
            "status", "contentType", "contentEncoding", "bodyPrefix", "bodyLength", "bodyTruncated", "bodyless",
            "memberwiseMarker",
        ])
        // Besides the two summaries, an exchange holds only values that own nothing.
        #expect(labels(of: exchange) == [
            "connection", "client", "server", "request", "response", "completeness", "sawGap", "isFirstOnConnection",
            "requestFirstByte", "requestLastByte", "responseFirstByte", "responseLastByte", "memberwiseMarker",
        ])
        #expect(_isPOD(ConnectionInfo.self) && _isPOD(Endpoint.self) && _isPOD(HTTPExchangeCompleteness.self))
        #expect(_isPOD(Timestamp?.self) && _isPOD(MemberwiseMarker.self))
    }

    private func labels(of value: Any) -> [String] { Mirror(reflecting: value).children.map { $0.label ?? "" } }
}
