import ArgumentParser
import ChannelExporter
import ChannelMetrics
import PacketCapture

#if canImport(Glibc)
import Glibc
#endif

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        // Named here: derived from the type, the name cost a `String(describing:)` of the type at every
        // start, whose protocol conformance lookups scan the binary (2.6 M instructions of 45 M).
        commandName: "replay",
        abstract: "Replay .pcap/.pcapng files and print the metrics they give.",
        discussion: """
            Files are read through the same pipeline as live capture, in the order of their first \
            packets; time comes from the packets. With a configuration (--config.file or \
            --syscode), the exposition is printed after the last packet and the summary goes to \
            standard error; with --output, the exposition goes to that file and the summary to \
            standard output. Without a configuration, only the summary is printed.
            """)

    @OptionGroup var config: ConfigOptions

    @Argument(
        help: """
            Capture files (pcap or pcapng), replayed in the order of their first packets ('-' for \
            standard input, e.g. from tcpdump -w - or zcat; with it or a FIFO, in the order given).
            """)
    var files: [String]

    @Option(help: "Write the exposition to this file instead of standard output ('-' for standard output).")
    var output: String?

    @Option(help: "Write one JSON line per HTTP exchange to this file ('-' for standard output).")
    var exchanges: String?

    @Option(help: "Exposition format: prometheus (text 0.0.4) or openmetrics.")
    var format: String = "prometheus"

    @Option(
        name: .customLong("tls-keylog"),
        help: "An NSS key log (SSLKEYLOGFILE) to read TLS with (repeatable); added to tls.keylog_files.")
    var tlsKeylogs: [String] = []

    @Option(
        help: ArgumentHelp(
            "Split the connections over this many threads (default: the processors, at most 8).",
            discussion: """
                The reading thread runs a share of the connections itself, each other thread one, and the \
                threads with time to spare a floating share. The output is exactly that of one pipeline (a \
                replay that could differ is redone with one).
                """))
    var threads: Int = ShardedReplay.defaultThreads

    @Flag(help: "Print the summary as JSON.")
    var json = false

    @Flag(name: .customLong("no-progress"), help: "No progress bar, even on a terminal.")
    var noProgress = false

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one capture file") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be 1 to 64") }
        guard format == "prometheus" || format == "openmetrics" else {
            throw ValidationError("--format must be prometheus or openmetrics")
        }
    }

    func run() throws {
        try reportingErrors { try replay() }
    }

    private func replay() throws {
        let loaded = try config.load()
        var configuration = loaded ?? ExporterConfiguration(syscode: "A000000000")
        for path in tlsKeylogs {
            // A key log named on the command line must be there: a replay has no service to write it later.
            _ = try ConfigurationFile.readText(path: path, what: "TLS key log")
            configuration.tls.keylogFiles.append(path)
        }
        let exchangeLog = try exchanges.map { path throws(ExporterError) in try ExchangeLogFile(path: path) }
        var logClosed = false
        defer { if !logClosed { try? exchangeLog?.close() } }
        let totalBytes = files.reduce(UInt64(0)) { $0 + fileSize($1) }
        let progress = ProgressBar(enabled: !noProgress && isatty(STDERR_FILENO) != 0, totalBytes: totalBytes)
        let update: (UInt64, UInt64) -> Void = { _, bytes in progress.update(bytes: bytes) }
        // Not sharded with a JSON summary: its peaks of bytes kept are of the whole flow table at one
        // moment, which no shard sees.
        let outcome = try ShardedReplay.replay(
            files: files, configuration: configuration, threads: json ? 1 : threads, exchangeLog: exchangeLog,
            progress: update)
        progress.finish()
        let result = outcome.result

        // An exchange log that could not be written whole is an error, as an exposition would be.
        logClosed = true
        try exchangeLog?.close()
        let summary = json ? ReplaySummary.json(result) : ReplaySummary.text(result)
        if loaded != nil {
            let exposition = outcome.metrics.render(format == "openmetrics" ? .openMetrics : .prometheusText)
            if let output, output != "-" {
                try TextFile.write(exposition, to: output)
                try writeStandardOutput(summary + "\n")
            } else {
                try writeStandardOutput(exposition)
                writeStandardError(summary + "\n")
            }
        } else {
            try writeStandardOutput(summary + "\n")
        }
        if !result.truncatedFiles.isEmpty {
            for file in result.truncatedFiles { printError(file.description) }
            throw ExitCode(1)
        }
    }
}

/// Writes `text` to standard output unbuffered; a one-line error when it cannot (a full disk or a
/// closed pipe behind a redirection: the exposition would be lost without a word).
func writeStandardOutput(_ text: String) throws(ExporterError) {
    var text = text
    let error: Int32? = text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let n = write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return n < 0 ? errno : EIO }
            offset += n
        }
        return nil
    }
    if let error { throw ExporterError("cannot write standard output: \(String(cString: strerror(error)))") }
}

/// Size of a file in bytes, 0 when unknown (only for the progress bar).
func fileSize(_ path: String) -> UInt64 {
    var st = stat()
    return stat(path, &st) == 0 ? UInt64(st.st_size) : 0
}

/// A one-line progress bar on standard error, shown only once a replay has run for a second.
final class ProgressBar {
    private let enabled: Bool
    private let totalBytes: UInt64
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var shown = false

    init(enabled: Bool, totalBytes: UInt64) {
        self.enabled = enabled && totalBytes > 0
        self.totalBytes = totalBytes
        start = clock.now
    }

    func update(bytes: UInt64) {
        guard enabled else { return }
        let elapsed = clock.now - start
        guard elapsed > .seconds(1) else { return }
        shown = true
        let fraction = min(1, Double(bytes) / Double(totalBytes))
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        writeStandardError("\r[\(bar)] \(Int(fraction * 100))%")
    }

    func finish() {
        if shown { writeStandardError("\r\u{1B}[K") }
    }
}
