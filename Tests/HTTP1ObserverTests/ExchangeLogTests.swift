/// The JSON Lines exchange log: exact text, escaping, latencies.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct ExchangeLogTests {
    @Test func completeExchangeLine() {
        let result = run(
            [
                .request("GET /p%C3%A9?q=1 HTTP/1.1\r\nHost: svc\r\n\r\n", at: 1_700_000_000_000_000_000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", at: 1_700_000_000_250_000_001),
            ],
            connection: connectionInfo(synTime: 1_699_999_999_999_000_000))
        #expect(
            ExchangeLog.jsonLine(result.exchanges[0])
                == #"{"ts":1700000000.000000000,"connection":7,"client":"10.0.0.1:40000","server":"10.0.0.2:8080","#
                + #""method":"GET","target":"/p%C3%A9?q=1","path":"/pé","host":"svc","status":200,"#
                + #""request_body_bytes":0,"response_body_bytes":2,"request_first_byte":1700000000.000000000,"#
                + #""request_last_byte":1700000000.000000000,"response_first_byte":1700000000.250000001,"#
                + #""response_last_byte":1700000000.250000001,"server_time_s":0.250000001,"total_time_s":0.251000001,"#
                + #""completeness":"complete","saw_gap":false,"first_on_connection":true}"#)
    }

    @Test func unpairedRequestLineHasNulls() {
        let result = run([.request("GET /x HTTP/1.1\r\n\r\n", at: 2_000_000_000)] + Step.endBoth(at: 3_000_000_000))
        #expect(
            ExchangeLog.jsonLine(result.exchanges[0])
                == #"{"ts":2.000000000,"connection":7,"client":"10.0.0.1:40000","server":"10.0.0.2:8080","method":"GET","#
                + #""target":"/x","path":"/x","host":null,"status":null,"request_body_bytes":0,"response_body_bytes":null,"#
                + #""request_first_byte":2.000000000,"request_last_byte":2.000000000,"response_first_byte":null,"#
                + #""response_last_byte":null,"server_time_s":null,"total_time_s":null,"#
                + #""completeness":"request_without_response","saw_gap":false,"first_on_connection":true}"#)
    }

    @Test(arguments: [
        ("plain", #""plain""#), ("q\"b\\s", #""q\"b\\s""#), ("\n\r\t\u{08}\u{0C}", #""\n\r\t\b\f""#),
        ("\u{01}\u{1F}\u{7F}", #""\u0001\u001f\u007f""#), ("é中😀", "\"é中😀\""),
    ])
    func stringsAreEscaped(text: String, json: String) {
        #expect(ExchangeLog.quoted(text) == json)
    }

    /// A target kept as its parts (origin-form with a query) is quoted as the whole target would be,
    /// escapes in either part included; kept whole, or without a query, it is the whole one quoted.
    @Test(arguments: [
        [UInt8]("/a\"b\\c?q=\"1\"&x=\\".utf8), [UInt8]("/p\u{7F}?\u{01}\t".utf8), [UInt8]("/plain".utf8),
        [UInt8]("/caf".utf8) + [0xE9] + [UInt8]("?q=".utf8) + [0xE9, 0x22], [UInt8]("http://h/\"?\"".utf8), [UInt8]("/?".utf8),
    ])
    func targetQuotedFromItsParts(bytes: [UInt8]) {
        let split = bytes.withUnsafeBytes { RequestTarget(bytes: $0) }
        let request = HTTPRequestSummary(
            method: "GET", storedTarget: split.storedTarget, rawPath: split.rawPath, path: split.path, query: split.query,
            version: "HTTP/1.1", host: nil, userAgent: nil, methodCode: nil, tCode: nil, contentType: nil, bodyPrefix: [],
            bodyLength: 0, bodyTruncated: false)
        let whole = String(bytes.map { Character(Unicode.Scalar($0)) })
        #expect(Array(ExchangeLog.quotedTarget(request).utf8) == Array(ExchangeLog.quoted(whole).utf8))
    }

    /// Every string of bytes 0x00–0x7F and Latin-1 characters is quoted as the per-character rule says
    /// (the writer copies runs of plain UTF-8 bytes whole and escapes the rest).
    @Test func quotingAgreesWithTheRulePerCharacter() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [Unicode.Scalar] = (0...0x80).map { Unicode.Scalar(UInt8($0)) } + ["é", "\u{FF}", "中", "😀"]
        for length in 0...40 {
            for _ in 0..<20 {
                let text = String(String.UnicodeScalarView((0..<length).map { _ in alphabet.randomElement(using: &rng)! }))
                var expected = "\""
                for scalar in text.unicodeScalars {
                    switch scalar {
                    case "\"": expected += "\\\""
                    case "\\": expected += "\\\\"
                    case "\n": expected += "\\n"
                    case "\r": expected += "\\r"
                    case "\t": expected += "\\t"
                    case "\u{08}": expected += "\\b"
                    case "\u{0C}": expected += "\\f"
                    default:
                        if scalar.value < 0x20 || scalar.value == 0x7F {
                            let hex = String(scalar.value, radix: 16)
                            expected += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                        } else {
                            expected.unicodeScalars.append(scalar)
                        }
                    }
                }
                expected += "\""
                #expect(ExchangeLog.quoted(text) == expected, "\(Array(text.utf8))")
            }
        }
    }

    /// A line is appended after what the buffer already holds.
    @Test func linesAreAppendedToTheBuffer() {
        let result = run([.request("GET /x HTTP/1.1\r\n\r\n", at: 2_000_000_000)] + Step.endBoth(at: 3_000_000_000))
        var bytes = Array("previous\n".utf8)
        ExchangeLog.append(result.exchanges[0], to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "previous\n" + ExchangeLog.jsonLine(result.exchanges[0]))
    }

    /// Seconds with 9 decimals at every digit count, against the same number written by `String`.
    @Test func fixedNineAtEveryLength() {
        var values: [Int64] = [0, 1, 9, 10, 99, 100, 999_999_999, 1_000_000_000, Int64.max, Int64.min + 1]
        var power: Int64 = 1
        while power <= Int64.max / 10 {
            values += [power - 1, power, power + 1, power * 7 + 3]
            power *= 10
        }
        for value in values {
            let magnitude = value.magnitude
            let fraction = String(magnitude % 1_000_000_000)
            let expected = (value < 0 ? "-" : "") + String(magnitude / 1_000_000_000) + "."
                + String(repeating: "0", count: 9 - fraction.count) + fraction
            #expect(ExchangeLog.fixedNine(value) == expected, "\(value)")
        }
    }

    @Test func negativeIntervalsKeepTheirSign() {
        #expect(ExchangeLog.fixedNine(-1_500_000_000) == "-1.500000000")
        #expect(ExchangeLog.fixedNine(-5) == "-0.000000005")
        #expect(ExchangeLog.fixedNine(0) == "0.000000000")
    }
}
