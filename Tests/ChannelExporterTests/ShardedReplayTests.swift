// A replay split over several flow pipelines (`--threads`) prints exactly what one pipeline prints:
// every capture under captures/, replayed with one pipeline and with three, compared byte for byte
// (exposition, exchange log, summary, error).
@testable import ChannelExporter
import Foundation
import Testing

@Suite struct ShardedReplayTests {
    /// Everything a replay prints, but its speed.
    struct Printed: Equatable, CustomStringConvertible {
        var exposition = ""
        var exchangeLog = ""
        var summary = ""
        var error = ""
        var description: String { "\(summary)\n\(error)" }
    }

    /// A capture and the configuration it is replayed with.
    struct Case: CustomTestStringConvertible, Sendable {
        var files: [String]
        var configuration: ExporterConfiguration
        var testDescription: String { files.map { String($0.dropFirst(Fixtures.captures.count + 1)) }.joined(separator: " ") }
    }

    /// Every capture file under captures/: HTTP with inbound ports 80 and 8080 (TLS with its key log when
    /// there is one), the parity captures with their configurations, the rest with the defaults.
    static let cases: [Case] = {
        var cases = [Case]()
        let enumerator = FileManager.default.enumerator(atPath: Fixtures.captures)!
        while let relative = enumerator.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            guard name.contains("pcap") else { continue }
            let path = Fixtures.path(relative)
            var configuration = ExporterConfiguration(syscode: "A123010101")
            let base = String(path[..<path.lastIndex(of: ".")!])
            if relative.hasPrefix("parity/") {
                let text = try! String(contentsOfFile: base + ".config.yaml", encoding: .utf8)
                configuration = try! ConfigurationLoader.parse(text, file: base + ".config.yaml")
            } else if relative.hasPrefix("http/") {
                configuration.inbound.ports = [80, 8080]
            }
            if FileManager.default.fileExists(atPath: base + ".keylog") { configuration.tls.keylogFiles = [base + ".keylog"] }
            cases.append(Case(files: [path], configuration: configuration))
        }
        return cases.sorted { $0.files[0] < $1.files[0] }
    }()

    /// Replays `files` with `threads` pipelines and collects what it prints.
    static func replay(_ testCase: Case, threads: Int) throws -> (Printed, pipelines: Int) {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let logPath = directory.file("exchanges.jsonl")
        let log = try ExchangeLogFile(path: logPath)
        var printed = Printed()
        var pipelines = 0
        do {
            let outcome = try ShardedReplay.replay(
                files: testCase.files, configuration: testCase.configuration, threads: threads, exchangeLog: log)
            pipelines = outcome.pipelines
            printed.exposition = outcome.metrics.render(.prometheusText)
            printed.summary = ReplaySummary.text(outcome.result).split(separator: "\n").dropFirst().joined(separator: "\n")
        } catch {
            printed.error = "\(error)"
        }
        try log.close()
        printed.exchangeLog = try String(contentsOfFile: logPath, encoding: .utf8)
        return (printed, pipelines)
    }

    @Test(arguments: cases)
    func threePipelinesPrintWhatOnePrints(_ testCase: Case) throws {
        let (one, _) = try Self.replay(testCase, threads: 1)
        let (three, _) = try Self.replay(testCase, threads: 3)
        #expect(three.summary == one.summary)
        #expect(three.error == one.error)
        #expect(three.exposition == one.exposition)
        #expect(three.exchangeLog == one.exchangeLog)
    }

    /// Most captures are replayed sharded, not redone with one pipeline (else the comparison above
    /// would compare one pipeline with itself).
    @Test func mostCapturesAreSharded() throws {
        var sharded = 0
        for testCase in Self.cases where try Self.replay(testCase, threads: 3).pipelines == 3 { sharded += 1 }
        #expect(Self.cases.count >= 150)
        #expect(sharded * 4 >= Self.cases.count * 3, "\(sharded) of \(Self.cases.count) sharded")
    }

    /// Budgets reached by a shard's share: the replay is redone with one pipeline, and prints what it prints.
    @Test(arguments: ["pipelined-bodies", "split-heads", "long-labels"])
    func aBudgetReachedIsRedoneWithOnePipeline(_ name: String) throws {
        var configuration = ExporterConfiguration(syscode: "A123010101")
        configuration.inbound.ports = [8080]
        configuration.limits.maxHTTPKeptBytesTotal = 65_536
        configuration.limits.maxLabelBytesPerFamily = 65_536
        let testCase = Case(files: [Fixtures.path("http/adversarial/\(name).pcap")], configuration: configuration)
        let (one, _) = try Self.replay(testCase, threads: 1)
        let (three, pipelines) = try Self.replay(testCase, threads: 3)
        #expect(pipelines == 1)
        #expect(three == one)
    }

    /// Eviction: more connections than a shard's share of `max_connections`.
    @Test func connectionsEvictedAreRedoneWithOnePipeline() throws {
        var configuration = ExporterConfiguration(syscode: "A123010101")
        configuration.limits.maxConnections = 4
        let testCase = Case(files: [Fixtures.path("http/adversarial/pipelined-bodies.pcap")], configuration: configuration)
        let (one, _) = try Self.replay(testCase, threads: 1)
        let (three, pipelines) = try Self.replay(testCase, threads: 3)
        #expect(one.summary.contains("evicted"))
        #expect(pipelines == 1)
        #expect(three == one)
    }

    /// Several files, one after the other, as one pipeline reads them.
    @Test func severalFilesInTimeOrder() throws {
        let files = ["http/keepalive-curl.pcap", "http/chunked.pcap", "http/close-delimited.pcap"].map(Fixtures.path)
        var configuration = ExporterConfiguration(syscode: "A123010101")
        configuration.inbound.ports = [80, 8080]
        let testCase = Case(files: files, configuration: configuration)
        let (one, _) = try Self.replay(testCase, threads: 1)
        let (two, pipelines) = try Self.replay(testCase, threads: 2)
        #expect(pipelines == 2)
        #expect(two == one)
    }
}
