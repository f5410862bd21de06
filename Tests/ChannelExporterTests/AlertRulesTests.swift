// deploy/alerts.yaml: valid rules that fire on the series they are for (promtool's unit tests in
// deploy/alerts.test.yaml), on metric names a live exporter serves.
import Foundation
import Testing

enum AlertRules {
    /// The repository's `deploy/` folder (found from this source file's path, as `Fixtures`).
    static let deploy: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/deploy"
    }()

    /// The `channel_exporter_*` names the rules' expressions read (comments and annotations, which
    /// name metrics too, left out).
    static func metricNames() throws -> Set<String> {
        let text = try String(contentsOfFile: deploy + "/alerts.yaml", encoding: .utf8)
        var names = Set<String>()
        for line in text.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("#") || trimmed.hasPrefix("summary:") || trimmed.hasPrefix("description:") { continue }
            var rest = Substring(line)
            while let range = rest.range(of: "channel_exporter_") {
                let name = rest[range.lowerBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                names.insert(String(name))
                rest = rest[name.endIndex...]
            }
        }
        return names
    }
}

@Suite struct AlertRulesTests {
    @Test func theRulesAreValid() async throws {
        let promtool = try BuiltExecutable.requiredTool("promtool", package: "prometheus")
        let result = try await runCommand(promtool, ["check", "rules", AlertRules.deploy + "/alerts.yaml"])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
    }

    @Test func eachAlertFiresOnItsSeriesAndNotOnAHealthyExporters() async throws {
        let promtool = try BuiltExecutable.requiredTool("promtool", package: "prometheus")
        let result = try await runCommand(promtool, ["test", "rules", AlertRules.deploy + "/alerts.test.yaml"])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
    }

    @Test func theRulesReadMetrics() throws {
        let names = try AlertRules.metricNames()
        #expect(names.isSuperset(of: [
            "channel_exporter_capture_up", "channel_exporter_capture_dropped_packets_total",
            "channel_exporter_capture_received_packets_total", "channel_exporter_series_refused_total",
            "channel_exporter_clock_steps_total",
        ]), "\(names.sorted())")
    }
}
