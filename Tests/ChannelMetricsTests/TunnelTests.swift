import ChannelMetrics
import HTTP1Observer
import Testing

/// A CONNECT is the HTTP client's way through its forward proxy, not a call of the service's code: the
/// reference records the calls made through the tunnel under their `https://` URLs (not visible on the
/// wire) and nothing when the proxy refuses the tunnel (`requests` raises `ProxyError`). Recorded, a
/// CONNECT made one call per tunnel, `status="error"` (no JSON body), and a partner call under the
/// tunnel's authority (captures/http/proxy-edge: squid and tinyproxy).
@Suite struct TunnelTests {
    static let partners = try! PartnerTable(yaml: """
        - hosts: ["partner.example:443", "partner.example:8080"]
          partner: "1"
          actions: {/api/x: "PX01"}
        """)

    @Test(arguments: [200, 407])
    func aConnectIsNoCall(status: Int) {
        let metrics = ChannelMetrics(configuration: Make.configuration(partners: Self.partners))
        let connect = Make.request(method: "CONNECT", target: "partner.example:443", host: "partner.example:443")
        let answer = HTTPResponseSummary(
            status: status, contentType: nil, contentEncoding: nil, bodyPrefix: [], bodyLength: 0, bodyTruncated: false,
            bodyless: status == 200)
        metrics.observe(Make.exchange(serverPort: 3128, request: connect, response: answer))
        // A call through the proxy in plain HTTP is one (the metrics read its host and path, whatever the target's form).
        let call = Make.request(target: "/api/x?y=1", host: "partner.example:8080")
        metrics.observe(Make.exchange(serverPort: 3128, request: call, response: Make.response(body: Array(#"{"code":0}"#.utf8))))
        let statistics = metrics.statistics()
        #expect(statistics.skipped[.tunnel] == 1)
        #expect(statistics.recorded[.external] == 1 && statistics.recorded[.partner] == 1)
        let exposition = metrics.render(.prometheusText)
        #expect(exposition.contains(#"external_calls_total{appid="A123",application="A123010101",call_type="http",method_code="PX01",status="success",tcode="1"} 1.0"#), "\(exposition)")
        #expect(!exposition.contains(#"status="error""#))
    }
}
