#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a configuration file from disk, and describing a configuration.
public enum ConfigurationFile {
    /// Reads and validates `path`.
    public static func load(path: String) throws -> ExporterConfiguration {
        try ConfigurationLoader.parse(try readText(path: path, what: "configuration file"), file: path)
    }

    /// The whole file as UTF-8 text; a one-line error when it cannot be read.
    public static func readText(path: String, what: String) throws(ExporterError) -> String {
        guard let file = fopen(path, "rb") else {
            throw ExporterError("cannot read \(what) \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count {
                if ferror(file) != 0 { throw ExporterError("cannot read \(what) \(path): read error") }
                break
            }
            if bytes.count > 16 << 20 { throw ExporterError("\(what) \(path) is larger than 16 MiB") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ExporterError("\(what) \(path) is not UTF-8 text")
        }
        return text
    }

    /// A human-readable summary of what a configuration means (for `check-config`).
    public static func describe(_ c: ExporterConfiguration) -> String {
        func list<T>(_ xs: [T]) -> String { xs.isEmpty ? "(none)" : xs.map { "\($0)" }.joined(separator: ", ") }
        func ms(_ xs: [Double]) -> String { xs.map { $0 == $0.rounded() ? String(Int($0)) : String($0) }.joined(separator: ", ") }
        var lines = [
            "configuration OK",
            "syscode:        \(c.syscode) (appid \(c.syscode.prefix(4)))",
            "listen:         \(c.listen)\(c.telemetryPath)",
            "interface:      \(c.interface)",
            "inbound ports:  \(list(c.inbound.ports))  (skip paths: \(list(c.inbound.skipPaths)); skip statuses: \(list(c.inbound.skipStatuses)))",
            "amqp ports:     \(list(c.amqp.ports))  (consumer concurrency \(c.amqp.consumerConcurrency), timing \(c.amqp.timing.rawValue))",
            "buckets (ms):   inner [\(ms(c.buckets.inner))]",
            "                external [\(ms(c.buckets.external))]",
            "                consumer [\(ms(c.buckets.consumer))]",
        ]
        if let partners = c.partners {
            lines.append("partners:       \(partners.count) entries from the file")
        } else {
            lines.append("partners:       the reference's built-in table")
        }
        let l = c.limits
        lines.append(
            "limits:         \(l.maxSeriesPerFamily) series/family, body prefix \(l.bodyPrefixBytes) B, \(l.maxConnections) connections, idle \(l.idleTimeoutSeconds) s"
        )
        func mib(_ bytes: Int) -> String { bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) B" }
        lines.append(
            "memory bounds:  out-of-order \(mib(l.maxBufferedBytesTotal)) (\(mib(l.maxBufferedBytesPerConnection))/connection), "
                + "HTTP kept \(mib(l.maxHTTPKeptBytesTotal)), AMQP kept \(mib(l.maxAMQPKeptBytesTotal)), "
                + "\(l.maxAMQPOutstandingDeliveries) unanswered deliveries, split AMQP frames \(mib(l.maxAMQPSplitFrameBytesTotal)), "
                + "labels \(mib(l.maxLabelBytesPerFamily))/family, "
                + (l.maxFragmentedDatagrams > 0
                    ? "IP fragments \(mib(l.maxFragmentBytesTotal)) in \(l.maxFragmentedDatagrams) datagrams"
                    : "IP fragments not reassembled"))
        let t = c.tunnels
        lines.append(
            t.decapsulate
                ? "tunnels:        decapsulated: VXLAN on UDP \(list(t.vxlanPorts)), Geneve on UDP \(list(t.genevePorts)), GRE, IP in IP"
                : "tunnels:        not decapsulated")
        if c.tls.keylogFiles.isEmpty {
            lines.append("tls:            not decrypted (no key log files)")
        } else {
            let missing = c.tls.keylogFiles.filter { access($0, R_OK) != 0 }
            lines.append(
                "tls:            decrypted with key logs \(list(c.tls.keylogFiles)) (at most \(c.tls.maxKeys) connections' keys)"
                    + (missing.isEmpty ? "" : "; not readable now: \(list(missing))"))
        }
        lines.append("bpf filter:     \(c.bpfFilter)")
        if c.inbound.ports.isEmpty {
            lines.append("warning: no inbound ports: every HTTP exchange counts as an outgoing call")
        }
        return lines.joined(separator: "\n")
    }
}

/// Build facts for `--version` and `channel_exporter_build_info`.
public enum BuildInfo {
    public static let version = "0.1.0"
    #if swift(>=6.3)
    public static let swiftVersion = "6.3"
    #else
    public static let swiftVersion = "6.x"
    #endif
}

/// Writes a line to standard error, prefixed with the program's name.
public func printError(_ message: String) {
    writeStandardError("channel-exporter: \(message)\n")
}

/// Writes text to standard error, unbuffered.
public func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let n = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if n <= 0 { return }
            offset += n
        }
    }
}
