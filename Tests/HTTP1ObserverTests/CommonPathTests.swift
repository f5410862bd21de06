/// The head parser's common path gives what the general path gives, and its 16-byte searches what memchr gives.
import Testing

@testable import HTTP1Observer

/// Every field of a parsed head, and the outcome, as text to compare.
func describeHead(_ head: MessageHead, _ outcome: MessageHead.ParseOutcome, _ cache: SharedParserState) -> String {
    let split = head.requestTarget(in: cache)
    let target = "\(split.target)|\(split.rawPath)|\(split.path)|\(split.query ?? "-")|\(split.authority ?? "-")"
    return """
        \(outcome) req=\(head.isRequest) method=\(head.method) target=\(target) version=\(head.version) \
        status=\(head.status) host=\(head.host ?? "-") ua=\(head.userAgent ?? "-") mc=\(head.methodCode ?? "-") \
        tc=\(head.tCode ?? "-") ct=\(head.contentType ?? "-") ce=\(head.contentEncoding ?? "-") \
        cl=\(head.contentLength) te=\(head.transferEncoding) expect=\(head.expectsContinue) \
        upgrade=\(head.hasUpgradeHeader) anomalies=\(head.anomalies) isHead=\(head.isHead) isConnect=\(head.isConnect)
        """
}

/// Heads of many shapes: the common path takes the plain ones, the general path the others.
private let sampleHeads: [(String, Bool)] = [
    ("GET /api/v1/order?id=10086 HTTP/1.1\r\nUser-Agent: mall-web/2.3.1\r\nAccept: application/json\r\nHost: api.example.com\r\n\r\n", true),
    (
        "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 28 Nov 2026 07:45:36 GMT\r\nContent-Type: application/json\r\n"
            + "Content-Length: 291\r\nLast-Modified: Sat, 28 Nov 2026 07:44:56 GMT\r\nConnection: keep-alive\r\n"
            + "ETag: \"6b0a8678-123\"\r\nAccept-Ranges: bytes\r\n\r\n{\"code\":0}", false
    ),
    (
        "POST http://example.com:8080/a%20b?x=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\nMethod-Code: m\r\n"
            + "T-Code: t\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n"
            + "Expect: 100-continue\r\nUpgrade: websocket\r\n\r\nhello", true
    ),
    ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false),
    ("HTTP/1.0 404 Not Found\n\n", false),
    ("HTTP/1.1 204 No Content\r\nContent-Length: 1, 2\r\n\r\n", false),
    ("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n", false),
    ("HTTP/1.1 200 OK\r\nContent-Length: -7\r\n\r\n", false),
    ("HTTP/1.1 200\r\n\r\n", false),
    ("HTTP/2.0 200 OK\r\n\r\n", false),
    ("HTTP/1.1 2x0 OK\r\n\r\n", false),
    ("HEAD / HTTP/1.1\r\n\r\n", true),
    ("HEADS / HTTP/1.1\r\n\r\n", true),
    ("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", true),
    ("CONNECTS / HTTP/1.1\r\n\r\n", true),
    ("OPTIONS * HTTP/1.1\r\n\r\n", true),
    ("PROPFIND /dav HTTP/1.1\r\nDepth: 1\r\n\r\n", true),
    ("DELETE /x?y HTTP/1.0\r\nHost: other\r\nhost: second\r\n\r\n", true),
    ("GET  / HTTP/1.1\r\n\r\n", true),
    ("GET / HTTP/1.1\r\n\r\n", true),
    ("GET /a b HTTP/1.1\r\n\r\n", true),
    ("GET / HTTP/1.2\r\n\r\n", true),
    ("GET / XTTP/1.1\r\n\r\n", true),
    // obs-fold, lines that are not fields, whitespace before the colon, empty names.
    ("POST /p HTTP/1.0\nX-Fold: a\n b\nbad line\n\n", true),
    ("GET / HTTP/1.1\r\nUser-Agent: a\r\n  b \r\n\tc\r\nHost: h\r\n\r\n", true),
    ("GET / HTTP/1.1\r\nHost : h\r\n\r\n", true),
    ("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", true),
    ("GET / HTTP/1.1\r\n: h\r\n\r\n", true),
    ("GET / HTTP/1.1\r\n\r\r\n\r\n", true),
    ("GET / HTTP/1.1\r\n\rX: y\r\n\r\n", true),
    ("GET / HTTP/1.1\r\nNoColonHere\r\n\r\n", true),
    // Loose names, long names (the colon beyond the first 16 bytes), values crossing 16-byte blocks.
    ("GET / HTTP/1.1\r\nuser_agent: x\r\n-T-Code: 7\r\nMETHOD_CODE: q\r\n_tcode: z\r\n\r\n", true),
    ("GET / HTTP/1.1\r\nX-A-Very-Long-Header-Name-Indeed: v\r\nContent-Type:text/html ; charset=utf-8\t \r\n\r\n", true),
    ("GET / HTTP/1.1\r\nHost:\r\nUser-Agent:    \r\n\r\n", true),
    ("GET / HTTP/1.1\nHost: a\r\nUser-Agent: b\n\r\n", true),
    ("GET / HTTP/1.1\r\nHost: \u{E9}t\u{E9}\r\n\r\n", true),
    // Heads that do not end in the bytes.
    ("GET / HTTP/1.1\r\nHost: h\r\n", true),
    ("GET / HTTP/1.1\r\nHost: h", true),
    ("GET / HTTP/1.1", true),
    ("", true),
    ("HTTP/1.1 200 OK\r\n\r", false),
]

