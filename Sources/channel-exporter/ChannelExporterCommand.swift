import ArgumentParser
import ChannelExporter
import PacketCapture

@main
struct ChannelExporterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel-exporter",
        abstract: "HTTP and AMQP metrics of a service, from the wire.",
        discussion: """
            Observes a service's traffic with libpcap (live, or from .pcap/.pcapng files) and \
            produces the metrics of the Python channel-exporter library: <SYSCODE>_inner_metrics, \
            partner_http_metrics, external_calls_total, external_call_duration_seconds and \
            <SYSCODE>_consumer_metrics.
            """,
        version: BuildInfo.version,
        subcommands: [Run.self, Replay.self, CheckConfig.self]
    )
}

/// Where the configuration comes from; flags override the file.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config.file"), help: "YAML configuration file.")
    var configFile: String?

    @Option(help: "The service's syscode (a letter and 9 digits); overrides the file.")
    var syscode: String?

    @Option(name: .customLong("inbound-port"), help: "A port of the service's own API (repeatable); overrides inbound.ports.")
    var inboundPorts: [UInt16] = []

    @Option(name: .customLong("amqp-port"), help: "A RabbitMQ broker port (repeatable); overrides amqp.ports.")
    var amqpPorts: [UInt16] = []

    /// The merged configuration, or nil when neither a file nor --syscode was given.
    func load() throws -> ExporterConfiguration? {
        var config: ExporterConfiguration?
        if let configFile {
            config = try ConfigurationFile.load(path: configFile)
        }
        if let syscode {
            guard ConfigurationLoader.isValidSyscode(syscode) else {
                throw ValidationError("--syscode \"\(syscode)\" is not a letter followed by 9 digits (e.g. A123010101)")
            }
            if config == nil { config = ExporterConfiguration(syscode: syscode.uppercased()) }
            config?.syscode = syscode.uppercased()
        }
        if !inboundPorts.isEmpty { config?.inbound.ports = inboundPorts }
        if !amqpPorts.isEmpty { config?.amqp.ports = amqpPorts }
        return config
    }
}

/// Runs `body`, turning the errors a user can cause into one line on standard error and an
/// exit status (2 for configuration mistakes, 1 for everything else); no stack traces.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ConfigurationError {
        printError(error.description)
        throw ExitCode(2)
    } catch let error as ExporterError {
        printError(error.description)
        throw ExitCode(1)
    } catch let error as CaptureError {
        printError(error.description)
        throw ExitCode(1)
    } catch let error as MetricsServerError {
        printError(error.description)
        throw ExitCode(1)
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a configuration file and print what it means.")

    @Argument(help: "The YAML configuration file.")
    var file: String

    func run() throws {
        try reportingErrors {
            let config = try ConfigurationFile.load(path: file)
            print(ConfigurationFile.describe(config))
        }
    }
}
