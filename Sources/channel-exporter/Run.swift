import ArgumentParser
import ChannelExporter
import Logging

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",  // not derived from the type at every start (Replay says why)
        abstract: "Capture live on an interface and serve the metrics over HTTP.",
        discussion: "Needs root or CAP_NET_RAW. SIGTERM/SIGINT stop; SIGHUP reloads the configuration file.")

    @OptionGroup var config: ConfigOptions

    @Option(help: "Capture interface (default: the file's `interface`, else any).")
    var interface: String?

    @Option(
        name: .customLong("web.listen-address"),
        help: "Address to serve metrics on: host:port, :port (every address) or [v6]:port (default: the file's `listen`, else :9166).")
    var listenAddress: String?

    @Option(name: .customLong("web.telemetry-path"), help: "Path of the metrics (default: the file's `telemetry_path`, else /metrics).")
    var telemetryPath: String?

    @Option(name: .customLong("log.level"), help: "debug, info, warning or error.")
    var logLevel: String = "info"

    @Option(help: "Write one JSON line per HTTP exchange to this file.")
    var exchanges: String?

    func validate() throws {
        // Here rather than in `run()`, so that the usage shown beside the error is `run`'s.
        guard config.configFile != nil || config.syscode != nil else {
            throw ValidationError("give --config.file or --syscode")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log.level must be one of trace, debug, info, notice, warning, error, critical")
        }
        if let telemetryPath, !telemetryPath.hasPrefix("/") {
            throw ValidationError("--web.telemetry-path must start with /")
        }
    }

    func run() throws {
        var logger = Logger(label: "channel-exporter")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        try reportingErrors {
            guard let initial = try config.load() else {
                throw ValidationError("give --config.file or --syscode")
            }
            let inbound = config.inboundPorts
            let amqp = config.amqpPorts
            let syscode = config.syscode?.uppercased()
            let runner = LiveRunner(
                options: .init(
                    configurationPath: config.configFile, listen: listenAddress, telemetryPath: telemetryPath,
                    interface: interface, exchangesPath: exchanges,
                    overrides: { c in
                        if let syscode { c.syscode = syscode }
                        if !inbound.isEmpty { c.inbound.ports = inbound }
                        if !amqp.isEmpty { c.amqp.ports = amqp }
                    }),
                logger: logger)
            try runner.run(initial: initial)
        }
    }
}
