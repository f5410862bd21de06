/// `bench throughput`: the four stages interleaved over one file, medians and ratios to the floor.
import ArgumentParser
import CBenchSupport
import Foundation

struct ThroughputCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput",
        abstract: "Floor, decode, decode+reassembly and the full pipeline over one capture, interleaved.",
        discussion: """
            Reads FILE once to warm the page cache, then runs N rounds of A B C D in one \
            process and reports the median of each stage, the spread (min-max), and each \
            stage's time as a multiple of the floor's time in the same round. Allocations \
            are counted in one extra, untimed pass per stage.
            """)

    @Argument(help: "A pcap or pcapng capture.")
    var file: String

    @Option(name: .customLong("repeat"), help: "Rounds of A B C D.")
    var rounds = 5

    @Option(help: "The service's port (Pipeline inbound.ports, reassembly server port); default: the first SYN's.")
    var serverPort: UInt16?

    @Option(
        parsing: .upToNextOption,
        help: "Stages to run (libpcap-floor floor decode reassembly http pipeline); the floor always runs.")
    var stages: [String] = Stage.allCases.map(\.rawValue)

    @Flag(help: "Skip the untimed allocation-counting pass.")
    var noAllocations = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Also write the JSON report to this file.")
    var jsonFile: String?

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--repeat must be at least 1") }
        for name in stages where Stage(rawValue: name) == nil {
            throw ValidationError("unknown stage '\(name)' (libpcap-floor, floor, decode, reassembly, http, pipeline)")
        }
    }

    func run() throws {
        var selected = Stage.allCases.filter { stages.contains($0.rawValue) }
        if !selected.contains(.floor) { selected.insert(.floor, at: 0) }
        let port = try resolveServerPort(file: file, given: serverPort)
        let fileBytes = bench_read_file(file)
        guard fileBytes >= 0 else { throw BenchError(description: "\(file): cannot be read") }
        _ = bench_read_file(file)  // twice: the second read is the one that finds it cached

        var samples: [Stage: [Sample]] = [:]
        for round in 1...rounds {
            for stage in selected {
                let sample = try measure { try runStage(stage, path: file, serverPort: port) }
                samples[stage, default: []].append(sample)
            }
            if !json {
                let line = selected.map { String(format2: samples[$0]!.last!.wallSeconds) + "s" }.joined(separator: " ")
                printError("round \(round)/\(rounds): \(line)")
            }
        }

        var allocations: [Stage: AllocationCount] = [:]
        if !noAllocations, allocationCounterWorks() {
            for stage in selected {
                allocations[stage] = try countAllocations { try runStage(stage, path: file, serverPort: port) }.0
            }
        }

        let report = ThroughputReport(
            file: file, fileBytes: fileBytes, serverPort: port, rounds: rounds, stages: selected,
            samples: samples, allocations: allocations)
        print(json ? report.json() : report.table())
        if let jsonFile {
            guard FileManager.default.createFile(atPath: jsonFile, contents: Data(report.json().utf8)) else {
                throw BenchError(description: "\(jsonFile): cannot be written")
            }
        }
    }
}

/// The given port, or the one the file's first SYN goes to.
func resolveServerPort(file: String, given: UInt16?) throws -> UInt16 {
    if let given { return given }
    guard let detected = try detectServerPort(path: file) else {
        throw BenchError(description: "\(file): no SYN in the first 100,000 packets; give --server-port")
    }
    return detected
}
