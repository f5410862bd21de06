import Yams

/// A configuration problem, naming the file, the line and the key.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var key: String
    public var message: String

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}

/// Reads the YAML configuration (DESIGN.md "Configuration") strictly:
/// unknown keys, wrong types, a bad syscode and unsorted buckets are errors
/// that name the key and the line, before any capture starts.
public enum ConfigurationLoader {
    /// Parses `text` (the contents of `file`, used in messages).
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> ExporterConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigurationError(file: file, line: yamlErrorLine(error), key: "", message: "not valid YAML: \(yamlProblem(error))")
        } catch {
            throw ConfigurationError(file: file, line: nil, key: "", message: "not valid YAML: \(error)")
        }
        guard let root else {
            throw ConfigurationError(file: file, line: nil, key: "", message: "the file is empty; `syscode` is required")
        }
        let reader = NodeReader(file: file)
        let top = try reader.mapping(root, key: "")
        try reader.rejectUnknown(top, allowed: ["syscode", "listen", "interface", "inbound", "amqp", "buckets", "partners", "limits", "capture", "tunnels", "tls", "telemetry_path"], in: "")

        guard let syscodeNode = top.value(for: "syscode") else {
            throw ConfigurationError(file: file, line: root.mark?.line, key: "syscode", message: "required (a letter and 9 digits, e.g. A123010101)")
        }
        let syscode = try reader.string(syscodeNode, key: "syscode")
        guard isValidSyscode(syscode) else {
            throw ConfigurationError(file: file, line: syscodeNode.mark?.line, key: "syscode",
                                     message: "\"\(syscode)\" is not a letter followed by 9 digits (e.g. A123010101)")
        }
        var config = ExporterConfiguration(syscode: syscode.uppercased())

        if let node = top.value(for: "listen") { config.listen = try reader.listenAddress(node, key: "listen") }
        if let node = top.value(for: "telemetry_path") { config.telemetryPath = try reader.path(node, key: "telemetry_path") }
        if let node = top.value(for: "interface") { config.interface = try reader.nonEmptyString(node, key: "interface") }

        // Where each list of ports is written, to name the one a port in both came from.
        var inboundPortsNode: Node?
        var amqpPortsNode: Node?
        if let node = top.value(for: "inbound") {
            let map = try reader.mapping(node, key: "inbound")
            try reader.rejectUnknown(map, allowed: ["ports", "skip_paths", "skip_statuses"], in: "inbound")
            if let n = map.value(for: "ports") {
                config.inbound.ports = try reader.ports(n, key: "inbound.ports")
                inboundPortsNode = n
            }
            if let n = map.value(for: "skip_paths") {
                config.inbound.skipPaths = try reader.sequence(n, key: "inbound.skip_paths") { (n, k) throws(ConfigurationError) in
                    try reader.path(n, key: k)
                }
            }
            if let n = map.value(for: "skip_statuses") {
                config.inbound.skipStatuses = try reader.sequence(n, key: "inbound.skip_statuses") { (n, k) throws(ConfigurationError) in
                    try reader.integer(n, key: k, range: 100...999)
                }
            }
        }
        if let node = top.value(for: "amqp") {
            let map = try reader.mapping(node, key: "amqp")
            try reader.rejectUnknown(map, allowed: ["ports", "consumer_concurrency", "timing"], in: "amqp")
            if let n = map.value(for: "ports") {
                config.amqp.ports = try reader.ports(n, key: "amqp.ports")
                amqpPortsNode = n
            }
            if let n = map.value(for: "consumer_concurrency") {
                config.amqp.consumerConcurrency = try reader.integer(n, key: "amqp.consumer_concurrency", range: 1...4096)
            }
            if let n = map.value(for: "timing") {
                let text = try reader.string(n, key: "amqp.timing")
                guard let timing = ExporterConfiguration.ConsumerTiming(rawValue: text) else {
                    let choices = ExporterConfiguration.ConsumerTiming.allCases.map(\.rawValue).joined(separator: ", ")
                    throw reader.error(n, key: "amqp.timing", "\"\(text)\" is not one of \(choices)")
                }
                config.amqp.timing = timing
            }
        }
        let overlap = Set(config.inbound.ports).intersection(config.amqp.ports)
        if let port = overlap.min() {
            if let amqpPortsNode {
                throw ConfigurationError(file: file, line: amqpPortsNode.mark?.line, key: "amqp.ports",
                                         message: "port \(port) is also an inbound HTTP port")
            }
            // The broker ports are the default ([5672]): the inbound list is what the file wrote.
            throw ConfigurationError(file: file, line: inboundPortsNode?.mark?.line, key: "inbound.ports",
                                     message: "port \(port) is also an AMQP broker port (amqp.ports, [5672] unless set)")
        }
        if let node = top.value(for: "buckets") {
            let map = try reader.mapping(node, key: "buckets")
            try reader.rejectUnknown(map, allowed: ["inner", "external", "consumer"], in: "buckets")
            if let n = map.value(for: "inner") { config.buckets.inner = try reader.buckets(n, key: "buckets.inner") }
            if let n = map.value(for: "external") { config.buckets.external = try reader.buckets(n, key: "buckets.external") }
            if let n = map.value(for: "consumer") { config.buckets.consumer = try reader.buckets(n, key: "buckets.consumer") }
        }
        if let node = top.value(for: "partners") { config.partners = try reader.partners(node) }
        if let node = top.value(for: "limits") { config.limits = try reader.limits(node) }
        if let node = top.value(for: "capture") { config.capture = try reader.capture(node) }
        if let node = top.value(for: "tunnels") { config.tunnels = try reader.tunnels(node) }
        if let node = top.value(for: "tls") { config.tls = try reader.tls(node) }
        return config
    }

    /// `^[A-Za-z][0-9]{9}$` (the contract's rule; the reference's own regex is looser).
    public static func isValidSyscode(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count == 10, scalars[0].isASCII, scalars[0].properties.isAlphabetic else { return false }
        return scalars.dropFirst().allSatisfy { $0.isASCII && ("0"..."9").contains($0) }
    }

    private static func yamlErrorLine(_ error: YamlError) -> Int? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _): return mark.line
        // The first of the keys given twice (Yams marks its first occurrence).
        case let .duplicatedKeysInMapping(_, context): return context.mark.line
        default: return nil
        }
    }

    private static func yamlProblem(_ error: YamlError) -> String {
        switch error {
        case let .scanner(_, problem, _, _), let .parser(_, problem, _, _), let .composer(_, problem, _, _): return problem
        case let .duplicatedKeysInMapping(duplicates, _):
            let keys = duplicates.map { "`\($0)`" }.joined(separator: ", ")
            return "\(keys) given more than once in one mapping (the line of the first)"
        default: return "\(error)"
        }
    }
}