@Suite("Head parser common path")
struct CommonPathTests {
    private func parseBoth(_ bytes: [UInt8], isRequest: Bool, maxHeaderCount: Int = 128) -> (String, String, Bool) {
        var viaParse = MessageHead(isRequest: false)
        var viaGeneral = MessageHead(isRequest: false)
        var tookCommon = false
        let parseCache = SharedParserState()
        let generalCache = SharedParserState()
        let parsed = bytes.withUnsafeBytes { buffer -> MessageHead.ParseOutcome in
            var probe = MessageHead(isRequest: false)
            tookCommon =
                MessageHead.parseCommon(
                    buffer, isRequest: isRequest, maxHeaderCount: maxHeaderCount, cache: SharedParserState(), into: &probe)
                != nil
            return MessageHead.parse(
                buffer, isRequest: isRequest, maxHeaderCount: maxHeaderCount, cache: parseCache, into: &viaParse)
        }
        let general = bytes.withUnsafeBytes {
            MessageHead.parseGeneral(
                $0, isRequest: isRequest, maxHeaderCount: maxHeaderCount, cache: generalCache, into: &viaGeneral)
        }
        return (describeHead(viaParse, parsed, parseCache), describeHead(viaGeneral, general, generalCache), tookCommon)
    }

    /// Each sample head, and every prefix of it: the same head and outcome by `parse` (common path
    /// first) as by the general path alone; the plain ones take the common path.
    @Test func samplesAndTheirPrefixesParseAsTheGeneralPath() {
        var common = 0
        var prefixes = 0
        for (text, isRequest) in sampleHeads {
            let bytes = Array(text.utf8)
            let (whole, general, tookCommon) = parseBoth(bytes, isRequest: isRequest)
            #expect(whole == general, "\(text)")
            if tookCommon { common += 1 }
            for end in 0..<bytes.count {
                let (viaParse, viaGeneral, _) = parseBoth(Array(bytes[..<end]), isRequest: isRequest)
                if viaParse != viaGeneral { Issue.record("prefix \(end) of \(text)") }
                prefixes += 1
            }
        }
        // All but the unusual start lines (HTTP/2.0, HTTP/1.2, a method of 8 letters), obs-fold, the
        // lines that are not fields and the heads that do not end.
        #expect(common == 24)
        #expect(prefixes > 1_500)
    }

    @Test func tooManyFieldLinesAsTheGeneralPath() {
        let text = "GET / HTTP/1.1\r\n" + (0..<5).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        for limit in 3...6 {
            let (viaParse, viaGeneral, _) = parseBoth(Array(text.utf8), isRequest: true, maxHeaderCount: limit)
            #expect(viaParse == viaGeneral, "limit \(limit)")
        }
    }

