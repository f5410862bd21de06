/// The head parser's fast paths give what the general paths give: word-wise field names, heads reset in place.
import PacketDecoding
import Testing

@testable import HTTP1Observer

/// `KnownField.classify` as it was, byte by byte with `equalsIgnoringCase`: the reference for the word-wise one.
private func referenceClassify(_ name: UnsafeRawBufferPointer) -> KnownField? {
    switch name.count {
    case 4 where name.equalsIgnoringCase("host"): return .host
    case 6 where name.equalsIgnoringCase("expect"): return .expect
    case 7 where name.equalsIgnoringCase("upgrade"): return .upgrade
    case 12 where name.equalsIgnoringCase("content-type"): return .contentType
    case 14 where name.equalsIgnoringCase("content-length"): return .contentLength
    case 16 where name.equalsIgnoringCase("content-encoding"): return .contentEncoding
    case 17 where name.equalsIgnoringCase("transfer-encoding"): return .transferEncoding
    default: break
    }
    guard name.count >= 5 && name.count <= 32 else { return nil }
    if name.equalsIgnoringCaseAndSeparators("tcode") { return .tCode }
    if name.equalsIgnoringCaseAndSeparators("useragent") { return .userAgent }
    if name.equalsIgnoringCaseAndSeparators("methodcode") { return .methodCode }
    return nil
}

private let fieldNames = [
    "host", "expect", "upgrade", "content-type", "content-length", "content-encoding", "transfer-encoding",
    "user-agent", "t-code", "method-code", "server", "date", "etag", "accept", "connection", "last-modified",
]

