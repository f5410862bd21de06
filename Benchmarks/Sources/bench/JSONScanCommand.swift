/// `bench json`: the response-body label rule alone (decode + validate + top-level scan) on JSON files.
import ArgumentParser
import ChannelMetrics
import Foundation
import HTTP1Observer

/// Times `LabelRules.innerCode` and its two steps on bodies read from files, in MB/s.
struct JSONScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "json",
        abstract: "MB/s (per CPU second) of the inner-code rule (UTF-8 check + validation + top-level scan) on JSON files.")

    @Argument(help: "JSON files (e.g. /tmp/channel-exporter-bench/www/*.json).")
    var files: [String]

    @Option(help: "CPU seconds per measurement.")
    var seconds: Double = 0.3

    @Option(help: "Measurements of each; the fastest is reported (the least disturbed by other processes).")
    var rounds: Int = 5

    @Option(help: "Run only this step: utf8, scan or innerCode.")
    var only: String?

    @Option(help: "Exactly this many calls per measurement instead of timed ones (for valgrind's instruction counts).")
    var calls: Int?

    func run() throws {
        let rules = LabelRules()
        for file in files {
            let body = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            let response = HTTPResponseSummary(
                status: 200, contentType: "application/json", contentEncoding: nil, bodyPrefix: body,
                bodyLength: body.count, bodyTruncated: false, bodyless: false)
            let label = rules.innerCode(response)
            print("\(file): \(body.count) B, innerCode = \(label)")
            report("  utf8 decode", bytes: body.count) { BodyTextDecoding.pythonJSONBytes(body)?.count ?? -1 }
            report("  scanTopLevel", bytes: body.count) {
                switch rules.parser.scanTopLevel(utf8: body, for: [.code]) {
                case .success(.values(let values)): return values[0] == nil ? 1 : 2
                default: return 0
                }
            }
            report("  innerCode", bytes: body.count) { rules.innerCode(response).label.utf8.count }
        }
    }

    /// Prints the best round's MB/s and ns per call of `body` (see `bestSecondsPerCall`).
    private func report(_ name: String, bytes: Int, _ body: () -> Int) {
        if let only, !name.lowercased().contains(only.lowercased()) { return }
        let (best, totalCalls, sink) = bestSecondsPerCall(seconds: seconds, rounds: rounds, calls: calls, body)
        let mbps = Double(bytes) / best / 1e6
        print(String(format: "%@: %8.1f MB/s  %9.0f ns/call  (best of %d, %d calls, sink %d)", name, mbps, best * 1e9, rounds, totalCalls, sink & 1))
    }
}