    /// Field lines whose colon and LF fall at every place around the first 16 bytes of the line
    /// (which the common path reads once for both), as known and other names, with CRLF or a bare LF,
    /// a line without a colon, a colon in the value, and the head ending at the end of the bytes or
    /// before a body: the same head by both paths, and the plain ones by the common path.
    @Test func linesAroundTheFirstSixteenBytesParseAsTheGeneralPath() {
        let names = ["Host", "H", "X-Abcdefghijk", "Content-Type", "Content-Length", "Content-Encoding", "X-Abcdefghijklmno", "X-Abcdefghijklmnopqrst"]
        var common = 0
        var heads = 0
        for name in names {
            for valueLength in 0...36 {
                let value = String(repeating: "7", count: valueLength)
                for variant in 0..<6 {
                    let line: String
                    switch variant {
                    case 0: line = "\(name): \(value)\r\n"
                    case 1: line = "\(name):\(value)\n"
                    case 2: line = "\(name)\(value)\r\n"  // no colon
                    case 3: line = "\(name): \(value):8\r\n"
                    case 4: line = "\(name) : \(value)\r\n"
                    default: line = "\(value)\(name): v\r\n"
                    }
                    for prefix in ["", "A: b\r\n", "Accept: */*\r\n"] {
                        for body in ["", "{\"k\":1}0123456789abcdef"] {
                            let text = "GET /x HTTP/1.1\r\n" + prefix + line + "Accept: */*\r\n\r\n" + body
                            let (viaParse, viaGeneral, tookCommon) = parseBoth(Array(text.utf8), isRequest: true)
                            if viaParse != viaGeneral { Issue.record("\(text.debugDescription): \(viaParse) vs \(viaGeneral)") }
                            if tookCommon { common += 1 }
                            heads += 1
                        }
                    }
                }
            }
        }
        #expect(heads == 8 * 37 * 6 * 3 * 2)
        // All but the lines without a colon and those with a space before it.
        #expect(common == 8 * 37 * 4 * 3 * 2)
    }

    /// Random heads built from pieces that matter to the parser (separators, CR, LF, colons, spaces,
    /// known names in odd cases), 20,000 of them with a fixed seed: the same head by both paths.
    @Test func randomHeadsParseAsTheGeneralPath() {
        var rng = SeededGenerator(seed: 4242)
        let startLines = [
            "GET /a?b=c HTTP/1.1", "POST / HTTP/1.0", "HEAD /x HTTP/1.1", "CONNECT h:1 HTTP/1.1", "HTTP/1.1 200 OK",
            "HTTP/1.0 304 Not Modified", "HTTP/1.1 101", "GET / HTTP/1.1\r", "HTTP/1.1 500 E\r",
        ]
        let pieces = [
            "Host", "HOST", "user-agent", "User_Agent", "t-code", "TCode", "method-code", "Content-Type", "content-length",
            "Content-Encoding", "Transfer-Encoding", "Expect", "Upgrade", "X-Other", "Server", ": ", ":", " ", "\t",
            "\r\n", "\n", "\r", "chunked", "gzip", "100-continue", "12", ",", "application/json", "a-rather-long-value-",
        ]
        var common = 0
        for _ in 0..<20_000 {
            var text = startLines.randomElement(using: &rng)! + "\r\n"
            for _ in 0..<Int.random(in: 0...12, using: &rng) {
                if Bool.random(using: &rng) {
                    // A plain field line, to reach the common path often.
                    text += pieces[0..<16].randomElement(using: &rng)! + ": " + pieces[20...].randomElement(using: &rng)! + "\r\n"
                } else {
                    text += pieces.randomElement(using: &rng)!
                }
            }
            if Int.random(in: 0..<4, using: &rng) != 0 { text += "\r\n" }
            let isRequest = !text.hasPrefix("HTTP/")
            let (viaParse, viaGeneral, tookCommon) = parseBoth(Array(text.utf8), isRequest: isRequest)
            if viaParse != viaGeneral { Issue.record("\(text.debugDescription): \(viaParse) vs \(viaGeneral)") }
            if tookCommon { common += 1 }
        }
        #expect(common > 2_000)
    }