@Suite("Head parser fast paths")
struct FastPathTests {
    /// Every name in lower, upper and mixed case, and every one-byte change of it (each byte replaced by
    /// each value 0...255): the word-wise classification equals the byte-wise one.
    @Test(arguments: fieldNames)
    func fieldNameClassificationEqualsByteWise(_ name: String) {
        let lower = Array(name.utf8)
        let upper = Array(name.uppercased().utf8)
        let mixed = lower.enumerated().map { $0.offset % 2 == 0 ? upper[$0.offset] : $0.element }
        var checked = 0
        for base in [lower, upper, mixed] {
            base.withUnsafeBytes { #expect(KnownField.classify($0) == referenceClassify($0)) }
            for i in base.indices {
                var changed = base
                for value in 0...255 {
                    changed[i] = UInt8(value)
                    let same = changed.withUnsafeBytes { KnownField.classify($0) == referenceClassify($0) }
                    if !same { Issue.record("\(name): byte \(i) = \(value) classified differently") }
                    checked += 1
                }
            }
        }
        #expect(checked == 3 * 256 * lower.count)
    }

    @Test func knownNamesAreFound() {
        let expected: [String: KnownField] = [
            "Host": .host, "EXPECT": .expect, "Upgrade": .upgrade, "Content-Type": .contentType,
            "content-LENGTH": .contentLength, "Content-Encoding": .contentEncoding, "Transfer-Encoding": .transferEncoding,
            "User-Agent": .userAgent, "T_Code": .tCode, "Method-Code": .methodCode,
        ]
        for (name, field) in expected {
            #expect(Array(name.utf8).withUnsafeBytes { KnownField.classify($0) } == field, "\(name)")
        }
        for name in ["Hosts", "Content_Type", "Content-Typf", "Transfer-Encodinh", "Xontent-Length", "Expecu"] {
            #expect(Array(name.utf8).withUnsafeBytes { KnownField.classify($0) } == nil, "\(name)")
        }
    }

    /// The fields of a parsed head, as text to compare (`describeHead`, and whether the method
    /// is HEAD or CONNECT).
    private func describe(_ head: MessageHead, _ outcome: MessageHead.ParseOutcome, _ cache: SharedParserState) -> String {
        describeHead(head, outcome, cache) + " methodIsHEAD=\(head.method == "HEAD") methodIsCONNECT=\(head.method == "CONNECT")"
    }

    /// A head reused in place (`reset`), with whatever the previous head left in it (nothing taken out),
    /// parses every head of a varied sequence exactly as a new head does.
    @Test func headResetInPlaceEqualsNewHead() {
        let heads: [(String, Bool)] = [
            (
                "GET http://example.com:8080/a%20b?x=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\nMethod-Code: m\r\n"
                    + "T-Code: t\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n"
                    + "Expect: 100-continue\r\nUpgrade: websocket\r\n\r\n", true
            ),
            ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", false),
            ("POST /p HTTP/1.0\nX-Fold: a\n b\nbad line\n\n", true),
            ("HTTP/1.0 404 Not Found\r\n\r\n", false),
            ("HEAD / HTTP/1.1\r\n\r\n", true),
            ("HTTP/1.1 204 No Content\r\nContent-Length: 1, 2\r\n\r\n", false),
            ("DELETE /x?y HTTP/1.1\r\nHost: other\r\n\r\n", true),
            ("CONNECT h:443 HTTP/1.1\r\n\r\n", true),
            ("HTTP/1.1 200 Connection established\r\n\r\n", false),
            ("CONNECTS / HTTP/1.1\r\n\r\n", true),
            ("HEADS / HTTP/1.1\r\n\r\n", true),
        ]
        let cache = SharedParserState()
        var reused = MessageHead(isRequest: false)
        var headsAndConnects = 0
        for round in 0..<2 {
            for (text, isRequest) in heads {
                let bytes = Array(text.utf8)
                let reusedOutcome = bytes.withUnsafeBytes {
                    MessageHead.parse($0, isRequest: isRequest, maxHeaderCount: 128, cache: cache, into: &reused)
                }
                var fresh = MessageHead(isRequest: isRequest)
                let freshCache = SharedParserState()
                let freshOutcome = bytes.withUnsafeBytes {
                    MessageHead.parse($0, isRequest: isRequest, maxHeaderCount: 128, cache: freshCache, into: &fresh)
                }
                #expect(
                    describe(reused, reusedOutcome, cache) == describe(fresh, freshOutcome, freshCache),
                    "round \(round): \(text)")
                // The flags say exactly what the method string says.
                #expect(reused.isHead == (reused.isRequest && reused.method == "HEAD"))
                #expect(reused.isConnect == (reused.isRequest && reused.method == "CONNECT"))
                if reused.isHead || reused.isConnect { headsAndConnects += 1 }
            }
        }
        #expect(headsAndConnects == 4)
    }

    /// The public initializers build through the memberwise ones (`MemberwiseMarker`): every field is
    /// kept, and equality and hashing see the public fields only.
    @Test func summariesAndExchangeKeepEveryField() {
        let request = HTTPRequestSummary(
            method: "POST", target: "/a?b", rawPath: "/a", path: "/a", query: "b", version: "HTTP/1.1", host: "h",
            userAgent: "ua", methodCode: "mc", tCode: "tc", contentType: "ct", bodyPrefix: [1, 2], bodyLength: 7,
            bodyTruncated: true)
        #expect(request.method == "POST" && request.target == "/a?b" && request.rawPath == "/a" && request.path == "/a")
        #expect(request.query == "b" && request.version == "HTTP/1.1" && request.host == "h" && request.userAgent == "ua")
        #expect(request.methodCode == "mc" && request.tCode == "tc" && request.contentType == "ct")
        #expect(request.bodyPrefix == [1, 2] && request.bodyLength == 7 && request.bodyTruncated)
        let response = HTTPResponseSummary(
            status: 201, contentType: "j", contentEncoding: "gzip", bodyPrefix: [3], bodyLength: 9, bodyTruncated: false,
            bodyless: true)
        #expect(response.status == 201 && response.contentType == "j" && response.contentEncoding == "gzip")
        #expect(response.bodyPrefix == [3] && response.bodyLength == 9 && !response.bodyTruncated && response.bodyless)
        let connection = connectionInfo()
        func exchange(_ request: HTTPRequestSummary?) -> HTTPExchange {
            HTTPExchange(
                connection: connection, client: testClient, server: testServer, request: request, response: response,
                completeness: .complete, sawGap: true, isFirstOnConnection: true,
                requestFirstByte: Timestamp(nanoseconds: 1), requestLastByte: Timestamp(nanoseconds: 2),
                responseFirstByte: Timestamp(nanoseconds: 3), responseLastByte: Timestamp(nanoseconds: 4))
        }
        let built = exchange(request)
        #expect(built.connection == connection && built.client == testClient && built.server == testServer)
        #expect(built.request == request && built.response == response && built.completeness == .complete)
        #expect(built.sawGap && built.isFirstOnConnection)
        #expect(built.requestFirstByte == Timestamp(nanoseconds: 1) && built.requestLastByte == Timestamp(nanoseconds: 2))
        #expect(built.responseFirstByte == Timestamp(nanoseconds: 3) && built.responseLastByte == Timestamp(nanoseconds: 4))
        #expect(exchange(request) == built && exchange(request).hashValue == built.hashValue)
        var other = request
        other.tCode = "other"
        #expect(exchange(other) != built)
    }

