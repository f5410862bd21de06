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
            // Capture files: .pcap, .pcapng (.gz) and the modified pcap formats (`.nokiapcap`, …).
            guard name.hasSuffix("pcap") || name.hasSuffix(".pcapng") || name.hasSuffix(".pcapng.gz") else { continue }
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

    /// Replays `files` with `threads` pipelines (batches of `batchBytes`) and collects what it prints.
    static func replay(
        _ testCase: Case, threads: Int, batchBytes: Int = ShardWorker.bufferSize
    ) throws -> (Printed, pipelines: Int, rerun: ShardedReplay.Rerun?) {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let logPath = directory.file("exchanges.jsonl")
        let log = try ExchangeLogFile(path: logPath)
        var printed = Printed()
        var pipelines = 0
        var rerun: ShardedReplay.Rerun?
        do {
            let outcome = try ShardedReplay.replay(
                files: testCase.files, configuration: testCase.configuration, threads: threads, exchangeLog: log,
                batchBytes: batchBytes)
            pipelines = outcome.pipelines
            rerun = outcome.rerun
            printed.exposition = outcome.metrics.render(.prometheusText)
            printed.summary = ReplaySummary.text(outcome.result).split(separator: "\n").dropFirst().joined(separator: "\n")
        } catch {
            printed.error = "\(error)"
        }
        try log.close()
        printed.exchangeLog = try String(contentsOfFile: logPath, encoding: .utf8)
        return (printed, pipelines, rerun)
    }

    @Test(arguments: cases)
    func threePipelinesPrintWhatOnePrints(_ testCase: Case) throws {
        let (one, _, _) = try Self.replay(testCase, threads: 1)
        let (three, _, _) = try Self.replay(testCase, threads: 3)
        #expect(three.summary == one.summary)
        #expect(three.error == one.error)
        #expect(three.exposition == one.exposition)
        #expect(three.exchangeLog == one.exchangeLog)
    }

    /// Batches of 2 KiB: hundreds of hand-offs a capture, each worker waiting for the reading thread and
    /// the reading thread for the workers many times over (segments larger than a batch grow it), the
    /// floating shard's batches handled now by a worker whose ring is empty, now by the reading thread
    /// (its ring full, or the workers behind); on captures with many connections and packets, with
    /// two threads and with four, repeated (an ordering fault would show in some runs only), several
    /// at once (the suite runs them in parallel: so it found a reading thread waiting for ever for a
    /// worker that had gone).
    @Test(arguments: [
        "http/reverse-proxy/haproxy-close.pcap", "http/stacks/client-go-pool.pcap", "http/stacks/php.pcap",
        "http/stacks/haproxy.pcap", "amqp/ruby-bunny.pcap",
    ])
    func smallBatchesPrintWhatOnePrints(_ file: String) throws {
        let testCase = try #require(Self.cases.first { $0.files[0] == Fixtures.path(file) })
        let (one, _, _) = try Self.replay(testCase, threads: 1)
        for threads in [2, 4, 2, 4, 2] {
            let (sharded, pipelines, _) = try Self.replay(testCase, threads: threads, batchBytes: 2048)
            #expect(pipelines == threads)
            #expect(sharded == one, "\(threads) threads")
        }
    }

    /// Most captures are replayed sharded, not redone with one pipeline (else the comparison above
    /// would compare one pipeline with itself).
    @Test func mostCapturesAreSharded() throws {
        var sharded = 0
        for testCase in Self.cases where try Self.replay(testCase, threads: 3).pipelines == 3 { sharded += 1 }
        #expect(Self.cases.count >= 150)
        #expect(sharded * 4 >= Self.cases.count * 3, "\(sharded) of \(Self.cases.count) sharded")
    }

    /// A bound over all connections reached by a shard's share: the replay is redone with one pipeline
    /// (and prints what it prints). On a capture whose shards are otherwise exact.
    @Test(arguments: ["connections", "kept bytes", "series", "label bytes"])
    func aShareReachedIsRedoneWithOnePipeline(_ bound: String) throws {
        var configuration = ExporterConfiguration(syscode: "A123010101")
        configuration.inbound.ports = [80, 8080]
        // A Go client's pool: 89 connections, up to a dozen open at once; a session of Python requests:
        // 9 label sets in one family.
        let file = Fixtures.path(bound == "connections" ? "http/stacks/client-go-pool.pcap" : bound == "series" ? "http/keepalive-requests.pcap" : "http/stacks/go.pcap")
        // Within the bounds, sharded.
        let (_, unbounded, _) = try Self.replay(Case(files: [file], configuration: configuration), threads: 3)
        #expect(unbounded == 3)
        // Three threads divide a bound in 15 parts (`ShardSplit`: 3 for the reading thread's shard, 5
        // for each worker's, 2 for the floating one): 15 is the least that gives every shard a share.
        switch bound {
        case "connections": configuration.limits.maxConnections = 15
        case "kept bytes": configuration.limits.maxHTTPKeptBytesTotal = 3 * 1024
        case "series": configuration.limits.maxSeriesPerFamily = 15
        default: configuration.limits.maxLabelBytesPerFamily = 300
        }
        try Self.expectRedoneWithOnePipeline(Case(files: [file], configuration: configuration), because: .shareReached)
    }

    /// `testCase` replayed with three threads is redone with one pipeline for `reason`, and prints what
    /// one pipeline prints.
    static func expectRedoneWithOnePipeline(
        _ testCase: Case, because reason: ShardedReplay.Rerun, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let (one, _, _) = try replay(testCase, threads: 1)
        let (three, pipelines, rerun) = try replay(testCase, threads: 3)
        #expect(pipelines == 1, sourceLocation: sourceLocation)
        #expect(rerun == reason, sourceLocation: sourceLocation)
        #expect(three == one, sourceLocation: sourceLocation)
    }

    /// TLS secrets dropped for room (or for their age) are dropped when the other connections'
    /// ClientHellos make the key store look: redone with one pipeline. Two TLS 1.3 connections, room
    /// for one connection's secrets.
    @Test func tlsSecretsDroppedAreRedoneWithOnePipeline() throws {
        var configuration = ExporterConfiguration(syscode: "A123010101")
        configuration.inbound.ports = [80, 8080]
        configuration.tls.keylogFiles = [Fixtures.path("http/tls-decrypt/tls13-resumption.keylog")]
        let file = Fixtures.path("http/tls-decrypt/tls13-resumption.pcap")
        let (_, roomy, _) = try Self.replay(Case(files: [file], configuration: configuration), threads: 3)
        #expect(roomy == 3)
        configuration.tls.maxKeys = 1
        try Self.expectRedoneWithOnePipeline(Case(files: [file], configuration: configuration), because: .tlsKeysDropped)
    }

    /// The copies of a connection behind a NAT may fall in different shards: redone with one pipeline.
    @Test(arguments: ["nat", "nat-midstream", "hairpin", "nodeport"])
    func natCopiesAreRedoneWithOnePipeline(_ name: String) throws {
        var configuration = ExporterConfiguration(syscode: "A123010101")
        configuration.inbound.ports = [80, 8080]
        let testCase = Case(files: [Fixtures.path("http/nat/\(name).pcap")], configuration: configuration)
        let (_, pipelines, rerun) = try Self.replay(testCase, threads: 3)
        #expect(pipelines == 1)
        #expect(rerun == .natCopies)
    }

    /// An exchange log that cannot be written (a full disk) fails at the same line, with the same
    /// counts, as one pipeline's.
    @Test func aLogThatCannotBeWrittenFailsAlike() throws {
        var configuration = ExporterConfiguration(syscode: "A123010101")
        configuration.inbound.ports = [80, 8080]
        var errors: [String] = []
        for threads in [1, 3] {
            let log = try ExchangeLogFile(path: "/dev/full")
            let outcome = try ShardedReplay.replay(
                files: [Fixtures.path("http/keepalive-curl.pcap")], configuration: configuration, threads: threads,
                exchangeLog: log)
            #expect(outcome.pipelines == threads)
            do {
                try log.close()
                errors.append("")
            } catch {
                errors.append("\(error)")
            }
        }
        #expect(errors[0].contains("lines not written"))
        #expect(errors[1] == errors[0])
    }

    /// Several files, one after the other, as one pipeline reads them.
    @Test func severalFilesInTimeOrder() throws {
        let files = ["http/keepalive-curl.pcap", "http/chunked.pcap", "http/close-delimited.pcap"].map(Fixtures.path)
        var configuration = ExporterConfiguration(syscode: "A123010101")
        configuration.inbound.ports = [80, 8080]
        let testCase = Case(files: files, configuration: configuration)
        let (one, _, _) = try Self.replay(testCase, threads: 1)
        let (two, pipelines, _) = try Self.replay(testCase, threads: 2)
        #expect(pipelines == 2)
        #expect(two == one)
    }
}
