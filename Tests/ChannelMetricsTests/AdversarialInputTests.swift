import ChannelMetrics
import HTTP1Observer
import Testing

/// Whatever a peer sends: no crash, bounded work, a defined label.
@Suite struct AdversarialInputTests {
    /// xorshift64*: a fixed-seed generator so failures reproduce.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
    }

    static let alphabet = Array("{}[]\":,0123456789.eE+-nultrsfaINy \\/u\r\n\t\u{1}abcdé".utf8) + [0xFF, 0x00, 0xC3]

    @Test func randomBytesThroughEveryParser() {
        var random = SeededGenerator(state: 0x5eed)
        let rules = LabelRules(maxJSONDepth: 16)
        for _ in 0..<3000 {
            let length = Int.random(in: 0..<80, using: &random)
            let body = (0..<length).map { _ in Self.alphabet.randomElement(using: &random)! }
            let text = String(decoding: body, as: UTF8.self)
            _ = PythonJSONParser(maxDepth: 16).parse(utf8: body)
            _ = BodyTextDecoding.pythonJSONBytes(body)
            _ = BodyTextDecoding.requestsJSONText(body, contentType: "application/json; charset=utf-16")
            _ = RequestFields.parseQuery(body)
            _ = MultipartFormFields.parse(body, boundary: "b")
            let request = Make.request(
                method: "POST", target: "/x?" + text, host: text,
                headers: [("Content-Type", ["application/json", "multipart/form-data; boundary=b", "application/x-www-form-urlencoded"][length % 3]),
                          ("User-Agent", text), ("T-Code", text)],
                body: body)
            _ = rules.inboundMethodCode(request)
            _ = rules.outgoingMethodCode(request)
            _ = LabelRules.tcode(request: request, partner: nil)
            _ = rules.innerCode(Make.response(body: body))
            _ = rules.outgoingCode(Make.response(contentType: nil, body: body))
        }
    }

    @Test func multipartEdgeCases() {
        #expect(MultipartFormFields.parse("--b\r\n\r\nv\r\n--b--".bytes, boundary: "b").isEmpty)
        #expect(MultipartFormFields.parse("--b\r\nContent-Disposition: form-data; name=\"m\"\r\n\r\n\r\n--b--".bytes, boundary: "b")
            .map { [$0.0, $0.1] } == [["m", ""]])
        #expect(MultipartFormFields.parse("--b\r\nContent-Disposition: form-data; name=\"m\"\r\n\r\nv".bytes, boundary: "b").isEmpty)
        #expect(MultipartFormFields.parse("--b".bytes, boundary: "b").isEmpty)
        #expect(MultipartFormFields.parse("x".bytes, boundary: "").isEmpty)
    }

    @Test func largeFlatJSONBody() {
        // 10 MB: a wide object with many keys (duplicate detection stays linear), code at the end.
        var body: [UInt8] = [UInt8(ascii: "{")]
        body.reserveCapacity(10_500_000)
        var i = 0
        while body.count < 10_000_000 {
            body += "\"k\(i)\": \(i), ".utf8
            i += 1
        }
        body += "\"code\": 7}".utf8
        let rules = LabelRules()
        #expect(rules.innerCode(Make.response(body: body)) == ("7", .found))
    }

    @Test func oddHostHeaders() {
        for host in ["", ":", "@", "[", "[::1", "a@b@c:1", "\u{e9}123456789.x", "A123456789..", " b123456789.x", "b123456789.x:abc"] {
            _ = LabelRules.tcode(request: Make.request(host: host), partner: nil)
        }
        #expect(LabelRules.tcode(request: Make.request(host: "a@b@C123456789.x:1"), partner: nil) == "C123456789")
        #expect(LabelRules.tcode(request: Make.request(host: "b123456789.x:abc"), partner: nil) == "B123456789")
    }
}