    /// `mayBe` is false only where `classify` gives nil: every known name with each first byte 0...255,
    /// with separators in front, and 200,000 random names of 1 to 40 bytes made of name-like bytes.
    @Test func nameFilterHasNoFalseNegatives() {
        let names = [
            "host", "expect", "upgrade", "content-type", "content-length", "content-encoding", "transfer-encoding",
            "user-agent", "useragent", "t-code", "tcode", "method-code", "_t_code", "-tcode", "--user-agent",
        ]
        func check(_ bytes: [UInt8]) -> Bool {
            let classified = bytes.withUnsafeBytes { KnownField.classify($0) }
            if classified != nil && !KnownField.mayBe(first: bytes[0], count: bytes.count) {
                Issue.record("\(bytes) is \(classified!) but filtered out")
            }
            return classified != nil
        }
        var known = 0
        for name in names {
            for variant in [name, name.uppercased()] {
                var bytes = Array(variant.utf8)
                for first in 0...255 {
                    bytes[0] = UInt8(first)
                    if check(bytes) { known += 1 }
                }
                for prefix in ["-", "_", "-_", "\r"] where check(Array((prefix + variant).utf8)) { known += 1 }
            }
        }
        var rng = SeededGenerator(seed: 77)
        let alphabet = Array("hostexpcugradnlyiTCODEUAGH-_\r".utf8) + [0x7F, 0xC3, 0x00]
        for _ in 0..<200_000 {
            let bytes = (0..<Int.random(in: 1...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            if check(bytes) { known += 1 }
        }
        #expect(known == 108)
    }

    /// The 16-byte search finds what memchr finds: every start in buffers of every length up to 70, with
    /// each of two bytes absent, present once or several times, and neighbours differing in one bit.
    @Test func sixteenByteSearchEqualsMemchr() {
        var rng = SeededGenerator(seed: 16)
        var found = 0
        for length in 0...70 {
            for _ in 0..<60 {
                let a: UInt8 = [0x0A, 0x3A, 0x00, 0xFF].randomElement(using: &rng)!
                let b: UInt8 = Bool.random(using: &rng) ? a : [0x0A, 0x3A, 0x80].randomElement(using: &rng)!
                let near: [UInt8] = [a ^ 1, a ^ 0x80, b ^ 1, b &+ 1, 0x0D, 0x41]
                var bytes = (0..<length).map { _ in near.randomElement(using: &rng)! }
                for _ in 0..<Int.random(in: 0...3, using: &rng) where length > 0 {
                    bytes[Int.random(in: 0..<length, using: &rng)] = Bool.random(using: &rng) ? a : b
                }
                bytes.withUnsafeBytes { buffer in
                    for start in 0...length {
                        let first = [buffer.firstIndex(of: a, from: start), buffer.firstIndex(of: b, from: start)]
                        let expected = first.compactMap { $0 }.min()
                        if expected != nil { found += 1 }
                        if buffer.firstIndex16(of: a, or: b, from: start) != expected {
                            Issue.record("length \(length) start \(start) a \(a) b \(b)")
                        }
                        #expect(buffer.firstIndex16(of: a, from: start) == buffer.firstIndex(of: a, from: start))
                    }
                }
            }
        }
        #expect(found > 50_000)
    }

    /// The method literals by words equal the byte-wise comparisons they replace: every method of 1 to 4
    /// bytes made of the letters of the literals in either case and two separators.
    @Test func methodNamesByWordsEqualByteComparisons() {
        func reference(_ bytes: UnsafeRawBufferPointer) -> String {
            switch bytes.count {
            case 3 where bytes.equalsIgnoringCase("get") && bytes[0] == 0x47: return "GET"
            case 3 where bytes.equalsIgnoringCase("put") && bytes[0] == 0x50: return "PUT"
            case 4 where bytes.equalsIgnoringCase("post") && bytes[0] == 0x50: return "POST"
            case 4 where bytes.equalsIgnoringCase("head") && bytes[0] == 0x48: return "HEAD"
            default: return String(decoding: bytes, as: UTF8.self)
            }
        }
        let letters = Array("GETPUOSHADgetpuoshad-_".utf8)
        var methods: [[UInt8]] = [[]]
        var literals = 0
        for _ in 1...4 {
            methods = methods.flatMap { method in letters.map { method + [$0] } }
            for method in methods {
                method.withUnsafeBytes { bytes in
                    let name = MessageHead.methodName(bytes)
                    #expect(name == reference(bytes) && String.sameBits(name, reference(bytes)))
                    let isHEAD = bytes.count == 4 && bytes.equalsIgnoringCase("head") && bytes[0] == 0x48
                    #expect(MessageHead.isHEAD(bytes) == isHEAD)
                    if ["GET", "PUT", "POST", "HEAD"].contains(name) { literals += 1 }
                }
            }
        }
        // The first letter in upper case, the others in either: GET and PUT 2 * 2 times, POST and HEAD 2 * 2 * 2.
        #expect(literals == 4 + 4 + 8 + 8)
    }

    @Test func connectTestIsExact() {
        for text in ["CONNECT", "CONNECTS", "CONNEC", "connect", "CONNECt", "XONNECT", "CONNEXT"] {
            let bytes = Array(text.utf8)
            #expect(bytes.withUnsafeBytes { $0.isCONNECT } == (text == "CONNECT"), "\(text)")
        }
    }
}

/// Whole connections through the observer: the same exchanges and counters with the common head path
/// as with the general path alone, fed whole, byte by byte and at random cuts.
@Suite("Common head path, whole exchanges")
struct CommonPathExchangeTests {
    static let streams: [(String, [Step])] = [
        (
            "keep-alive mix",
            [
                .request("GET /api/v1/order?id=10086 HTTP/1.1\r\nUser-Agent: mall-web/2.3.1\r\nHost: api.example.com\r\n\r\n", at: 1_000),
                .response(
                    "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"code\":0}",
                    at: 2_000),
                .request(
                    "POST /api/v1/pay?id=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                        + "T-Code: A1\r\nMethod_Code: m\r\n\r\n{}", at: 3_000),
                .response("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 3\r\n\r\nerr", at: 4_000),
                .request("GET http://a.example:81/x HTTP/1.1\r\n\r\nHEAD /h HTTP/1.1\r\nHost: b\r\n\r\n", at: 5_000),
                .response("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", at: 6_000),
                .request("GET /caf\u{E9}?q=1 HTTP/1.0\r\nHost: c\r\n\r\n", at: 7_000),
                .response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", at: 8_000),
            ] + Step.endBoth(at: 9_000)
        ),
        (
            "odd heads",
            [
                .request("GET / HTTP/1.1\r\nUser-Agent: a\r\n  folded\r\nHost: h\r\n\r\n", at: 1_000),
                .response("HTTP/1.1 200 OK\nContent-Length: 1\n\nx", at: 2_000),
                .request("GET /2 HTTP/1.1\r\nHost : h\r\nbad line\r\n\r\n", at: 3_000),
                .response("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", at: 4_000),
                .request("PUT /3 HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n", at: 5_000),
                .response("HTTP/1.1 100 Continue\r\n\r\n", at: 5_500),
                .request("abc", at: 6_000),
                .response("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", at: 7_000),
                .request("GET /4 HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n", at: 8_000),
            ] + Step.endBoth(at: 9_000)
        ),
        (
            "upgrade",
            [
                .request("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", at: 1_000),
                .response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\u{1}\u{2}", at: 2_000),
            ] + Step.endBoth(at: 3_000)
        ),
        (
            "response gzip, request cut short",
            [
                .request("GET /z HTTP/1.1\r\nHost: z\r\n\r\n", at: 1_000),
                .response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd", at: 2_000),
                .request("POST /cut HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", at: 3_000),
            ] + Step.endBoth(at: 4_000)
        ),
    ]

    @Test(arguments: streams.map(\.0))
    func sameExchangesAsTheGeneralPath(_ name: String) {
        let steps = Self.streams.first { $0.0 == name }!.1
        let splittings: [Splitting] = [.whole, .bytewise] + (1...4).map { .random(seed: $0) }
        let reference = run(steps, commonHeadPath: false)
        #expect(!reference.exchanges.isEmpty)
        for splitting in splittings {
            for common in [true, false] {
                let other = run(steps, splitting: splitting, commonHeadPath: common)
                #expect(other.exchanges == reference.exchanges, "\(name): \(splitting), common path \(common)")
                #expect(other.statistics == reference.statistics, "\(name): \(splitting), common path \(common)")
            }
        }
    }
}
