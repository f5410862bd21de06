/// `json.loads(bytes)` decodes with `errors='surrogatepass'`: a body holding the three-byte forms
/// of surrogates (CESU-8) is JSON to the inbound hooks. Seen with the library (captures/parity
/// scenario `edges`: `code` 3 and 4, `method_code` S1, where we gave -1 and "").
import ChannelMetrics
import HTTP1Observer
import Testing

@Suite struct SurrogatePassTests {
    static let surrogate: [UInt8] = [0xED, 0xA0, 0x80]  // U+D800
    static let pair: [UInt8] = [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]  // U+1F600 as two surrogates

    /// Bodies with a surrogate outside `code`: before it, after it, nested, beyond the block scan's
    /// 64 bytes, in a top-level array; each read through every path of `innerCode` (lent or not).
    static let bodies: [([UInt8], String)] = [
        (Array(#"{"code": 3, "m": ""#.utf8) + surrogate + Array(#""}"#.utf8), "3"),
        (Array(#"{"m": ""#.utf8) + pair + Array(#"", "code": 4}"#.utf8), "4"),
        (Array(#"{"a": {"m": ""#.utf8) + surrogate + Array(#""}, "b": {"code": 5}}"#.utf8), "5"),
        (Array((#"{"pad": ""# + String(repeating: "x", count: 90) + #"", "m": ""#).utf8) + pair
            + Array(#"", "code": "six"}"#.utf8), "six"),
        (Array(#"[""#.utf8) + surrogate + Array(#"", {"code": 7}]"#.utf8), "7"),
        (Array(#"{"m": ""#.utf8) + surrogate + Array(#""}"#.utf8), ""),
    ]

    @Test func innerCodeReadsPastSurrogates() {
        let rules = LabelRules()
        for (body, code) in Self.bodies {
            let response = Make.response(body: body)
            let label = rules.innerCode(response).label
            let lent = body.withUnsafeBytes { rules.innerCode(response, lentBody: $0).label }
            #expect(label == code && lent == code, "\(body)")
            #expect(BodyTextDecoding.pythonJSONBytes(body) == body)
        }
    }

    /// What stays undecodable: bytes Python's codec rejects even with `surrogatepass`.
    @Test(arguments: [
        [0xED, 0xA0], [0xED, 0xC0, 0x80], [0xED, 0xA0, 0xC0], [0xFF], [0xC0, 0x80], [0xF4, 0x90, 0x80, 0x80],
    ] as [[UInt8]])
    func otherInvalidUTF8StaysMinusOne(bad: [UInt8]) {
        let body = Array(#"{"code": 3, "m": ""#.utf8) + bad + Array(#""}"#.utf8)
        #expect(LabelRules().innerCode(Make.response(body: body)) == ("-1", .notDecodable))
    }

    @Test func inboundMethodCodeInABodyWithASurrogate() {
        let body = Array(#"{"x": ""#.utf8) + Self.surrogate + Array(#"", "method_code": "S1"}"#.utf8)
        let request = Make.request(method: "POST", target: "/api/e/1", headers: [("Content-Type", "application/json")], body: body)
        #expect(LabelRules().inboundMethodCode(request) == "S1")
    }

    /// requests decodes with `errors='replace'` (U+FFFD each byte): the outgoing code was read already.
    @Test func outgoingCodeUnchanged() {
        let body = Array(#"{"code": 3, "m": ""#.utf8) + Self.surrogate + Array(#""}"#.utf8)
        let got = LabelRules().outgoingCode(Make.response(body: body))
        #expect(got.label == "3" && got.outcome == .found)
    }
}
