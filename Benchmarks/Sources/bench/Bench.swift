/// The benchmark executable: each stage of channel-exporter against a bare libpcap loop.
import ArgumentParser
import Foundation

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "channel-exporter benchmarks: each stage against a bare libpcap loop over the same file.",
        discussion: """
            With no subcommand: runs `throughput` over $BENCH_DATA/keepalive.pcap \
            (default /tmp/channel-exporter-bench) when it exists, else says how to make \
            the captures. See Benchmarks/README.md.
            """,
        subcommands: [
            ThroughputCommand.self, MemoryCommand.self, RunCommand.self, JSONScanCommand.self, MetricsCommand.self,
            ExpositionCommand.self,
        ])

    func run() throws {
        let directory = ProcessInfo.processInfo.environment["BENCH_DATA"] ?? "/tmp/channel-exporter-bench"
        let capture = directory + "/keepalive.pcap"
        if FileManager.default.fileExists(atPath: capture) {
            printError("bench: running `bench throughput \(capture) --repeat 3` (see --help for the other commands)")
            let command = try ThroughputCommand.parse([capture, "--repeat", "3"])
            try command.run()
            return
        }
        print(Bench.helpMessage())
        print(
            """

            No capture at \(capture). The benchmarks need large captures, which are not in the \
            repository; Benchmarks/README.md ("Captures") says how to make each:
              keepalive.pcap   real nginx + wrk keep-alive traffic on lo (tcpdump)
              open100k.pcap    100,000 connections open at once (for `bench memory`)
            then: swift run -c release bench throughput \(capture)
                  swift run -c release bench memory \(directory)/open100k.pcap
            """)
    }
}
