/// `bench run`: one stage only, N times, for profilers (perf, valgrind) and quick checks.
import ArgumentParser
import CBenchSupport

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one stage N times and print each pass (for perf record / callgrind).")

    @Argument(help: "A pcap or pcapng capture.")
    var file: String

    @Option(help: "libpcap-floor, floor, decode, reassembly, http or pipeline.")
    var stage: String = Stage.pipeline.rawValue

    @Option(name: .customLong("repeat"), help: "Passes.")
    var passes = 1

    @Option(help: "The service's port; default: the first SYN's.")
    var serverPort: UInt16?

    @Flag(help: "pipeline: treat every exchange as an outgoing call (no inbound port).")
    var callsOut = false

    @Flag(help: "Count allocations during the passes (slightly slower).")
    var countAllocations = false

    @Option(name: .customLong("tls-keylog"), help: "pipeline: an NSS key log to decrypt TLS with (repeatable), as replay --tls-keylog.")
    var keylogs: [String] = []

    func run() throws {
        guard let stage = Stage(rawValue: stage) else { throw ValidationError("unknown stage '\(self.stage)'") }
        let port = try resolveServerPort(file: file, given: serverPort)
        guard keylogs.isEmpty || stage == .pipeline else { throw ValidationError("--tls-keylog is for --stage pipeline") }
        for pass in 1...max(passes, 1) {
            if countAllocations { bench_malloc_counting_start() }
            let sample = try measure {
                if stage == .pipeline { return try runPipeline(path: file, serverPort: port, callsOut: callsOut, keylogs: keylogs).output }
                return try runStage(stage, path: file, serverPort: port)
            }
            var line =
                "\(stage.rawValue) pass \(pass): \(sample.output.packets) packets, "
                + "\(String(format3: sample.wallSeconds)) s wall, \(String(format3: sample.cpuSeconds)) s CPU, "
                + "\(String(format3: Double(sample.output.packets) / sample.wallSeconds / 1e6)) Mpkt/s"
            if let exchanges = sample.output.exchanges { line += ", \(exchanges) exchanges" }
            if let bytes = sample.output.deliveredBytes { line += ", \(bytes) bytes delivered" }
            if countAllocations {
                let counts = bench_malloc_counting_stop()
                line += ", \(counts.allocations) allocations"
            }
            print(line)
        }
    }
}
