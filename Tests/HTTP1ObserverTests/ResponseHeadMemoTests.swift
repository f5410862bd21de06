/// Recalled response heads equal parsed ones: every byte compared, anomalies never kept, bounded, the same exchanges.
import Testing

@testable import HTTP1Observer

/// A response head as nginx sends it; `date` and `length` vary it.
private func nginxHead(date: String = "Sat, 28 Nov 2026 07:45:36 GMT", length: Int = 291) -> String {
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: \(date)\r\nContent-Type: application/json\r\n"
        + "Content-Length: \(length)\r\nLast-Modified: Sat, 28 Nov 2026 07:44:56 GMT\r\nConnection: keep-alive\r\n"
        + "ETag: \"6b0a8678-123\"\r\nAccept-Ranges: bytes\r\n\r\n"
}

/// Response heads of many shapes (the kept ones, and those the memo refuses).
private let responseHeads: [String] = [
    nginxHead(),
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\nHost: h\r\nUser-Agent: u\r\n"
        + "Method-Code: m\r\nT-Code: t\r\nExpect: 100-continue\r\nUpgrade: websocket\r\n\r\n",
    "HTTP/1.0 404 Not Found\n\n",
    "HTTP/1.1 204 No Content\r\nContent-Length: 1, 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: -7\r\n\r\n",
    "HTTP/1.1 200\r\n\r\n",
    "HTTP/2.0 200 OK\r\n\r\n",
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 3\r\n\r\n",
    "HTTP/1.1 200 OK\r\nbad line\r\nContent-Length: 3\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Type: " + String(repeating: "x", count: 1_100) + "\r\n\r\n",
]

/// Parses `text` (plus `after`) as a response with the memo of `state`, as the parsers do.
private func parse(
    _ text: String, after: [UInt8] = [], state: SharedParserState, maxHeaderCount: Int = 128
) -> String {
    let bytes = Array(text.utf8) + after
    let outcome = bytes.withUnsafeBytes { state.parseHead($0, isRequest: false, maxHeaderCount: maxHeaderCount) }
    return describeHead(state.head, outcome, state)
}

/// The parse of `text` by a state whose memo is off (and empty).
private func reference(_ text: String, after: [UInt8] = [], maxHeaderCount: Int = 128) -> String {
    let state = SharedParserState()
    state.usesResponseHeadMemo = false
    return parse(text, after: after, state: state, maxHeaderCount: maxHeaderCount)
}

