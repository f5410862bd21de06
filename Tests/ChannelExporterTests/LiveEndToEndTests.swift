// End to end, live: `channel-exporter run` on lo watches real HTTP traffic and serves it at /metrics.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The executable as shipped, capturing on the loopback interface (needs root or
/// CAP_NET_RAW): real servers (Python), real clients (curl), scraped with curl.
/// Each test has its own ports and temp dir; the suite is serialized so that the
/// machine is not asked to run several captures at once.
@Suite(.serialized) struct LiveEndToEndTests {
    static let innerSeries = #"A123010101_inner_metrics_count{appid="A123",application="A123010101",code="0",f_code="live-e2e",http_status="200",method_code="",path="/api/live",uri="/api/live"}"#
    static let outgoingSeries = #"external_calls_total{appid="A123",application="A123010101",call_type="http",method_code="777",status="success",tcode="TLIVE"}"#

    @Test func inboundAndOutgoingCallsAreCountedAndSIGTERMExitsZero() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await JSONServer(in: directory, name: "service")
        defer { service.stop() }
        let other = try await JSONServer(in: directory, name: "other")
        defer { other.stop() }
        let exchanges = directory.file("exchanges.jsonl")
        let exporter = try await LiveExporter(
            inboundPorts: [service.port], in: directory, extraArguments: ["--exchanges", exchanges])
        defer { exporter.stop() }

        // Inbound: 3 requests on one keep-alive connection, 2 on connections of their own.
        try await sendRequests(to: "http://127.0.0.1:\(service.port)/api/live", keepAlive: 3, newConnections: 2)
        // Outgoing: the other server's port is not an inbound port.
        try await sendRequests(
            to: "http://127.0.0.1:\(other.port)/v1/outgoing", keepAlive: 2, newConnections: 1,
            headers: ["T-Code: tlive", "Method-Code: 777"])

        let inner = try await exporter.waitForSample(Self.innerSeries, atLeast: 5)
        #expect(inner.value == 5, "inner count; exposition:\n\(inner.exposition)")
        let outgoing = try await exporter.waitForSample(Self.outgoingSeries, atLeast: 3)
        #expect(outgoing.value == 3, "external_calls_total; exposition:\n\(outgoing.exposition)")
        let text = outgoing.exposition
        #expect(sampleValue(Self.innerSeries, in: text) == 5)
        // The histogram lines of both families are there, consistent with the counts.
        let infBucket = #"A123010101_inner_metrics_bucket{appid="A123",application="A123010101",code="0",f_code="live-e2e",http_status="200",le="+Inf",method_code="",path="/api/live",uri="/api/live"}"#
        #expect(sampleValue(infBucket, in: text) == 5)
        #expect(text.contains("# TYPE external_call_duration_seconds histogram"))
        // The outgoing calls are not counted as the service's own API, and the reverse.
        #expect(!text.contains(#"path="/v1/outgoing""#))
        #expect(text.contains(#"tcode="TLIVE""#))

        let stopped = await stopWithSIGTERM(exporter)
        #expect(stopped == 0, "exit status after SIGTERM; stderr:\n\(exporter.child.standardError)")

