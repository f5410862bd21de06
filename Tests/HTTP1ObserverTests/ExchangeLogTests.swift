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

    @Test func negativeIntervalsKeepTheirSign() {
        #expect(ExchangeLog.fixedNine(-1_500_000_000) == "-1.500000000")
        #expect(ExchangeLog.fixedNine(-5) == "-0.000000005")
        #expect(ExchangeLog.fixedNine(0) == "0.000000000")
    }
}
