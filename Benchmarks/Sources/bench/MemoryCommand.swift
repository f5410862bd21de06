/// `bench memory`: peak RSS and peak open connections of one pass, in a fresh process.
import ArgumentParser
import CBenchSupport
import Foundation

struct MemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Peak RSS and the reassembler's peak active connections over one capture.",
        discussion: """
            Run it as its own process (the peak RSS is the process's): one pass of the \
            full pipeline (default) or of decode+reassembly. Active connections are \
            sampled every 256 packets for the pipeline, every packet for reassembly.
            """)

    @Argument(help: "A pcap or pcapng capture.")
    var file: String

    @Option(help: "pipeline or reassembly.")
    var stage: String = Stage.pipeline.rawValue

    @Option(help: "The service's port; default: the first SYN's.")
    var serverPort: UInt16?

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard stage == Stage.pipeline.rawValue || stage == Stage.reassembly.rawValue else {
            throw ValidationError("--stage is pipeline or reassembly")
        }
    }

    func run() throws {
        let port = try resolveServerPort(file: file, given: serverPort)
        let baseline = bench_current_rss_kib()
        var peakActive = 0
        let sample: Sample
        if stage == Stage.pipeline.rawValue {
            sample = try measure {
                try runPipeline(path: file, serverPort: port, observeEvery: 256) { pipeline in
                    peakActive = max(peakActive, pipeline.statistics.reassembly.connectionsActive)
                }.output
            }
        } else {
            sample = try measure {
                try runReassembly(path: file, serverPort: port) { reassembler in
                    peakActive = max(peakActive, reassembler.activeConnections)
                }
            }
        }
        let report = MemoryReport(
            date: ISO8601DateFormatter().string(from: Date()), file: file, stage: stage, serverPort: port,
            packets: sample.output.packets, connectionsOpened: sample.output.connections ?? 0,
            peakActiveConnections: peakActive, exchanges: sample.output.exchanges,
            baselineRSSKiB: baseline, peakRSSKiB: bench_peak_rss_kib(), wallSeconds: sample.wallSeconds,
            cpuSeconds: sample.cpuSeconds)
        print(json ? report.json() : report.text())
    }
}

struct MemoryReport: Codable {
    var date: String
    var file: String
    var stage: String
    var serverPort: UInt16
    var packets: UInt64
    var connectionsOpened: UInt64
    var peakActiveConnections: Int
    var exchanges: Int?
    /// RSS before the pass (runtime, libraries, configuration).
    var baselineRSSKiB: Int64
    /// getrusage ru_maxrss after the pass.
    var peakRSSKiB: Int64
    var wallSeconds: Double
    var cpuSeconds: Double

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    func text() -> String {
        let peakMiB = Double(peakRSSKiB) / 1024
        let growth = Double(peakRSSKiB - baselineRSSKiB) * 1024
        let perConnection = peakActiveConnections > 0 ? growth / Double(peakActiveConnections) : 0
        return [
            "\(file) (\(stage), server port \(serverPort)), \(date)",
            "packets \(packets), connections opened \(connectionsOpened), peak active \(peakActiveConnections)"
                + (exchanges.map { ", exchanges \($0)" } ?? ""),
            "peak RSS \(String(format2: peakMiB)) MiB (ru_maxrss), baseline before the pass "
                + "\(String(format2: Double(baselineRSSKiB) / 1024)) MiB, "
                + "growth per peak active connection \(Int(perConnection.rounded())) B",
            peakActiveConnections >= 100_000
                ? "\(peakMiB <= 64 ? "met    " : "NOT MET") peak RSS at most 64 MiB with 100k open connections (issue 3)"
                : "(the 64 MiB goal is for 100k open connections; peak here \(peakActiveConnections))",
            "wall \(String(format3: wallSeconds)) s, CPU \(String(format3: cpuSeconds)) s",
        ].joined(separator: "\n")
    }
}