@Suite("Response head memo")
struct ResponseHeadMemoTests {
    /// Each head parsed four times: the same head and outcome as a parse every time; recalled from the
    /// third time when it was kept (no anomaly, 16 bytes to 1 KiB), never otherwise.
    @Test(arguments: responseHeads.indices)
    func recalledHeadsAreParsedHeads(_ index: Int) {
        let text = responseHeads[index]
        let expected = reference(text)
        let state = SharedParserState()
        for _ in 0..<4 { #expect(parse(text, state: state) == expected) }
        let keepable = expected.contains("anomalies=[]") && text.utf8.count <= ResponseHeadMemo.maxHeadBytes
        #expect(state.responseHeads.hits == (keepable ? 2 : 0), "\(text)")
        #expect(state.responseHeads.keptCount == (keepable ? 1 : 0))
    }

    /// Heads with anomalies are never kept: each parse counts them again.
    @Test func anomaliesAreNeverKept() {
        for text in [
            "HTTP/1.1 200 OK\r\nContent-Length: 3\n\r\n", "HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\n\r\n",
            "HTTP/1.1 200 OK\r\nbad line\r\nContent-Length: 3\r\n\r\n", "HTTP/1.1 200 OK\nServer: x\n\n",
        ] {
            let state = SharedParserState()
            let expected = reference(text)
            #expect(!expected.contains("anomalies=[]"))
            for _ in 0..<3 { #expect(parse(text, state: state) == expected) }
            #expect(state.responseHeads.hits == 0)
            #expect(state.responseHeads.keptCount == 0)
        }
    }

    /// A kept head with one byte changed, at every position, to every other value of a few: never
    /// recalled (the compare reads every byte), and parsed as a fresh parse does.
    @Test func aHeadDifferingInOneByteIsNeverRecalled() {
        let text = nginxHead()
        let original = Array(text.utf8)
        let state = SharedParserState()
        _ = parse(text, state: state)
        _ = parse(text, state: state)
        #expect(state.responseHeads.keptCount == 1)
        #expect(parse(text, state: state) == reference(text))
        #expect(state.responseHeads.hits == 1)
        var variants = 0
        for position in original.indices {
            for change: UInt8 in [0x01, 0x20, 0x80] {
                var changed = original
                changed[position] ^= change
                let variant = String(decoding: changed, as: UTF8.self)
                // (Bytes that are not UTF-8 are compared as they are, not as the String would encode them.)
                let after = Array(nginxHead(length: 5).utf8)
                let outcome = (changed + after).withUnsafeBytes {
                    state.parseHead($0, isRequest: false, maxHeaderCount: 128)
                }
                let viaMemo = describeHead(state.head, outcome, state)
                let fresh = SharedParserState()
                fresh.usesResponseHeadMemo = false
                let freshOutcome = (changed + after).withUnsafeBytes {
                    fresh.parseHead($0, isRequest: false, maxHeaderCount: 128)
                }
                #expect(viaMemo == describeHead(fresh.head, freshOutcome, fresh), "byte \(position) ^ \(change): \(variant)")
                #expect(state.responseHeads.hits == 1, "byte \(position) ^ \(change) recalled")
                variants += 1
            }
        }
        #expect(variants == original.count * 3)
        // The original is still kept.
        #expect(parse(text, state: state) == reference(text))
        #expect(state.responseHeads.hits == 2)
    }

    /// Kept heads of 19 and of 24 to 86 bytes (every remainder of the compare's 16- and 32-byte blocks): a
    /// change of any one byte is never recalled, the head itself always is.
    @Test func everyByteOfEveryLengthIsCompared() {
        for padding in 0..<64 {
            let text = "HTTP/1.1 200 OK\r\n" + (padding > 0 ? "X:" + String(repeating: "a", count: padding - 1) + "\r\n" : "")
                + "\r\n"
            let original = Array(text.utf8)
            let state = SharedParserState()
            _ = parse(text, state: state)
            _ = parse(text, state: state)
            #expect(parse(text, state: state) == reference(text))
            #expect(state.responseHeads.hits == 1, "\(original.count) bytes")
            for position in original.indices {
                var changed = original
                changed[position] ^= 0x04
                _ = changed.withUnsafeBytes { state.parseHead($0, isRequest: false, maxHeaderCount: 128) }
                #expect(state.responseHeads.hits == 1, "\(original.count) bytes: byte \(position) changed, recalled")
            }
            #expect(parse(text, state: state) == reference(text))
            #expect(state.responseHeads.hits == 2)
        }
    }

    /// Bytes after the head (a body, the next head, anything) are not looked at: recalled with the same end.
    @Test func bytesAfterTheHeadDoNotMatter() {
        let text = nginxHead()
        let state = SharedParserState()
        _ = parse(text, state: state)
        _ = parse(text, state: state)
        let afters: [[UInt8]] = [
            [], Array("{\"code\":0}".utf8), Array(nginxHead(length: 7).utf8), [0x00, 0xFF, 0x0A, 0x0D],
            Array(repeating: 0x41, count: 2_000),
        ]
        for after in afters {
            #expect(parse(text, after: after, state: state) == reference(text, after: after))
            #expect(parse(text, after: after, state: state).hasPrefix("complete(end: \(text.utf8.count))"))
        }
        #expect(state.responseHeads.hits == afters.count * 2)
    }

    /// A kept head is recalled only under the limit it was parsed under, and only when the bytes hold all of it.
    @Test func limitsAndShortBytesAreParsed() {
        let text = nginxHead()
        let state = SharedParserState()
        _ = parse(text, state: state)
        _ = parse(text, state: state)
        for limit in [3, 8, 9, 127] {
            #expect(parse(text, state: state, maxHeaderCount: limit) == reference(text, maxHeaderCount: limit))
        }
        let bytes = Array(text.utf8)
        for end in [0, 15, 16, 100, bytes.count - 2, bytes.count - 1] {
            let prefix = String(decoding: bytes[..<end], as: UTF8.self)
            #expect(parse(prefix, state: state) == reference(prefix))
        }
        #expect(state.responseHeads.hits == 0)
        #expect(parse(text, state: state) == reference(text))
        #expect(state.responseHeads.hits == 1)
    }

    /// Heads that all differ are never kept, and a kept head survives them.
    @Test func headsThatAllDifferKeepNothing() {
        let state = SharedParserState()
        for i in 0..<1_000 {
            let text = nginxHead(date: "Sat, 28 Nov 2026 07:\(10 + i / 60):\(10 + i % 60) GMT", length: i)
            #expect(parse(text, state: state) == reference(text))
        }
        #expect(state.responseHeads.keptCount == 0)
        #expect(state.responseHeads.hits == 0)
        let kept = nginxHead(date: "Sun, 29 Nov 2026 05:00:00 GMT")
        _ = parse(kept, state: state)
        _ = parse(kept, state: state)
        for i in 0..<100 { _ = parse(nginxHead(length: 1_000 + i), state: state) }
        #expect(parse(kept, state: state) == reference(kept))
        #expect(state.responseHeads.hits == 1)
        #expect(state.responseHeads.keptCount == 1)
    }

    /// More kept heads than entries: at most `entries` kept, each recalled exactly.
    @Test func keptHeadsAreBounded() {
        let state = SharedParserState()
        let heads = (0..<(ResponseHeadMemo.entries * 3)).map { nginxHead(length: $0) }
        for text in heads {
            for _ in 0..<3 { #expect(parse(text, state: state) == reference(text)) }
        }
        #expect(state.responseHeads.keptCount == ResponseHeadMemo.entries)
        #expect(state.responseHeads.hits == heads.count)
    }

    /// Request heads are never kept.
    @Test func requestHeadsAreNotKept() {
        let state = SharedParserState()
        let text = "GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n"
        for _ in 0..<3 {
            _ = Array(text.utf8).withUnsafeBytes { state.parseHead($0, isRequest: true, maxHeaderCount: 128) }
        }
        #expect(state.responseHeads.keptCount == 0)
        #expect(state.responseHeads.hits == 0)
    }

    /// Connections with the same responses again and again, with and without the memo, whole and cut
    /// anywhere: the same exchanges and counters.
    static let repeatedStreams: [(String, [Step])] = {
        var keepAlive: [Step] = []
        var time: Int64 = 1_000
        for i in 0..<12 {
            keepAlive.append(.request("GET /\(i % 3) HTTP/1.1\r\nHost: h\r\n\r\n", at: time))
            let head = i % 4 == 3 ? nginxHead(date: "Sat, 28 Nov 2026 07:45:37 GMT", length: 5) : nginxHead(length: 5)
            keepAlive.append(.response(head + "hello", at: time + 500))
            time += 1_000
        }
        var mixed: [Step] = []
        for i in 0..<8 {
            mixed.append(.request("POST /p HTTP/1.1\r\nContent-Length: 2\r\n\r\nab", at: time))
            let head: String
            switch i % 4 {
            case 0: head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            case 1: head = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc"
            case 2: head = "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"
            default: head = "HTTP/1.1 200 OK\r\nContent-Length: 3\n\r\nxyz"
            }
            mixed.append(.response(head, at: time + 500))
            time += 1_000
        }
        return [("keep-alive", keepAlive + Step.endBoth(at: time)), ("mixed", mixed + Step.endBoth(at: time))]
    }()

    @Test(arguments: (repeatedStreams + CommonPathExchangeTests.streams).map(\.0))
    func sameExchangesWithAndWithoutTheMemo(_ name: String) {
        let steps = (Self.repeatedStreams + CommonPathExchangeTests.streams).first { $0.0 == name }!.1
        let reference = run(steps, responseHeadMemo: false)
        #expect(!reference.exchanges.isEmpty)
        let splittings: [Splitting] = [.whole, .bytewise] + (1...4).map { .random(seed: $0) }
        for splitting in splittings {
            let other = run(steps, splitting: splitting, responseHeadMemo: true)
            #expect(other.exchanges == reference.exchanges, "\(name): \(splitting)")
            #expect(other.statistics == reference.statistics, "\(name): \(splitting)")
        }
    }
}
