import ChannelMetrics
import HTTP1Observer
import Testing

/// Label rules the parity fixtures cannot reach (the test client always sends a User-Agent, …).
@Suite struct LabelRuleTests {
    @Test(arguments: [
        (nil, "None"), ("", ""), ("curl/8", "curl/8"), (String(repeating: "x", count: 20), String(repeating: "x", count: 20)),
        (String(repeating: "y", count: 21), String(repeating: "y", count: 20) + "..."),
        ("\u{e9}\u{ff}" + String(repeating: "z", count: 19), "\u{e9}\u{ff}" + String(repeating: "z", count: 18) + "..."),
        ("python-requests/2.31.0", "python-requests/2.31..."),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", "Mozilla/5.0 (X11; Li..."),
        ("abcdefghijklmnopqrst\u{e9}", "abcdefghijklmnopqrst..."),
    ] as [(String?, String)])
    func fCode(_ userAgent: String?, _ expected: String) {
        #expect(LabelRules.fCode(userAgent: userAgent) == expected)
    }

    /// The ASCII shortcut and the Unicode-scalar path agree: random agents of 0…40 characters, ASCII
    /// or with latin-1 letters at random places, against Python's `ua[:20] + "..."` spelled out.
    @Test func fCodeEqualsScalarPrefix() {
        var rng = AdversarialInputTests.SeededGenerator(state: 20)
        let alphabet: [Unicode.Scalar] = ["a", "Z", "/", " ", ".", "(", "0", "\u{e9}", "\u{ff}", "\u{80}"]
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...40, using: &rng)
            let ascii = Bool.random(using: &rng)
            var scalars = String.UnicodeScalarView()
            for _ in 0..<length { scalars.append(alphabet[Int.random(in: 0..<(ascii ? 7 : alphabet.count), using: &rng)]) }
            let agent = String(scalars)
            let expected = scalars.count > 20 ? String(String.UnicodeScalarView(scalars.prefix(20))) + "..." : agent
            #expect(LabelRules.fCode(userAgent: agent) == expected, "\(agent)")
        }
    }

    @Test(arguments: [
        ("b123456789.svc:80", "B123456789"), ("user@B123456789.svc:80", "B123456789"), ("b12345678.svc", ""),
        ("[::1]:8080", ""), ("10.0.0.1:80", ""), ("b1234567890.x", ""), ("1123456789.x", ""), ("", ""),
    ])
    func tcodeFromHost(_ host: String, _ expected: String) {
        let request = Make.request(host: host)
        #expect(LabelRules.tcode(request: request, partner: nil) == expected)
    }

    @Test func tcodePrecedence() {
        let partner = PartnerTable.Entry(hosts: ["p:1"], partner: "2", actions: [:])
        let emptyPartner = PartnerTable.Entry(hosts: ["p:1"], partner: "", actions: [:])
        let withHeader = Make.request(host: "b123456789.svc", headers: [("T-Code", "abc")])
        let emptyHeader = Make.request(host: "b123456789.svc", headers: [("t_code", "")])
        #expect(LabelRules.tcode(request: withHeader, partner: partner) == "2")
        #expect(LabelRules.tcode(request: withHeader, partner: emptyPartner) == "ABC")
        #expect(LabelRules.tcode(request: emptyHeader, partner: nil) == "")
        #expect(LabelRules.tcode(request: Make.request(host: nil), partner: nil) == "")
    }

    @Test(arguments: [
        ("/a/b", "/a/b"), ("/a/b;v=1", "/a/b"), ("/a;x/b", "/a;x/b"), ("/a;x/b;y", "/a;x/b"), ("", ""),
    ])
    func partnerPathDropsLastSegmentParams(_ raw: String, _ expected: String) {
        #expect(LabelRules.partnerPath(rawPath: raw) == expected)
    }

    @Test(arguments: [
        (200, true, "success"), (399, true, "success"), (400, true, "error"), (200, false, "error"), (500, false, "error"),
    ])
    func status(_ http: Int, _ zero: Bool, _ expected: String) {
        #expect(LabelRules.status(httpStatus: http, codeIsNumberZero: zero) == expected)
    }

    @Test func innerCodeOfHeadIsMinusOne() {
        let rules = LabelRules()
        var head = Make.response(body: [])
        head.bodyless = true
        #expect(rules.innerCode(head).label == "-1")
        #expect(rules.innerCode(head).outcome == .empty)
    }

    @Test func truncatedBodyIsCountedAsTruncated() {
        let rules = LabelRules()
        let cut = Make.response(body: "{\"code\": 0, \"pad\": \"".bytes, truncated: true)
        #expect(rules.innerCode(cut) == ("-1", .truncated))
        #expect(rules.outgoingCode(cut).outcome == .truncated)
    }

    @Test func tooDeepBodyIsNotJSONAndCounted() {
        let rules = LabelRules(maxJSONDepth: 8)
        let deep = Make.response(body: ("{\"code\": 1, \"a\": " + String(repeating: "[", count: 9) + String(repeating: "]", count: 9) + "}").bytes)
        #expect(rules.innerCode(deep) == ("-1", .tooDeep))
        #expect(rules.outgoingCode(deep).label == "-1")
    }

    @Test func outgoingMethodCodeSearchOrder() {
        let rules = LabelRules()
        func mc(_ target: String, _ headers: [(String, String)], _ body: String = "") -> String {
            rules.outgoingMethodCode(Make.request(method: "POST", target: target, headers: headers, body: body.bytes))
        }
        let json = ("Content-Type", "application/json")
        let form = ("Content-Type", "application/x-www-form-urlencoded")
        #expect(mc("/x", [("Method-Code", "H")]) == "H")
        #expect(mc("/x?method_code=Q", [("Method-Code", "H")]) == "Q")
        #expect(mc("/x?method_code=Q", [("Method-Code", "H"), form], "methodCode=F") == "F")
        #expect(mc("/x?method_code=Q", [("Method-Code", "H"), json], "{\"a\": {\"METHOD_CODE\": \"J\"}}") == "J")
        #expect(mc("/x", [("Method-Code", "H"), json], "{\"method_code\": null}") == "")
        #expect(mc("/x", [("Method-Code", "H"), json], "{\"method_code\": 0}") == "")
        #expect(mc("/x", [("Method-Code", "H"), json], "{\"other\": 1}") == "H")
        #expect(mc("/x", [("Method-Code", "H"), json], "[{\"method_code\": 7}]") == "7")
        // A JSON text sent without a JSON Content-Type is not the reference's json= argument.
        #expect(mc("/x", [("Method-Code", "H"), ("Content-Type", "text/plain")], "{\"method_code\": \"J\"}") == "H")
    }

    @Test func inboundMethodCodeFirstTruthy() {
        let rules = LabelRules()
        func mc(_ target: String, _ headers: [(String, String)], _ body: String = "") -> String {
            rules.inboundMethodCode(Make.request(method: "POST", target: target, headers: headers, body: body.bytes))
        }
        #expect(mc("/x", [("Method-Code", "")], "{\"method_code\": \"J\"}") == "J")
        #expect(mc("/x?a=1", [], "{\"method_code\": \"J\"}") == "")
        #expect(mc("/x?", [], "{\"method_code\": \"J\"}") == "J")
        #expect(mc("/x?method_code=%ff", []) == "%FF")
        #expect(mc("/x", [("Content-Type", "multipart/form-data")], "{\"method_code\": \"J\"}") == "J")
        // Raw non-UTF-8 bytes in the query: werkzeug cannot decode it; no request data.
        #expect(mc("/x?method_code=\u{e9}", []) == "")
    }
}
