import HTTP1Observer
import Testing

@testable import ChannelMetrics

/// A response body the HTTP observer lends (read where it lies, the summary's prefix empty) gives
/// the same codes, labels and counts as the same body kept in the summary.
@Suite struct LentBodyTests {
    /// Bodies of every kind the rules tell apart: usual objects with and without `code` (at the top
    /// level or deeper), `errorcode`, not JSON, not UTF-8, a BOM, UTF-16, arrays, scalars, empty.
    static let bodies: [[UInt8]] = {
        var bodies: [[UInt8]] = [
            "{\"code\":0}", "{\"code\": \"A1\", \"x\": [1, 2]}", "{\"x\":{\"code\":5}}", "{\"errorcode\":3}",
            "{\"code\":null,\"errorcode\":\"e\"}", "{\"code\":7,}", "{\"code\":", "[{\"code\":1}]", "7", "null", "",
            "{\"code\":\"é\"}", "{\"code\":1e400}", "{\"code\":-0.0}", "{\"Code\":2}", " \n{\"code\":true} ",
        ].map { Array($0.utf8) }
        bodies.append([0xEF, 0xBB, 0xBF] + Array("{\"code\":1}".utf8))
        bodies.append([0xFF, 0xFE] + Array("{\"code\":1}".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }))
        bodies.append([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])
        bodies.append(Array(("{\"p\":\"" + String(repeating: "a", count: 200) + "\",\"code\":42}").utf8))
        return bodies
    }()

    @Test func rulesGiveTheSameCodes() {
        let rules = LabelRules()
        for body in Self.bodies {
            for truncated in [false, true] {
                for contentType in ["application/json", "text/plain; charset=latin-1", nil] as [String?] {
                    let kept = Make.response(contentType: contentType, body: body, truncated: truncated)
                    var lentSummary = kept
                    lentSummary.bodyPrefix = []
                    body.withUnsafeBytes { lent in
                        let inner = rules.innerCode(lentSummary, lentBody: lent)
                        #expect(inner == rules.innerCode(kept), "\(body) truncated \(truncated)")
                        let outgoing = rules.outgoingCode(lentSummary, lentBody: lent)
                        #expect(outgoing == rules.outgoingCode(kept), "\(body) truncated \(truncated)")
                    }
                }
            }
        }
    }

    @Test func metricsAreTheSame() {
        let kept = ExpositionTests.metrics()
        let lent = ExpositionTests.metrics()
        for (i, body) in Self.bodies.enumerated() {
            for port: UInt16 in [8080, 443] {
                let exchange = Make.exchange(
                    serverPort: port, request: Make.request(target: "/api/\(i % 3)", host: "b123456789.svc"),
                    response: Make.response(body: body), micros: Int64(1000 * (i + 1)))
                kept.observe(exchange)
                var withoutBody = exchange
                withoutBody.response?.bodyPrefix = []
                body.withUnsafeBytes { lent.observe(withoutBody, responseBody: $0) }
            }
        }
        #expect(lent.render(.prometheusText) == kept.render(.prometheusText))
        #expect(lent.statistics() == kept.statistics())
    }
}