    /// The in-line word search finds what memchr finds: every start in buffers of every length up to 40,
    /// with the byte absent, present once or several times, and neighbours differing in one bit.
    @Test func nearbySearchEqualsMemchr() {
        var rng = SeededGenerator(seed: 11)
        var found = 0
        for length in 0...40 {
            for _ in 0..<200 {
                let target: UInt8 = [0x0A, 0x3A, 0x20, 0x00, 0xFF, 0x80].randomElement(using: &rng)!
                let near: [UInt8] = [target ^ 1, target ^ 0x80, target &+ 1, target &- 1, 0x0D, 0x41]
                var bytes = (0..<length).map { _ in near.randomElement(using: &rng)! }
                for _ in 0..<Int.random(in: 0...2, using: &rng) where length > 0 {
                    bytes[Int.random(in: 0..<length, using: &rng)] = target
                }
                bytes.withUnsafeBytes { buffer in
                    for start in 0...length {
                        let expected = buffer.firstIndex(of: target, from: start)
                        if expected != nil { found += 1 }
                        #expect(buffer.firstIndexNearby(of: target, from: start) == expected)
                    }
                }
            }
        }
        #expect(found > 10_000)
    }

    /// OWS trimming with its one-SP shortcut gives what trimming byte by byte gives: values of every
    /// length up to 12 made of SP, HTAB, CR and letters, so that both ends and the second byte take
    /// every kind.
    @Test func trimmingEqualsByteByByteTrimming() {
        var rng = SeededGenerator(seed: 23)
        let alphabet: [UInt8] = [0x20, 0x09, 0x0D, 0x61, 0x41, 0x3A]
        func reference(_ bytes: [UInt8]) -> [UInt8] {
            var lower = 0
            var upper = bytes.count
            while lower < upper && (bytes[lower] == 0x20 || bytes[lower] == 0x09) { lower += 1 }
            while upper > lower && (bytes[upper - 1] == 0x20 || bytes[upper - 1] == 0x09) { upper -= 1 }
            return Array(bytes[lower..<upper])
        }
        var shortcuts = 0
        for length in 0...12 {
            for _ in 0..<300 {
                let bytes = (0..<length).map { _ in alphabet.randomElement(using: &rng)! }
                let trimmed = bytes.withUnsafeBytes { Array($0.trimmingOWS()) }
                #expect(trimmed == reference(bytes), "\(bytes)")
                if length >= 2 && bytes[0] == 0x20 && trimmed.count == length - 1 { shortcuts += 1 }
            }
        }
        #expect(shortcuts > 100)
    }
}
