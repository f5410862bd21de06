import ChannelMetrics
import HTTP1Observer
import Testing

/// Each case was run through the real channel-exporter 1.2.2 (Fixtures/make_expected.py);
/// the same wire-visible inputs must give the same labels here.
@Suite struct ReferenceParityTests {
    static let inboundCases = Fixture.cases("inbound").map(Case.init)
    static let outboundCases = Fixture.cases("outbound").map(Case.init)

    struct Case: CustomTestStringConvertible, Sendable {
        nonisolated(unsafe) let raw: [String: Any]
        init(_ raw: [String: Any]) { self.raw = raw }
        var testDescription: String { raw["name"] as! String }
    }

    /// The label rules without the label-length bound (a 4300-digit code is a case; the bound is tested apart).
    static func unboundedMetrics() -> ChannelMetrics {
        var configuration = Make.configuration()
        configuration.maxLabelValueBytes = .max
        return ChannelMetrics(configuration: configuration)
    }

    static func series(_ metrics: ChannelMetrics, _ family: String) -> [[String: String]] {
        metrics.snapshot().first { $0.name == family }!.series.map(\.labels)
    }

    @Test(arguments: inboundCases)
    func inbound(_ c: Case) {
        let raw = c.raw
        let headers = Fixture.pairs(raw["seen_headers"])
        let request = Make.request(
            method: raw["method"] as? String ?? "GET", target: raw["target"] as! String, headers: headers,
            body: Fixture.base64(raw["body"]))
        let response = Make.response(
            status: raw["status"] as! Int, contentType: raw["response_content_type"] as? String,
            body: Fixture.base64(raw["response_body"]))
        let metrics = Self.unboundedMetrics()
        metrics.observe(Make.exchange(serverPort: 8080, request: request, response: response))
        let recorded = Self.series(metrics, "A123010101_inner_metrics")
        if let expected = raw["expected"] as? [String: String] {
            #expect(recorded == [expected])
        } else {
            #expect(recorded.isEmpty)
        }
    }

    @Test(arguments: outboundCases.filter { $0.raw["wire_ambiguous"] == nil })
    func outgoing(_ c: Case) {
        let raw = c.raw
        let wire = raw["wire"] as! [String: Any]
        let headers = Fixture.pairs(wire["headers"])
        let query = wire["query"] as? String
        let request = Make.request(
            method: wire["method"] as! String, target: (wire["raw_path"] as! String) + (query.map { "?" + $0 } ?? ""),
            host: wire["host"] as? String, headers: headers, body: Fixture.base64(wire["body"]))
        let response = Make.response(
            status: raw["status"] as! Int, contentType: raw["response_content_type"] as? String,
            body: Fixture.base64(raw["response_body"]))
        let metrics = Self.unboundedMetrics()
        metrics.observe(Make.exchange(serverPort: 80, request: request, response: response))
        let external = Self.series(metrics, "external_calls_total")
        let duration = Self.series(metrics, "external_call_duration_seconds")
        let partner = Self.series(metrics, "partner_http_metrics")
        if let expected = raw["expected_external"] as? [String: String] {
            #expect(external == [expected])
            #expect(duration == [expected])
        } else {
            #expect(external.isEmpty)
        }
        if let expected = raw["expected_partner"] as? [String: String] {
            #expect(partner == [expected])
        } else {
            #expect(partner.isEmpty)
        }
    }

    /// Cases where the wire cannot show what the reference read: we follow the wire.
    @Test func wireAmbiguousCasesAreDocumented() {
        let ambiguous = Self.outboundCases.filter { $0.raw["wire_ambiguous"] != nil }.map(\.testDescription)
        #expect(ambiguous.sorted() == ["partner_case_sensitive_host", "partner_unlisted_path"])
    }

    /// The reference's own `/metrics` text for a small scenario with chosen durations.
    @Test func expositionMatchesReferenceText() {
        let scenario = Fixture.root["exposition"] as! [String: Any]
        let metrics = ChannelMetrics(configuration: Make.configuration())
        var t0: Int64 = 1_700_000_000_000_000_000
        for step in scenario["steps"] as! [[String: Any]] {
            let c = step["case"] as! [String: Any]
            let micros = Int64(c["micros"] as! Int)
            let response = Make.response(
                status: c["status"] as! Int, contentType: c["response_content_type"] as? String,
                body: Fixture.base64(c["response_body"]))
            if step["kind"] as! String == "inbound" {
                let request = Make.request(target: c["target"] as! String, headers: Fixture.pairs(c["headers"]))
                metrics.observe(Make.exchange(serverPort: 8080, request: request, response: response, micros: micros, t0: t0))
            } else {
                let wire = c["wire"] as! [String: Any]
                let request = Make.request(
                    target: wire["raw_path"] as! String, host: wire["host"] as? String, headers: Fixture.pairs(wire["headers"]))
                metrics.observe(Make.exchange(serverPort: 80, request: request, response: response, micros: micros, t0: t0))
            }
            t0 += 10_000_000_000
        }
        let expected = scenario["text"] as! String
        let ours = metrics.render(.prometheusText)
        // The reference has no consumer family without its ctec_consumer module; ours always has it.
        let withoutConsumer = ours.components(separatedBy: "# HELP A123010101_consumer_metrics")[0]
        #expect(withoutConsumer == expected)
        let openMetrics = metrics.render(.openMetrics).components(separatedBy: "# HELP A123010101_consumer_metrics")[0]
        #expect(openMetrics + "# EOF\n" == scenario["openmetrics_text"] as! String)
    }
}
