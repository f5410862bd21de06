// A real Prometheus server scrapes the live exporter and can query a family.
import Foundation
import Testing

/// The Debian `prometheus` package, started on loopback with a temp config and a temp
/// TSDB, scraping `channel-exporter run` every second; stopped by PID. A missing
/// `prometheus` fails the test (the README's test command installs it).
@Suite(.serialized) struct LivePrometheusTests {
    @Test func prometheusScrapesTheExporterAndQueriesTheInnerFamily() async throws {
        let prometheus = try BuiltExecutable.requiredTool("prometheus", package: "prometheus")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = try await JSONServer(in: directory, name: "service")
        defer { service.stop() }
        let exporter = try await LiveExporter(inboundPorts: [service.port], in: directory)
        defer { exporter.stop() }
        try await sendRequests(to: "http://127.0.0.1:\(service.port)/api/prom", keepAlive: 2, newConnections: 1)
        let series = #"A123010101_inner_metrics_count{appid="A123",application="A123010101",code="0",f_code="live-e2e",http_status="200",method_code="",path="/api/prom",uri="/api/prom"}"#
        let seen = try await exporter.waitForSample(series, atLeast: 3)
        #expect(seen.value == 3)

        let (server, api) = try Self.startPrometheus(prometheus, scraping: exporter.metricsPort, in: directory)
        defer { server.stop() }

        // The target is up: Prometheus parsed our exposition (it asks for OpenMetrics first).
        var lastTargets = ""
        let target = try await poll(timeout: .seconds(30), every: .milliseconds(250)) { () async throws -> [String: Any]? in
            guard server.isRunning, let body = try await httpGet("\(api)/targets") else { return nil }
            lastTargets = body
            guard let active = Self.json(body)?["data"].flatMap({ ($0 as? [String: Any])?["activeTargets"] }) as? [[String: Any]],
                let first = active.first, first["health"] as? String == "up"
            else { return nil }
            return first
        }
        #expect(target != nil, "target never up; prometheus running: \(server.isRunning); /api/v1/targets: \(lastTargets)\nstderr:\n\(server.standardError)")
        #expect(target?["lastError"] as? String == "")
        #expect(target?["scrapeUrl"] as? String == "http://127.0.0.1:\(exporter.metricsPort)/metrics")

        // A query for the family gives the series with the count the exporter serves.
        var lastQuery = ""
        let result = try await poll(timeout: .seconds(30), every: .milliseconds(250)) { () async throws -> [[String: Any]]? in
            guard let body = try await httpGet("\(api)/query?query=A123010101_inner_metrics_count") else { return nil }
            lastQuery = body
            guard let data = Self.json(body)?["data"] as? [String: Any], let result = data["result"] as? [[String: Any]],
                !result.isEmpty
            else { return nil }
            return result
        }
        let samples = try #require(result, "no result for A123010101_inner_metrics_count; last answer: \(lastQuery)")
        let ours = samples.first { ($0["metric"] as? [String: String])?["path"] == "/api/prom" }
        let labels = try #require(ours?["metric"] as? [String: String], "no series with path=/api/prom in \(samples)")
        #expect(labels["job"] == "channel-exporter")
        #expect(labels["f_code"] == "live-e2e")
        #expect(labels["code"] == "0")
        #expect((ours?["value"] as? [Any])?.last as? String == "3")
    }

    /// Prometheus asks for OpenMetrics first, where a counter family `x` has samples `x_total`:
    /// the self-metric counters and the build info must arrive under their usual names.
    @Test func selfMetricsArriveUnderTheirTextFormatNames() async throws {
        let prometheus = try BuiltExecutable.requiredTool("prometheus", package: "prometheus")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let exporter = try await LiveExporter(inboundPorts: [], in: directory)
        defer { exporter.stop() }
        let (server, api) = try Self.startPrometheus(prometheus, scraping: exporter.metricsPort, in: directory)
        defer { server.stop() }
        for query in ["channel_exporter_build_info", "channel_exporter_config_reloads_total", "channel_exporter_series_refused_total"] {
            var last = ""
            let result = try await poll(timeout: .seconds(30), every: .milliseconds(250)) { () async throws -> [[String: Any]]? in
                guard server.isRunning, let body = try await httpGet("\(api)/query?query=\(query)") else { return nil }
                last = body
                guard let data = Self.json(body)?["data"] as? [String: Any], let result = data["result"] as? [[String: Any]],
                    !result.isEmpty
                else { return nil }
                return result
            }
            #expect(result != nil, "no result for \(query); last answer: \(last)\nstderr:\n\(server.standardError)")
        }
    }

    /// Prometheus on a free loopback port, scraping 127.0.0.1:`port` every second; its API URL.
    private static func startPrometheus(
        _ prometheus: String, scraping port: UInt16, in directory: TemporaryDirectory
    ) throws -> (ChildProcess, String) {
        let config = try directory.write(
            "prometheus.yml",
            """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: channel-exporter
                static_configs:
                  - targets: ["127.0.0.1:\(port)"]
            """)
        let webPort = try freeLoopbackPort()
        let server = try ChildProcess(
            name: "prometheus", executable: prometheus,
            arguments: [
                "--config.file=\(config)", "--storage.tsdb.path=\(directory.file("tsdb"))",
                "--web.listen-address=127.0.0.1:\(webPort)", "--log.level=warn",
            ],
            in: directory)
        try server.start()
        return (server, "http://127.0.0.1:\(webPort)/api/v1")
    }

    private static func json(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }
}
