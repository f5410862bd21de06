// Bad input to the executable: a one-line error naming the thing, a non-zero exit, no crash.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct CLIBadInputTests {
    static let goodConfig = Fixtures.path("parity/inbound.config.yaml")
    static let capture = Fixtures.path("parity/inbound.pcap")

    @Test func missingCaptureFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let missing = directory.file("no-such.pcap")
        let result = try await runExporter(["replay", missing, "--config.file", Self.goodConfig])
        expectOneLineError(result, mentioning: [missing, "no such file"])
        #expect(result.standardOutput.isEmpty)
    }

    @Test func aTextFileIsNotACapture() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = try directory.write("notes.pcap", "GET / HTTP/1.1\r\nHost: example\r\n\r\nthis is text, not a capture\n")
        let result = try await runExporter(["replay", text])
        expectOneLineError(result, mentioning: [text, "not a pcap or pcapng capture file"])
    }

    @Test func anUnsupportedLinkTypeIsNamed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // 147 is DLT_USER0: nothing we decode.
        let bytes = ClassicPcap.header(linkType: 147) + ClassicPcap.record([UInt8](repeating: 0xAB, count: 40))
        let file = try directory.write("user0.pcap", bytes: bytes)
        let result = try await runExporter(["replay", file])
        expectOneLineError(result, mentioning: [file, "unsupported link type", "147"])
    }

    /// Cut mid-record: every complete packet is processed (the summary counts them and the
    /// metrics are printed), then the command says "truncated" and exits non-zero.
    @Test func aTruncatedFileIsProcessedUpToTheCutThenReported() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let whole = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.capture)))
        let offsets = try ClassicPcap.recordOffsets(whole)
        try #require(offsets.count > 100)
        let kept = offsets.count / 2
        // Cut inside record `kept` (after its header and a few bytes of its data).
        let cut = offsets[kept] + ClassicPcap.recordHeaderLength + 5
        let file = try directory.write("cut.pcap", bytes: Array(whole[0..<cut]))

        let summary = try await runExporter(["replay", file, "--json", "--no-progress"])
        expectOneLineError(summary, mentioning: [file, "truncated after \(kept) packets"])
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(summary.standardOutput.utf8)) as? [String: Any],
            "stdout is not a JSON object: \(summary.standardOutput)")
        #expect(json["packets"] as? Int == kept)

        let metrics = try await runExporter(["replay", file, "--config.file", Self.goodConfig, "--no-progress"])
        #expect(metrics.status != 0)
        #expect(metrics.standardOutput.contains("# TYPE A123010101_inner_metrics histogram"))
        #expect(metrics.errorLines.last?.contains("truncated after \(kept) packets") == true, "\(metrics.standardError)")
    }

    @Test func anInterfaceThatDoesNotExist() async throws {
        let port = try freeLoopbackPort()
        let result = try await runExporter([
            "run", "--syscode", "A123010101", "--interface", "nosuchif0", "--web.listen-address", "127.0.0.1:\(port)",
        ], timeout: .seconds(30))
        expectOneLineError(result, mentioning: ["nosuchif0", "no such network interface"])
    }

    /// Without CAP_NET_RAW (dropped from the bounding set with util-linux's setpriv when we
    /// are root; as another user we lack it anyway) `run` says what it needs.
    @Test func noCapturePermission() async throws {
        let port = try freeLoopbackPort()
        let exporter = try BuiltExecutable.path()
        let arguments = ["run", "--syscode", "A123010101", "--interface", "lo", "--web.listen-address", "127.0.0.1:\(port)"]
        let result: CommandResult
        if getuid() == 0 {
            let setpriv = try BuiltExecutable.requiredTool("setpriv", package: "util-linux")
            result = try await runCommand(
                setpriv, ["--inh-caps=-all", "--bounding-set=-net_raw,-net_admin", exporter] + arguments, timeout: .seconds(30))
        } else {
            result = try await runCommand(exporter, arguments, timeout: .seconds(30))
        }
        expectOneLineError(result, mentioning: ["lo", "needs root or CAP_NET_RAW"])
    }

    @Test func aListenAddressInUse() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let occupant = try await JSONServer(in: directory, name: "occupant")
        defer { occupant.stop() }
        let result = try await runExporter([
            "run", "--syscode", "A123010101", "--interface", "lo", "--web.listen-address", "127.0.0.1:\(occupant.port)",
        ], timeout: .seconds(30))
        expectOneLineError(result, mentioning: ["127.0.0.1:\(occupant.port)"])
    }

    /// `run` with neither a file nor a syscode says so beside `run`'s usage (it showed the top
    /// command's, `channel-exporter <subcommand>`, as if the subcommand were the mistake).
    @Test func runWithoutAConfigurationShowsItsOwnUsage() async throws {
        let result = try await runExporter(["run", "--interface", "lo"], timeout: .seconds(30))
        #expect(result.status == 64, "\(result.standardError)")
        #expect(result.standardError.contains("give --config.file or --syscode"), "\(result.standardError)")
        #expect(result.standardError.contains("Usage: channel-exporter run "), "\(result.standardError)")
    }

    @Test(arguments: ["replay", "run", "check-config"])
    func anUnknownConfigurationKeyNamesFileAndLine(command: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try directory.write(
            "bad.yaml",
            """
            syscode: A123010101
            inbound:
              ports: [8080]
              colour: blue
            """)
        let arguments: [String]
        switch command {
        case "replay": arguments = ["replay", Self.capture, "--config.file", config]
        case "run": arguments = ["run", "--config.file", config, "--interface", "lo", "--web.listen-address", "127.0.0.1:0"]
        default: arguments = ["check-config", config]
        }
        let result = try await runExporter(arguments, timeout: .seconds(30))
        expectOneLineError(result, mentioning: ["\(config):4", "colour"])
        #expect(result.standardOutput.isEmpty)
    }

    /// A write that fails (here /dev/full: "No space left on device") is an error, whichever file it
    /// was: the exposition, the exchange log, or standard output behind a redirection. The exposition
    /// used to be lost with exit status 0.
    @Test(arguments: [
        ["--output", "/dev/full"], ["--output", "/dev/null", "--exchanges", "/dev/full"], ["--exchanges", "/dev/null"],
    ])
    func aFailedWriteIsAnError(redirect: [String]) async throws {
        let command = (["exec", try BuiltExecutable.path(), "replay", Self.capture, "--config.file", Self.goodConfig, "--no-progress"]
            + redirect).joined(separator: " ")
        // Without --output the exposition goes to standard output: sent to /dev/full as well.
        let toStandardOutput = !redirect.contains("--output")
        let result = try await runCommand("/bin/sh", ["-c", command + (toStandardOutput ? " > /dev/full" : "")])
        #expect(result.status == 1, "\(result.standardError)")
        #expect(result.standardError.contains("No space left on device"), "\(result.standardError)")
    }

    @Test func checkConfigAcceptsAGoodFile() async throws {
        let result = try await runExporter(["check-config", Self.goodConfig])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.isEmpty)
        #expect(result.standardOutput.hasPrefix("configuration OK\n"))
        #expect(result.standardOutput.contains("syscode:        A123010101"))
        #expect(result.standardOutput.contains("inbound ports:  8080"))
        #expect(result.standardOutput.contains("memory bounds:  out-of-order 256 MiB (4 MiB/connection), HTTP kept 256 MiB, AMQP kept 128 MiB"))
    }

    @Test func checkConfigRejectsABadSyscodeOnItsLine() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try directory.write("bad-syscode.yaml", "# a comment\nsyscode: A12\n")
        let result = try await runExporter(["check-config", config])
        expectOneLineError(result, mentioning: ["\(config):2", "syscode", "A12"])
    }

    @Test func checkConfigOnAMissingFile() async throws {
        let result = try await runExporter(["check-config", "/nonexistent/channel-exporter.yaml"])
        expectOneLineError(result, mentioning: ["/nonexistent/channel-exporter.yaml"])
    }

    /// `--json` is valid JSON: alone on stdout without a configuration, on stderr with one
    /// (stdout then carries the exposition).
    @Test func replayJSONSummaryParses() async throws {
        let records = try ClassicPcap.recordOffsets([UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.capture)))).count

        let alone = try await runExporter(["replay", Self.capture, "--json", "--no-progress"])
        #expect(alone.status == 0, "\(alone.standardError)")
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(alone.standardOutput.utf8)) as? [String: Any],
            "not a JSON object: \(alone.standardOutput)")
        #expect(summary["packets"] as? Int == records)
        #expect(summary["files"] as? [String] == [Self.capture])
        #expect((summary["http"] as? [String: Any])?["exchanges"] as? Int ?? 0 > 0)

        let withMetrics = try await runExporter(["replay", Self.capture, "--config.file", Self.goodConfig, "--json", "--no-progress"])
        #expect(withMetrics.status == 0, "\(withMetrics.standardError)")
        #expect(withMetrics.standardOutput.hasPrefix("# HELP "))
        let stderrSummary = try #require(
            try JSONSerialization.jsonObject(with: Data(withMetrics.standardError.utf8)) as? [String: Any],
            "stderr is not a JSON object: \(withMetrics.standardError)")
        #expect(stderrSummary["packets"] as? Int == records)
    }
}