        // The exchange log (complete once the process has exited): our calls are there, and
        // none of the scrapes of /metrics: they are not the service's traffic.
        let logged = try String(contentsOfFile: exchanges, encoding: .utf8).split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
        let servers = logged.compactMap { $0["server"] as? String }
        #expect(servers.filter { $0 == "127.0.0.1:\(service.port)" }.count == 5, "\(servers)")
        // The keep-alive connection carried 3 of the 5: 3 client endpoints in all.
        let clients = Set(logged.filter { $0["server"] as? String == "127.0.0.1:\(service.port)" }.compactMap { $0["client"] as? String })
        #expect(clients.count == 3, "\(clients)")
        #expect(servers.filter { $0 == "127.0.0.1:\(other.port)" }.count == 3, "\(servers)")
        #expect(!servers.contains("127.0.0.1:\(exporter.metricsPort)"), "scrapes were observed: \(servers)")
    }

    @Test func selfMetricsAreServedLive() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await JSONServer(in: directory, name: "service")
        defer { service.stop() }
        let exporter = try await LiveExporter(inboundPorts: [service.port], in: directory)
        defer { exporter.stop() }
        try await sendRequests(to: "http://127.0.0.1:\(service.port)/api/live", keepAlive: 2, newConnections: 0)
        _ = try await exporter.waitForSample(Self.innerSeries, atLeast: 2)

        // The pipeline's counters reach the scrape without thousands of packets first: a
        // scrape asks for them and the capture thread publishes at its next packet (one
        // SYN/RST pair to a closed port here, as any traffic on a live host would do) or at
        // its next idle wake-up.
        var last = ""
        let exchanges = try await poll(timeout: .seconds(30), every: .milliseconds(200)) { () async throws -> Double? in
            try touchLoopback()
            guard let text = try await exporter.scrape() else { return nil }
            last = text
            guard let value = sampleValue(#"channel_exporter_http_exchanges_total{kind="complete"}"#, in: text), value >= 2
            else { return nil }
            return value
        }
        #expect(exchanges != nil, "complete exchanges never reached 2; last scrape:\n\(last)")
        #expect(sampleValue("channel_exporter_packets_total", in: last).map { $0 >= 8 } == true)
        #expect(sampleValue("channel_exporter_tcp_segments_total", in: last).map { $0 >= 8 } == true)
        #expect(last.contains(#"channel_exporter_build_info{swift="#))
        #expect(last.contains("# TYPE channel_exporter_capture_dropped_packets_total counter"))
        #expect(sampleValue(#"channel_exporter_capture_dropped_packets_total{where="kernel"}"#, in: last) == 0)
        // deploy/alerts.yaml reads families this scrape must have (a renamed metric would leave an
        // alert that never fires).
        for name in try AlertRules.metricNames() {
            #expect(last.contains("# TYPE \(name) "), "deploy/alerts.yaml reads \(name), not served:\n\(last)")
        }

        // OpenMetrics when the scraper asks for it.
        let open = try #require(try await exporter.scrape(accept: "application/openmetrics-text; version=1.0.0"))
        #expect(open.hasSuffix("# EOF\n"))
        #expect(open.contains("# TYPE channel_exporter_packets counter"))

        #expect(await stopWithSIGTERM(exporter) == 0)
    }

    /// On a quiet interface time still goes on: a request left unanswered on a connection that then
    /// carries nothing is reported once the idle timeout passes, with no other packet to bring the
    /// news (the scrapes themselves are outside the capture filter), and reaches the exchange log
    /// while the exporter runs (the log is flushed about once a second, not only at exit).
    @Test func anUnansweredRequestOnAQuietInterfaceIsReportedAfterTheIdleTimeout() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let hanging = try HeldRequest()
        defer { hanging.close() }
        let log = directory.file("exchanges.jsonl")
        let exporter = try await LiveExporter(
            inboundPorts: [hanging.port], in: directory, extraArguments: ["--exchanges", log],
            extraConfiguration: "limits:\n  idle_timeout_seconds: 1\n")
        defer { exporter.stop() }
        try hanging.send(path: "/api/hang")

        // Looked for by its line (tests beside this one send traffic on `lo` too, so the counters of
        // every exchange seen there are no measure of this one).
        let line = try await poll(timeout: .seconds(30), every: .milliseconds(200)) { () async throws -> String? in
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").first { $0.contains(#""server":"127.0.0.1:\#(hanging.port)""#) }.map(String.init)
        }
        let reported = try #require(line, "the unanswered request was not reported")
        #expect(reported.contains(#""path":"/api/hang""#) && reported.contains(#""completeness":"request_without_response""#), "\(reported)")
        #expect(exporter.child.isRunning)
        let last = try #require(try await exporter.scrape())
        #expect(sampleValue(#"channel_exporter_http_exchanges_total{kind="request_without_response"}"#, in: last).map { $0 >= 1 } == true)
        // SYN, SYN-ACK, ACK, the request and its ACK: all counted without a later packet.
        #expect(sampleValue("channel_exporter_packets_total", in: last).map { $0 >= 4 } == true, "\(last)")
        #expect(await stopWithSIGTERM(exporter) == 0)
    }

    @Test(arguments: ["text/plain", "application/openmetrics-text; version=1.0.0"])
    func liveScrapeIsCleanUnderPromtool(accept: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await JSONServer(in: directory, name: "service")
        defer { service.stop() }
        let other = try await JSONServer(in: directory, name: "other")
        defer { other.stop() }
        let exporter = try await LiveExporter(inboundPorts: [service.port], in: directory)
        defer { exporter.stop() }
        try await sendRequests(to: "http://127.0.0.1:\(service.port)/api/live", keepAlive: 1, newConnections: 0)
        try await sendRequests(
            to: "http://127.0.0.1:\(other.port)/v1/outgoing", keepAlive: 1, newConnections: 0,
            headers: ["T-Code: tlive", "Method-Code: 777"])
        _ = try await exporter.waitForSample(Self.innerSeries, atLeast: 1)
        _ = try await exporter.waitForSample(Self.outgoingSeries, atLeast: 1)

        let body = try #require(try await exporter.scrape(accept: accept))
        #expect(body.contains("channel_exporter_build_info"))
        #expect(body.contains("A123010101_inner_metrics_bucket"))
        #expect(body.contains("external_call_duration_seconds_bucket"))
        let file = try directory.write("scrape.txt", body)
        let verdict = try await promtoolCheckMetrics(file: file)
        #expect(
            verdict.isClean(for: body, openMetrics: accept.hasPrefix("application/openmetrics-text")),
            "promtool check metrics exit \(verdict.status):\n\(verdict.findings.joined(separator: "\n"))")
    }

    /// `--web.telemetry-path` moves the metrics; other paths are 404, other methods 405,
    /// `/` links to the metrics, a query string is ignored.
    @Test func theTelemetryPathAndTheOtherAnswers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let exporter = try await LiveExporter(
            inboundPorts: [], in: directory, extraArguments: ["--web.telemetry-path", "/custom-metrics"],
            metricsPath: "/custom-metrics")
        defer { exporter.stop() }
        let base = "http://127.0.0.1:\(exporter.metricsPort)"
        let curl = try BuiltExecutable.requiredTool("curl", package: "curl")
        func status(_ arguments: [String]) async throws -> String {
            try await runCommand(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"] + arguments).standardOutput
        }
        #expect(try await status(["\(base)/custom-metrics"]) == "200")
        #expect(try await status(["\(base)/custom-metrics?debug=1"]) == "200")
        #expect(try await status(["\(base)/metrics"]) == "404")
        #expect(try await status(["-X", "POST", "\(base)/custom-metrics"]) == "405")
        #expect(try await httpGet("\(base)/")?.contains(#"<a href="/custom-metrics">"#) == true)
        let body = try #require(try await httpGet("\(base)/custom-metrics"))
        #expect(body.contains("channel_exporter_build_info"))
        #expect(await stopWithSIGTERM(exporter) == 0)
    }

    /// SIGHUP re-reads the file: a bad one is reported and the old configuration kept; a good
    /// one takes effect (here: a new inbound port), but for where the metrics are served, which
    /// waits for a restart and says so.
    @Test func sighupKeepsTheOldConfigurationWhenTheNewOneIsBad() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try await JSONServer(in: directory, name: "first")
        defer { first.stop() }
        let second = try await JSONServer(in: directory, name: "second")
        defer { second.stop() }
        let exporter = try await LiveExporter(inboundPorts: [first.port], in: directory)
        defer { exporter.stop() }
        let config = directory.file("exporter.yaml")

        try directory.write("exporter.yaml", "syscode: A123010101\ninbound:\n  ports: [\(second.port)]\n  colour: blue\n")
        exporter.child.signal(SIGHUP)
        let failure = #"channel_exporter_config_reloads_total{result="failure"}"#
        let failed = try await waitForReload(exporter, sample: failure)
        #expect(failed == 1)
        #expect(exporter.child.standardError.contains("\(config):4: inbound.colour"), "\(exporter.child.standardError)")
        try await sendRequests(to: "http://127.0.0.1:\(first.port)/api/live", keepAlive: 1, newConnections: 0)
        #expect(try await exporter.waitForSample(Self.innerSeries, atLeast: 1).value == 1)

        // The self-metrics count for the process: a reload must not take them back to zero.
        for _ in 0..<60 { try touchLoopback() }
        let packetsBefore = try await poll(timeout: .seconds(30), every: .milliseconds(200)) { () async throws -> Double? in
            try touchLoopback()
            guard let text = try await exporter.scrape(), let value = sampleValue("channel_exporter_packets_total", in: text),
                value >= 120
            else { return nil }
            return value
        }
        #expect(packetsBefore != nil)

        try directory.write(
            "exporter.yaml", "syscode: A123010101\ntelemetry_path: /elsewhere\ninbound:\n  ports: [\(second.port)]\namqp:\n  ports: []\n")
        exporter.child.signal(SIGHUP)
        let success = #"channel_exporter_config_reloads_total{result="success"}"#
        #expect(try await waitForReload(exporter, sample: success) == 1)
        #expect(
            exporter.child.standardError.contains("telemetry_path settings take effect only after a restart"),
            "\(exporter.child.standardError)")
        // Several scrapes, each answered by a fresh publication (a packet after a scrape asks).
        var afterReload = [Double]()
        for _ in 0..<8 {
            try touchLoopback()
            if let text = try await exporter.scrape(), let value = sampleValue("channel_exporter_packets_total", in: text) {
                afterReload.append(value)
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(
            !afterReload.isEmpty && afterReload.allSatisfy { $0 >= packetsBefore ?? .infinity },
            "packets before the reload: \(packetsBefore ?? 0); after: \(afterReload)")
        try await sendRequests(to: "http://127.0.0.1:\(second.port)/api/reloaded", keepAlive: 1, newConnections: 0)
        let reloaded = Self.innerSeries.replacingOccurrences(of: "/api/live", with: "/api/reloaded")
        #expect(try await exporter.waitForSample(reloaded, atLeast: 1).value == 1)
        #expect(exporter.child.isRunning)
        #expect(await stopWithSIGTERM(exporter) == 0)
    }

    /// A reload that changes the metrics but not how connections are followed keeps the connections
    /// in progress: a request sent before it and answered after it is counted, under the new settings.
    @Test func aRequestInFlightDuringAReloadIsCounted() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let held = try HeldRequest()
        defer { held.close() }
        let exporter = try await LiveExporter(inboundPorts: [held.port], in: directory)
        defer { exporter.stop() }
        try held.send(path: "/api/held")
        // Reloaded only once the exporter holds the request (the capture hands packets over in batches).
        let waiting = try await poll(timeout: .seconds(30), every: .milliseconds(200)) { () async throws -> Bool? in
            try touchLoopback()
            guard let text = try await exporter.scrape(), sampleValue("channel_exporter_http_kept_bytes", in: text) ?? 0 > 0 else {
                return nil
            }
            return true
        }
        #expect(waiting == true)

        try directory.write(
            "exporter.yaml", "syscode: A123010101\ninbound:\n  ports: [\(held.port)]\namqp:\n  ports: []\nbuckets:\n  inner: [1, 60000]\n")
        exporter.child.signal(SIGHUP)
        let success = #"channel_exporter_config_reloads_total{result="success"}"#
        #expect(try await waitForReload(exporter, sample: success) == 1)
        #expect(exporter.child.standardError.contains("connections=kept"), "\(exporter.child.standardError)")

        let body = #"{"code":0}"#
        try held.answer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let labels = #"appid="A123",application="A123010101",code="0",f_code="hang-test",http_status="200",method_code="",path="/api/held",uri="/api/held""#
        #expect(try await exporter.waitForSample("A123010101_inner_metrics_count{\(labels)}", atLeast: 1).value == 1)
        // Under the new buckets. (Counters over all of `lo`, such as anomalies, are not checked: tests
        // running beside this one send traffic there too.)
        let text = try #require(try await exporter.scrape())
        let bucket = labels.replacingOccurrences(of: #"method_code="#, with: #"le="60000.0",method_code="#)
        #expect(sampleValue("A123010101_inner_metrics_bucket{\(bucket)}", in: text) == 1)
        #expect(await stopWithSIGTERM(exporter) == 0)
    }

    /// logrotate moves the exchange log away and sends SIGHUP: the lines after it go to a new file.
    @Test func sighupReopensTheExchangeLog() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await JSONServer(in: directory, name: "service")
        defer { service.stop() }
        let log = directory.file("exchanges.jsonl")
        let exporter = try await LiveExporter(inboundPorts: [service.port], in: directory, extraArguments: ["--exchanges", log])
        defer { exporter.stop() }
        func logged(_ path: String, in file: String) async throws -> Bool {
            try await poll(timeout: .seconds(30), every: .milliseconds(200)) { () async throws -> Bool? in
                let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
                return text.contains(#""path":"\#(path)""#) ? true : nil
            } == true
        }
        try await sendRequests(to: "http://127.0.0.1:\(service.port)/api/before", keepAlive: 1, newConnections: 0)
        #expect(try await logged("/api/before", in: log))

        #expect(rename(log, log + ".1") == 0)
        exporter.child.signal(SIGHUP)
        let success = #"channel_exporter_config_reloads_total{result="success"}"#
        #expect(try await waitForReload(exporter, sample: success) == 1)
        try await sendRequests(to: "http://127.0.0.1:\(service.port)/api/after", keepAlive: 1, newConnections: 0)
        #expect(try await logged("/api/after", in: log))
        let old = try String(contentsOfFile: log + ".1", encoding: .utf8)
        #expect(old.contains("/api/before") && !old.contains("/api/after"))
        #expect(await stopWithSIGTERM(exporter) == 0)
    }

    /// Polls until `sample` is at least 1; a reload is applied at the next packet, so each
    /// round also sends one (as any traffic would).
    private func waitForReload(_ exporter: LiveExporter, sample: String) async throws -> Double? {
        try await poll(timeout: .seconds(30), every: .milliseconds(200)) { () async throws -> Double? in
            try touchLoopback()
            guard let text = try await exporter.scrape(), let value = sampleValue(sample, in: text), value >= 1 else { return nil }
            return value
        }
    }

    /// SIGTERM; the exit status (128 + n when signal n ended it) within 10 s, else nil.
    private func stopWithSIGTERM(_ exporter: LiveExporter) async -> Int32? {
        exporter.child.signal(SIGTERM)
        return await exporter.child.waitForExit(timeout: .seconds(10))
    }
}
