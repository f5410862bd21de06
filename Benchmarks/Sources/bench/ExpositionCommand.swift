/// `bench exposition`: what a scrape costs to render, and to render and gzip, at each zlib level.
import ArgumentParser
import ChannelExporter
import ChannelMetrics

/// Replays a capture into the metrics (as `channel-exporter replay`), then times the scrape's work on
/// the server's event loop: the render (`ExpositionWriter`, as `LiveRunner` answers `/metrics`) alone,
/// and the render followed by `GzipBody.compress` at each level asked for, with the bytes each gives.
struct ExpositionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exposition",
        abstract: "ms and bytes of a scrape's render, and of render + gzip at each zlib level, after replaying a capture.")

    @Argument(help: "A pcap or pcapng capture with many label sets (see Benchmarks/README.md).")
    var file: String

    @Option(help: "The service's port; default: the first SYN's.")
    var serverPort: UInt16?

    @Option(help: "zlib levels to measure, comma-separated.")
    var levels = "1,2,3,4,6,9"

    @Option(help: "Text format or OpenMetrics (prometheus|openmetrics).")
    var format = "prometheus"

    @Option(help: "CPU seconds per measurement.")
    var seconds: Double = 1

    @Option(help: "Measurements of each; the fastest is reported.")
    var rounds: Int = 3

    func run() throws {
        let port = try resolveServerPort(file: file, given: serverPort)
        let (_, pipeline) = try runPipeline(path: file, serverPort: port)
        let metrics = pipeline.metrics
        let exposition: ExpositionFormat = format == "openmetrics" ? .openMetrics : .prometheusText
        func render() -> [String] {
            var writer = ExpositionWriter(format: exposition)
            metrics.write(to: &writer)
            return writer.finishPieces()
        }
        let plain = render().reduce(0) { $0 + $1.utf8.count }
        let series = metrics.statistics().series.values.reduce(0, +)
        print("\(file): \(series) series, \(plain) bytes rendered (\(format))")
        let renderSeconds = bestSecondsPerCall(seconds: seconds, rounds: rounds) { render().count }.secondsPerCall
        print(String(format: "render          %8.2f ms  %10d bytes", renderSeconds * 1e3, plain))
        for level in levels.split(separator: ",").compactMap({ Int32($0) }) {
            var compressed = 0
            let both = bestSecondsPerCall(seconds: seconds, rounds: rounds) {
                var pieces = render()
                compressed = 0
                _ = GzipBody.compress(&pieces, level: level) { compressed += $0.count }
                return compressed
            }.secondsPerCall
            print(String(
                format: "render + gzip %d %8.2f ms  %10d bytes  (%.1f %% of the size, %.2f× the render's time)",
                level, both * 1e3, compressed, 100 * Double(compressed) / Double(plain), both / renderSeconds))
        }
    }
}
