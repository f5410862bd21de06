/// Header fields the metrics read, tolerated oddities (obs-fold, bare LF), limits and Content-Length validation.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct HeaderTests {
    private func onlyRequest(_ head: String, configuration: HTTPObserverConfiguration = .init()) -> RunResult {
        runSplitInvariant(
            [.request(head, at: 1000), .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000)],
            configuration: configuration)
    }

    @Test(arguments: [
        ("User-Agent", "useragent"), ("user_agent", "useragent"), ("USERAGENT", "useragent"), ("User_Agent", "useragent"),
        ("Method-Code", "methodcode"), ("method_code", "methodcode"), ("METHOD-CODE", "methodcode"),
        ("T-Code", "tcode"), ("t_code", "tcode"), ("TCODE", "tcode"),
        // Leading separators (the first byte is no letter to pick the name by).
        ("_t_code", "tcode"), ("-T-Code", "tcode"), ("__User-Agent", "useragent"), ("_Method_Code_", "methodcode"),
    ])
    func headerNameSpellingsMatch(name: String, field: String) {
        let result = onlyRequest("GET / HTTP/1.1\r\n\(name): value-1\r\n\r\n")
        let request = result.exchanges.first?.request
        let values = ["useragent": request?.userAgent, "methodcode": request?.methodCode, "tcode": request?.tCode]
        for (key, value) in values {
            #expect(value == (key == field ? "value-1" : nil), "\(name) → \(key)")
        }
    }

    @Test func firstMatchingHeaderWinsAndEmptyValueIsNotNil() {
        let result = onlyRequest(
            "GET / HTTP/1.1\r\nT-Code:\r\nt_code: later\r\nUser_Agent: first\r\nUser-Agent: second\r\nMethod-Code:   \t\r\n\r\n")
        let request = result.exchanges[0].request
        #expect(request?.tCode == "")
        #expect(request?.userAgent == "first")
        #expect(request?.methodCode == "")
    }

    /// The reference reads the WSGI environ, where the server joined the fields of one name with ", "
    /// (found by a random parity campaign: `User-Agent` twice gave `a, b` in the reference, `a` here).
    @Test func repeatsOfOneNameAreJoinedOtherSpellingsAreNot() {
        let result = onlyRequest(
            "GET / HTTP/1.1\r\nUser-Agent:\r\nUserAgent: other\r\nuser-agent: b \r\nUSER-AGENT: c\r\n  folded\r\n"
                + "Method-Code: m1\r\nMethod-Code: m2\r\nT-Code: t\r\nX: y\r\n\r\n")
        let request = result.exchanges[0].request
        #expect(request?.userAgent == ", b, c  folded")
        #expect(request?.methodCode == "m1, m2")
        #expect(request?.tCode == "t")
        let again = onlyRequest("GET / HTTP/1.1\r\nUser-Agent: a\r\nUser-Agent: b\r\nHost: h\r\n\r\n")
        #expect(again.exchanges[0].request?.userAgent == "a, b")
        #expect(again.exchanges[0].request?.host == "h")
    }

    @Test func similarNamesDoNotMatch() {
        let result = onlyRequest("GET / HTTP/1.1\r\nX-T-Code: 1\r\nUser-Agents: 2\r\nHost_: 3\r\nContent_Type: x\r\n\r\n")
        let request = result.exchanges[0].request
        #expect(request?.tCode == nil)
        #expect(request?.userAgent == nil)
        #expect(request?.host == nil)
        #expect(request?.contentType == nil)
    }

    @Test func valuesAreLatin1AndTrimmed() {
        let head: [UInt8] = Array("GET / HTTP/1.1\r\nUser-Agent: \t caf".utf8) + [0xE9, 0xFF] + Array(" x \t\r\n\r\n".utf8)
        let result = runSplitInvariant([.toServer(head, at: 1), .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2)])
        #expect(result.exchanges[0].request?.userAgent == "caf\u{E9}\u{FF} x")
    }

    @Test(arguments: [
        ("/p%C3%A9/x?y=%20", "/p%C3%A9/x", "/pé/x", "y=%20" as String?),
        ("/bad%ZZ%e9end", "/bad%ZZ%e9end", "/bad%ZZ\u{FFFD}end", nil),
        ("/q?", "/q", "/q", ""),
        ("http://api.partner:8443/v1/verify?a=1", "/v1/verify", "/v1/verify", "a=1"),
        ("http://api.partner:8443", "/", "/", nil),
    ])
    func targetsSplitIntoPathAndQuery(target: String, rawPath: String, path: String, query: String?) {
        let result = onlyRequest("GET \(target) HTTP/1.1\r\n\r\n")
        let request = result.exchanges[0].request
        #expect(request?.target == target)
        #expect(request?.rawPath == rawPath)
        #expect(request?.path == path)
        #expect(request?.query == query)
    }

    /// Through a forward proxy the target is the URL the caller called, and the proxy ignores `Host`
    /// (RFC 9112 §3.2.2): `curl -x PROXY -H 'Host: alias.example:8080' http://partner.example:8080/…`
    /// goes to partner.example (captures/http/proxy-edge). The reference keys its partner table on the URL.
    @Test func absoluteFormAuthorityIsTheHostWhateverTheHostHeader() {
        let without = onlyRequest("GET http://a.example:81/x HTTP/1.1\r\n\r\n")
        #expect(without.exchanges[0].request?.host == "a.example:81")
        let with = onlyRequest("GET http://a.example:81/x HTTP/1.1\r\nHost: b.example\r\n\r\n")
        #expect(with.exchanges[0].request?.host == "a.example:81")
        let origin = onlyRequest("GET /x HTTP/1.1\r\nHost: b.example\r\n\r\n")
        #expect(origin.exchanges[0].request?.host == "b.example")
    }

    /// An obs-fold line is appended as it is (leading blanks kept, only the CRLF goes), then the whole
    /// value trimmed, as waitress does (captures/parity scenario `edges`: `fold-a   fold-b`).
    @Test func obsFoldIsJoinedAndCounted() {
        let result = onlyRequest("GET / HTTP/1.1\r\nUser-Agent: first \r\n  second\r\n\tthird \r\n \r\nHost: h\r\n\r\n")
        #expect(result.exchanges[0].request?.userAgent == "first   second\tthird")
        #expect(result.exchanges[0].request?.host == "h")
        #expect(result.statistics.count(of: .obsFold) == 1)
    }

    @Test func bareLFIsToleratedAndCounted() {
        let result = runSplitInvariant([
            .request("GET /a HTTP/1.1\nHost: h\n\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", at: 1000),
            .response("HTTP/1.1 200 OK\nContent-Length: 1\n\nxHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\nz\n0\n\n", at: 2000),
        ])
        #expect(result.exchanges.map { $0.request?.path } == ["/a", "/b"])
        #expect(result.exchanges.map { $0.response?.bodyPrefix.text } == ["x", "z"])
        // Once per head (2) and once per chunk line (3).
        #expect(result.statistics.count(of: .bareLF) == 5)
    }

    @Test func badFieldLineIsIgnoredAndCounted() {
        let result = onlyRequest("GET / HTTP/1.1\r\nno colon here\r\nHost : spaced\r\nHost: good\r\n\r\n")
        #expect(result.exchanges[0].request?.host == "good")
        #expect(result.statistics.count(of: .badHeaderLine) == 2)
    }

    @Test func headerLimitsLoseTheMessageAndResynchronise() {
        var configuration = HTTPObserverConfiguration()
        configuration.maxHeaderBytes = 64
        configuration.maxHeaderCount = 3
        let result = runSplitInvariant(
            [
                .request("GET /big HTTP/1.1\r\nX-Long: \(String(repeating: "a", count: 100))\r\n\r\n", at: 1000),
                .request("GET /many HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", at: 2000),
                .request("GET /ok HTTP/1.1\r\nA: 1\r\n\r\n", at: 3000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 4000),
            ], configuration: configuration)
        #expect(result.statistics.count(of: .headerTooLarge) == 1)
        #expect(result.statistics.count(of: .tooManyHeaders) == 1)
        #expect(result.exchanges.map { $0.request?.path } == ["/ok"])
        #expect(result.exchanges[0].completeness == .complete)
    }

    /// 140 request fields and more response fields, as nginx, Node and Go served and curl read them
    /// (captures/http/proxy-edge/server-edge): read with the default limits (128 fields lost both).
    @Test func fieldCountsRealServersAcceptAreRead() {
        let fields = (0..<140).map { "X-Filler-\($0): vvvvvvvvvv\r\n" }.joined()
        let result = runSplitInvariant([
            .request("GET /many HTTP/1.1\r\nHost: h\r\n\(fields)\r\n", at: 1000),
            .response("HTTP/1.1 200 OK\r\n\(fields)X-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\nX-E: 5\r\nContent-Length: 2\r\n\r\n{}", at: 2000),
        ])
        #expect(result.statistics.count(of: .tooManyHeaders) == 0)
        #expect(result.exchanges.map { $0.request?.path } == ["/many"])
        #expect(result.exchanges.first?.completeness == .complete)
    }

    @Test(arguments: ["-5", "+5", "5x", "", "0x10", "99999999999999999999"])
    func invalidContentLengthInRequestIsCountedAndResynchronised(value: String) {
        let result = runSplitInvariant(
            [
                .request("POST /a HTTP/1.1\r\nContent-Length: \(value)\r\n\r\nGARBAGE BODY\r\nGET /b HTTP/1.1\r\n\r\n", at: 1000),
                .response("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", at: 2000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 3000),
            ] + Step.endBoth(at: 4000))
        #expect(result.statistics.count(of: .badContentLength) == 1)
        #expect(result.exchanges.map { $0.request?.path } == ["/a", "/b"])
        #expect(result.exchanges.map { $0.response?.status } == [400, 200])
        #expect(result.exchanges[0].request?.bodyTruncated == true)
    }

    @Test func identicalRepeatedContentLengthsAreOneValue() {
        let result = runSplitInvariant([
            .request("POST /a HTTP/1.1\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc", at: 1000),
            .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
        ])
        #expect(result.exchanges[0].request?.bodyPrefix.text == "abc")
        #expect(result.statistics.anomalies.isEmpty)
    }

    @Test func conflictingContentLengthsAreCounted() {
        let result = runSplitInvariant(
            [
                .request("GET / HTTP/1.1\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde", at: 2000),
            ] + Step.endBoth(at: 3000))
        #expect(result.statistics.count(of: .conflictingContentLength) == 1)
        // A response with an unusable length is read until the connection closes.
        #expect(result.exchanges[0].response?.bodyPrefix.text == "abcde")
    }

    @Test func negativeContentLengthInResponseDoesNotSwallowTheStream() {
        // Zeek http/261: a negative length must not be taken as huge or as zero-and-parse-body-as-headers.
        let result = runSplitInvariant(
            [
                .request("GET / HTTP/1.1\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", at: 2000),
            ] + Step.endBoth(at: 3000))
        #expect(result.statistics.count(of: .badContentLength) == 1)
        #expect(result.exchanges.count == 1)
        #expect(result.exchanges[0].response?.bodyLength == 19)
    }

    @Test func requestTransferEncodingNotEndingInChunkedIsUnframeable() {
        let result = runSplitInvariant(
            [
                .request("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxxxx\r\nGET /b HTTP/1.1\r\n\r\n", at: 1000),
                .response("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", at: 2000),
            ] + Step.endBoth(at: 4000))
        #expect(result.statistics.count(of: .badTransferEncoding) == 1)
        #expect(result.exchanges.map { $0.request?.path } == ["/a", "/b"])
        #expect(result.exchanges.map(\.completeness) == [.complete, .requestWithoutResponse])
    }
}
