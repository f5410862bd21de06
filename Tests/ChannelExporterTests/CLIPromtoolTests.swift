// `promtool check metrics` on what replay prints, in both exposition formats.
import Foundation
import Testing

/// What `promtool check metrics` said about one exposition.
struct PromtoolVerdict {
    var status: Int32
    /// promtool's lines (lint findings go to stdout, parse errors to stderr).
    var findings: [String]
}

extension PromtoolVerdict {
    /// promtool 2.42 lints with the text-format 0.0.4 parser even when given OpenMetrics, where a
    /// counter family `x` (HELP/TYPE) has samples `x_total`: it then reports "x_total no help
    /// text" (exit 3) although the family has its HELP. Those findings, and only those, are the
    /// parser's, not ours; everything else stays a finding.
    func findings(notExplainedByOpenMetricsCounterNaming exposition: String) -> [String] {
        findings.filter { finding in
            guard finding.hasSuffix("_total no help text") else { return true }
            let family = String(finding.dropLast("_total no help text".count))
            return !(exposition.contains("# HELP \(family) ") && exposition.contains("# TYPE \(family) counter\n"))
        }
    }

    /// Clean for the format: exit 0 and no finding for text 0.0.4; for OpenMetrics, no parse
    /// error (exit 1) and no finding beyond the counter-naming ones above.
    func isClean(for exposition: String, openMetrics: Bool) -> Bool {
        if !openMetrics { return status == 0 && findings.isEmpty }
        return (status == 0 || status == 3) && findings(notExplainedByOpenMetricsCounterNaming: exposition).isEmpty
    }
}

/// Pipes the exposition in `file` through `promtool check metrics`. A missing promtool
/// fails (the README's test command installs the `prometheus` package that carries it).
func promtoolCheckMetrics(file: String) async throws -> PromtoolVerdict {
    let promtool = try BuiltExecutable.requiredTool("promtool", package: "prometheus")
    let result = try await runCommand(promtool, ["check", "metrics"], stdin: file, timeout: .seconds(30))
    let findings = (result.standardOutput + result.standardError).split(separator: "\n").map(String.init)
    return PromtoolVerdict(status: result.status, findings: findings)
}

@Suite struct CLIPromtoolTests {
    /// Every parity capture that has a configuration beside it.
    static let scenarios: [String] = {
        let folder = Fixtures.path("parity")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix(".pcap") }.map { String($0.dropLast(".pcap".count)) }
            .filter { names.contains("\($0).config.yaml") }.sorted()
    }()

    @Test func thereAreCapturesToCheck() {
        #expect(Self.scenarios.count >= 4, "\(Self.scenarios)")
    }

    @Test(arguments: scenarios, ["prometheus", "openmetrics"])
    func replayExpositionIsCleanUnderPromtool(scenario: String, format: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let output = directory.file("\(scenario).\(format)")
        let replay = try await runExporter([
            "replay", Fixtures.path("parity/\(scenario).pcap"), "--config.file", Fixtures.path("parity/\(scenario).config.yaml"),
            "--format", format, "--output", output, "--no-progress",
        ])
        #expect(replay.status == 0, "\(replay.standardError)")
        let text = try String(contentsOfFile: output, encoding: .utf8)
        #expect(text.contains("# TYPE "))
        #expect(text.hasSuffix("# EOF\n") == (format == "openmetrics"))

        let verdict = try await promtoolCheckMetrics(file: output)
        #expect(
            verdict.isClean(for: text, openMetrics: format == "openmetrics"),
            "promtool check metrics exit \(verdict.status):\n\(verdict.findings.joined(separator: "\n"))")
    }
}
