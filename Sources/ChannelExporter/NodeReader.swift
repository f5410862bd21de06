import PacketCapture
import Yams

#if canImport(Glibc)
import Glibc
#endif

extension Node.Mapping {
    /// The value of a plain string key, if present.
    func value(for key: String) -> Node? {
        for (k, v) in self where k.scalar?.string == key { return v }
        return nil
    }
}

/// Typed, strict reads of YAML nodes; every failure names the key and the line.
struct NodeReader {
    var file: String

    func error(_ node: Node, key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: node.mark?.line, key: key, message: message)
    }

    private func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return "\"\(s.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    func mapping(_ node: Node, key: String) throws(ConfigurationError) -> Node.Mapping {
        guard let map = node.mapping else {
            throw error(node, key: key, "expected a mapping, got \(describe(node))")
        }
        return map
    }

    func rejectUnknown(_ map: Node.Mapping, allowed: Set<String>, in parent: String) throws(ConfigurationError) {
        for (k, _) in map {
            let name = k.scalar?.string ?? "?"
            if !allowed.contains(name) {
                let path = parent.isEmpty ? name : "\(parent).\(name)"
                throw error(k, key: path, "unknown key (known here: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
    }

    func string(_ node: Node, key: String) throws(ConfigurationError) -> String {
        guard let scalar = node.scalar else { throw error(node, key: key, "expected a string, got \(describe(node))") }
        return scalar.string
    }

    func nonEmptyString(_ node: Node, key: String) throws(ConfigurationError) -> String {
        let text = try string(node, key: key)
        guard !text.isEmpty else { throw error(node, key: key, "must not be empty") }
        return text
    }

    func path(_ node: Node, key: String) throws(ConfigurationError) -> String {
        let text = try string(node, key: key)
        guard text.hasPrefix("/") else { throw error(node, key: key, "\"\(text)\" must start with /") }
        return text
    }

    func bool(_ node: Node, key: String) throws(ConfigurationError) -> Bool {
        guard let value = node.bool, node.scalar?.style == .plain else {
            throw error(node, key: key, "expected true or false, got \(describe(node))")
        }
        return value
    }

    func integer(_ node: Node, key: String, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let scalar = node.scalar, scalar.style == .plain, let value = Int(scalar.string) else {
            throw error(node, key: key, "expected a whole number, got \(describe(node))")
        }
        guard range.contains(value) else {
            throw error(node, key: key, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func number(_ node: Node, key: String) throws(ConfigurationError) -> Double {
        guard let scalar = node.scalar, scalar.style == .plain, let value = Double(scalar.string), value.isFinite else {
            throw error(node, key: key, "expected a number, got \(describe(node))")
        }
        return value
    }

    func sequence<T>(_ node: Node, key: String, _ element: (Node, String) throws(ConfigurationError) -> T) throws(ConfigurationError) -> [T] {
        guard let seq = node.sequence else { throw error(node, key: key, "expected a list, got \(describe(node))") }
        var out = [T]()
        for (i, item) in seq.enumerated() { out.append(try element(item, "\(key)[\(i)]")) }
        return out
    }

    func ports(_ node: Node, key: String) throws(ConfigurationError) -> [UInt16] {
        let ports = try sequence(node, key: key) { (n, k) throws(ConfigurationError) in UInt16(try integer(n, key: k, range: 1...65535)) }
        if let dup = Dictionary(grouping: ports, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw error(node, key: key, "port \(dup) is listed twice")
        }
        return ports
    }

    func buckets(_ node: Node, key: String) throws(ConfigurationError) -> [Double] {
        let values = try sequence(node, key: key) { (n, k) throws(ConfigurationError) in try number(n, key: k) }
        guard !values.isEmpty else { throw error(node, key: key, "needs at least one bound") }
        for i in values.indices.dropFirst() where !(values[i - 1] < values[i]) {
            throw error(node, key: key, "must be strictly ascending (\(values[i - 1]) then \(values[i]))")
        }
        if let first = values.first, first <= 0 { throw error(node, key: key, "bounds must be positive milliseconds") }
        return values
    }

    /// `host:port`, `:port` or `[v6]:port`.
    func listenAddress(_ node: Node, key: String) throws(ConfigurationError) -> String {
        let text = try string(node, key: key)
        guard ListenAddress(text) != nil else {
            throw error(node, key: key, "\"\(text)\" is not host:port, :port or [address]:port")
        }
        return text
    }

    func partners(_ node: Node) throws(ConfigurationError) -> [ExporterConfiguration.PartnerEntry] {
        try sequence(node, key: "partners") { (item, key) throws(ConfigurationError) in
            let map = try mapping(item, key: key)
            try rejectUnknown(map, allowed: ["hosts", "partner", "actions"], in: key)
            guard let hostsNode = map.value(for: "hosts") else { throw error(item, key: "\(key).hosts", "required") }
            let hosts = try sequence(hostsNode, key: "\(key).hosts") { (n, k) throws(ConfigurationError) in try nonEmptyString(n, key: k) }
            guard !hosts.isEmpty else { throw error(hostsNode, key: "\(key).hosts", "needs at least one host[:port]") }
            let partner = try map.value(for: "partner").map { (n) throws(ConfigurationError) in try string(n, key: "\(key).partner") } ?? ""
            var actions = [(path: String, action: String)]()
            if let actionsNode = map.value(for: "actions") {
                let actionMap = try mapping(actionsNode, key: "\(key).actions")
                for (k, v) in actionMap {
                    let path = try self.path(k, key: "\(key).actions")
                    actions.append((path, try string(v, key: "\(key).actions.\(path)")))
                }
            }
            return ExporterConfiguration.PartnerEntry(hosts: hosts, partner: partner, actions: actions)
        }
    }

    func limits(_ node: Node) throws(ConfigurationError) -> ExporterConfiguration.Limits {
        let map = try mapping(node, key: "limits")
        // Every whole-number limit: its key, where it goes, what it may be.
        let integers: [(key: String, path: WritableKeyPath<ExporterConfiguration.Limits, Int>, range: ClosedRange<Int>)] = [
            ("max_series_per_family", \.maxSeriesPerFamily, 1...10_000_000),
            ("body_prefix_bytes", \.bodyPrefixBytes, 0...(64 << 20)),
            ("max_connections", \.maxConnections, 16...(64 << 20)),
            ("max_pending_requests", \.maxPendingRequests, 1...65_536),
            ("max_buffered_bytes_per_connection", \.maxBufferedBytesPerConnection, 0...(1 << 30)),
            ("max_buffered_bytes_total", \.maxBufferedBytesTotal, 0...(1 << 40)),
            ("max_label_bytes_per_family", \.maxLabelBytesPerFamily, 1024...(1 << 40)),
            ("max_http_kept_bytes_total", \.maxHTTPKeptBytesTotal, 0...(1 << 40)),
            ("max_amqp_kept_bytes_total", \.maxAMQPKeptBytesTotal, 0...(1 << 40)),
            ("max_amqp_outstanding_deliveries", \.maxAMQPOutstandingDeliveries, 1...(1 << 30)),
            ("max_amqp_split_frame_bytes_total", \.maxAMQPSplitFrameBytesTotal, 0...(1 << 40)),
            ("max_fragmented_datagrams", \.maxFragmentedDatagrams, 0...(1 << 20)),
            ("max_fragment_bytes_total", \.maxFragmentBytesTotal, 0...(1 << 40)),
        ]
        try rejectUnknown(map, allowed: Set(integers.map(\.key) + ["idle_timeout_seconds"]), in: "limits")
        var limits = ExporterConfiguration.Limits()
        for (key, path, range) in integers {
            if let n = map.value(for: key) { limits[keyPath: path] = try integer(n, key: "limits.\(key)", range: range) }
        }
        if let n = map.value(for: "idle_timeout_seconds") {
            let value = try number(n, key: "limits.idle_timeout_seconds")
            guard value > 0 else { throw error(n, key: "limits.idle_timeout_seconds", "must be positive") }
            limits.idleTimeoutSeconds = value
        }
        return limits
    }

    func capture(_ node: Node) throws(ConfigurationError) -> ExporterConfiguration.Capture {
        let map = try mapping(node, key: "capture")
        try rejectUnknown(map, allowed: ["snaplen", "buffer_size_mib", "promiscuous", "filter"], in: "capture")
        var capture = ExporterConfiguration.Capture()
        if let n = map.value(for: "snaplen") { capture.snaplen = try integer(n, key: "capture.snaplen", range: 128...262_144) }
        if let n = map.value(for: "buffer_size_mib") { capture.bufferSizeMiB = try integer(n, key: "capture.buffer_size_mib", range: 1...4096) }
        if let n = map.value(for: "promiscuous") { capture.promiscuous = try bool(n, key: "capture.promiscuous") }
        if let n = map.value(for: "filter") {
            capture.extraFilter = try string(n, key: "capture.filter")
            try checkCompiles(capture, node: n)
        }
        return capture
    }

    func tunnels(_ node: Node) throws(ConfigurationError) -> ExporterConfiguration.Tunnels {
        let map = try mapping(node, key: "tunnels")
        try rejectUnknown(map, allowed: ["decapsulate", "vxlan_ports", "geneve_ports"], in: "tunnels")
        var tunnels = ExporterConfiguration.Tunnels()
        if let n = map.value(for: "decapsulate") { tunnels.decapsulate = try bool(n, key: "tunnels.decapsulate") }
        // Each port is a term of the capture filter and a comparison for every UDP packet: a few.
        for (key, path) in [("vxlan_ports", \ExporterConfiguration.Tunnels.vxlanPorts), ("geneve_ports", \.genevePorts)] {
            guard let n = map.value(for: key) else { continue }
            let ports = try self.ports(n, key: "tunnels.\(key)")
            guard ports.count <= 16 else { throw error(n, key: "tunnels.\(key)", "at most 16 ports, got \(ports.count)") }
            tunnels[keyPath: path] = ports
        }
        if let port = Set(tunnels.vxlanPorts).intersection(tunnels.genevePorts).min() {
            throw error(map.value(for: "geneve_ports") ?? node, key: "tunnels.geneve_ports", "port \(port) is also a VXLAN port (tunnels.vxlan_ports)")
        }
        return tunnels
    }

    /// `tls`: key logs to read TLS with (README "TLS"). Files that do not exist yet are allowed (a
    /// service writes its key log when it starts); `check-config` says which are missing.
    func tls(_ node: Node) throws(ConfigurationError) -> ExporterConfiguration.TLS {
        let map = try mapping(node, key: "tls")
        try rejectUnknown(map, allowed: ["keylog_files", "max_keys"], in: "tls")
        var tls = ExporterConfiguration.TLS()
        if let n = map.value(for: "keylog_files") {
            tls.keylogFiles = try sequence(n, key: "tls.keylog_files") { (n, k) throws(ConfigurationError) in
                try nonEmptyString(n, key: k)
            }
        }
        if let n = map.value(for: "max_keys") { tls.maxKeys = try integer(n, key: "tls.max_keys", range: 1...10_000_000) }
        return tls
    }

    /// The capture filter is compiled when a capture opens, which `check-config` never does and a
    /// reload does not either (it keeps the running capture): a typo in `capture.filter` passed
    /// both and stopped the next start. Compiled here for the link types `run` meets (Ethernet,
    /// Linux cooked v1 and v2, as on `any`); a filter one of them takes is left to the capture.
    private func checkCompiles(_ capture: ExporterConfiguration.Capture, node: Node) throws(ConfigurationError) {
        var configuration = ExporterConfiguration(syscode: "A000000000")
        configuration.capture = capture
        var firstProblem = ""
        for linkType: Int32 in [1, 113, 276] {
            do {
                _ = try PacketFilter(configuration.bpfFilter, linkTypeNumber: linkType)
                return
            } catch {
                if case .badFilter(_, let detail) = error, firstProblem.isEmpty { firstProblem = detail }
            }
        }
        throw self.error(node, key: "capture.filter", "libpcap does not compile it: \(firstProblem)" + Self.vlanHint(capture))
    }

    /// tcpdump's idiom on a VLAN trunk, `vlan and tcp port 80`, comes after our TCP test, which
    /// reads the EtherType at the untagged offset, and after the widening to tagged frames
    /// (`CaptureFilter.allowingVLANTags`): libpcap finds that it rejects every packet. Says why.
    private static func vlanHint(_ capture: ExporterConfiguration.Capture) -> String {
        let words = (capture.extraFilter ?? "").split { !$0.isLetter && !$0.isNumber }
        guard words.contains(where: { $0.lowercased() == "vlan" }) else { return "" }
        return "; the filter is applied to the packet after any 802.1Q tag (tagged frames are matched as "
            + "untagged ones): leave `vlan` out, and to watch one VLAN, capture on its sub-interface"
    }
}

/// A parsed `--web.listen-address`: `host:port`, `:port` (all addresses) or `[v6]:port`.
///
/// `:port` is every address of both families, as Prometheus exporters read it: `::`, where
/// `MetricsServer` takes IPv4 too, or `0.0.0.0` on a host without IPv6. It was `0.0.0.0` alone,
/// and a scraper reaching the node over IPv6 (an IPv6 or dual-stack cluster) was refused.
public struct ListenAddress: Equatable, Sendable {
    public var host: String
    public var port: Int

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { return nil }
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            return nil
        }
        self.host = host.isEmpty ? (Self.hostHasIPv6 ? "::" : "0.0.0.0") : host
        self.port = port
    }

    /// Whether this host can open an IPv6 socket at all (a kernel booted with `ipv6.disable=1`
    /// cannot).
    public static let hostHasIPv6: Bool = {
        let descriptor = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        close(descriptor)
        return true
    }()
}
