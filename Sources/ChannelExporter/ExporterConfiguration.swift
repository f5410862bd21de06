/// The exporter's configuration: what the YAML file (DESIGN.md "Configuration")
/// and the command-line flags can set. Plain values; validated by
/// `ConfigurationLoader`, turned into each module's own configuration by `Pipeline`.
public struct ExporterConfiguration: Sendable, Equatable {
    /// The service's system code: a letter and 9 digits, stored upper-cased.
    public var syscode: String
    /// Where `/metrics` is served, `host:port` or `:port`.
    public var listen: String = ":9166"
    public var telemetryPath: String = "/metrics"
    /// The live capture interface.
    public var interface: String = "any"
    public var inbound = Inbound()
    public var amqp = AMQP()
    public var buckets = Buckets()
    /// Partner entries; nil means the reference's built-in table.
    public var partners: [PartnerEntry]?
    public var limits = Limits()
    public var capture = Capture()
    public var tunnels = Tunnels()
    public var tls = TLS()

    public init(syscode: String) { self.syscode = syscode }

    /// The service's own API.
    public struct Inbound: Sendable, Equatable {
        public var ports: [UInt16] = []
        public var skipPaths: [String] = ["/healthcheck", "/metrics"]
        public var skipStatuses: [Int] = [404]
        public init() {}
    }

    /// RabbitMQ brokers the service consumes from.
    public struct AMQP: Sendable, Equatable {
        public var ports: [UInt16] = [5672]
        /// Workers per consumer channel (the service-time rule's k).
        public var consumerConcurrency: Int = 1
        public var timing: ConsumerTiming = .serviceTime
        public init() {}
    }

    public enum ConsumerTiming: String, Sendable, Equatable, CaseIterable {
        /// answer − max(deliver, a worker of the channel becoming free): the worker's own time.
        case serviceTime = "service_time"
        /// answer − deliver: waiting in the prefetch buffer plus service.
        case deliverToAnswer = "deliver_to_answer"
    }

    /// Histogram buckets in milliseconds, ascending (+Inf is implicit).
    public struct Buckets: Sendable, Equatable {
        public static let reference: [Double] = [100, 200, 500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000]
        public var inner = Buckets.reference
        public var external = Buckets.reference
        public var consumer = Buckets.reference
        public init() {}
    }

    /// One partner: the authorities (`host[:port]` as in the URL: the `Host` header, or an absolute-form
    /// target through a forward proxy) that share it.
    public struct PartnerEntry: Sendable, Equatable {
        public var hosts: [String]
        /// The `partner` label / tcode: "1", "2", "" or another value.
        public var partner: String
        /// Exact request path → action code ("" allowed).
        public var actions: [(path: String, action: String)]

        public init(hosts: [String], partner: String, actions: [(path: String, action: String)]) {
            self.hosts = hosts
            self.partner = partner
            self.actions = actions
        }

        public static func == (lhs: PartnerEntry, rhs: PartnerEntry) -> Bool {
            lhs.hosts == rhs.hosts && lhs.partner == rhs.partner
                && lhs.actions.map(\.path) == rhs.actions.map(\.path)
                && lhs.actions.map(\.action) == rhs.actions.map(\.action)
        }
    }

    /// Every bound the observer keeps (DESIGN.md: "Nothing unbounded").
    public struct Limits: Sendable, Equatable {
        public var maxSeriesPerFamily = 10_000
        public var maxLabelBytesPerFamily = 4 << 20
        public var bodyPrefixBytes = 64 * 1024
        public var maxConnections = 262_144
        public var idleTimeoutSeconds: Double = 300
        public var maxPendingRequests = 64
        public var maxBufferedBytesPerConnection = 4 * 1024 * 1024
        public var maxBufferedBytesTotal = 256 * 1024 * 1024
        /// What the HTTP observer's connections keep together (`HTTPObserverConfiguration.maxKeptBytesTotal`).
        public var maxHTTPKeptBytesTotal = 256 * 1024 * 1024
        /// What the AMQP observer's channels keep together: channels, consumers, requests and
        /// unanswered deliveries with their strings (`AMQPObserverConfiguration.maxKeptBytesTotal`).
        public var maxAMQPKeptBytesTotal = 128 << 20
        /// Unanswered AMQP deliveries over all channels (`AMQPObserverConfiguration.maxOutstandingTotal`).
        public var maxAMQPOutstandingDeliveries = 1 << 20
        /// AMQP method frames split over segments, all connections together
        /// (`AMQPObserverConfiguration.maxBufferedMethodBytesTotal`).
        public var maxAMQPSplitFrameBytesTotal = 64 << 20
        /// IP datagrams being reassembled from fragments at once; 0: fragments are not
        /// reassembled (`FragmentLimits.maxDatagrams`).
        public var maxFragmentedDatagrams = 1024
        /// Bytes held for them together (`FragmentLimits.maxBytes`; Linux's `ipfrag_high_thresh`).
        public var maxFragmentBytesTotal = 4 << 20
        /// Pairs of connections that may be a NAT's copies, waiting for their SYN+ACKs at once
        /// (`ReassemblyConfiguration.maxNATCandidates`; not in the configuration file).
        public var maxNATCandidates = 256
        public init() {}
    }

    /// Tunnels whose inner packets are decoded (docs/tunnels-and-kubernetes.md): GRE and IP in IP by their
    /// protocol numbers, VXLAN and Geneve by their UDP destination ports.
    public struct Tunnels: Sendable, Equatable {
        /// On by default: on a node of an overlay network the pods' traffic between nodes is
        /// seen only inside tunnels, and a packet that is not plain TCP is all it costs.
        public var decapsulate = true
        /// IANA's 4789 and Linux's (and flannel's) 8472.
        public var vxlanPorts: [UInt16] = [4789, 8472]
        public var genevePorts: [UInt16] = [6081]
        public init() {}
    }

    /// TLS read with secrets from NSS key logs (README "TLS"). With no key log, TLS connections are
    /// counted and not read, and no connection takes the decryption path.
    public struct TLS: Sendable, Equatable {
        /// Key log files (SSLKEYLOGFILE), read as they grow.
        public var keylogFiles: [String] = []
        /// Most connections whose secrets are held at once (the oldest are dropped).
        public var maxKeys = 100_000
        /// Ciphertext held for all connections at once (`TLSDecryptionLimits.maxBufferedBytesTotal`).
        public var maxBufferedBytesTotal = 64 << 20
        public init() {}
    }

    /// Live capture settings.
    public struct Capture: Sendable, Equatable {
        public var snaplen = 262_144
        public var bufferSizeMiB = 32
        public var promiscuous = false
        /// Extra BPF expression and-ed with the one built from the ports (nil: none).
        public var extraFilter: String?
        public init() {}
    }
}

extension ExporterConfiguration {
    /// The BPF filter for live capture: TCP on any inbound or broker port, plus
    /// every other TCP connection that may carry an outgoing HTTP call. Outgoing
    /// calls go to arbitrary ports, so the filter only narrows to TCP with payload
    /// or connection control (SYN/FIN/RST); an extra filter narrows further.
    public var bpfFilter: String {
        var base = Self.tcpFilter
        if tunnels.decapsulate { base += " or " + tunnelFilter }
        if limits.maxFragmentedDatagrams > 0 { base += " or " + Self.fragmentFilter }
        if let extra = capture.extraFilter, !extra.isEmpty { base = "(\(base)) and (\(extra))" }
        return base
    }

    /// TCP over IPv4 or IPv6, including IPv6 packets whose TCP header follows a hop-by-hop
    /// header. libpcap's `tcp` looks only at the IPv6 header's next-header field, and Linux
    /// writes a hop-by-hop header with a jumbo payload option (RFC 2675) in front of every IPv6
    /// super-packet over 64 KiB that BIG TCP (`gso_max_size`/`gro_max_size` above 65536, as
    /// Cilium sets them) builds: `tcp` alone dropped exactly the largest segments, and every
    /// exchange they carried.
    static let tcpFilter = "tcp or (ip6[6] = 0 and ip6[40] = 6)"

    /// IP fragments: only the first carries the TCP (or UDP) header libpcap's `tcp` reads, so
    /// without this a fragmented segment lost all but its first fragment (and a tunnel's outer
    /// packet all but its first one) before the reassembler saw them. IPv4: more-fragments set
    /// or a non-zero offset; IPv6: a fragment header after the fixed header and up to three
    /// extension headers that come before it (`ipv6FragmentHeader`).
    static let fragmentFilter = "(ip[6:2] & 0x3fff != 0) or " + ipv6FragmentHeader

    /// An IPv6 fragment header directly after the fixed header or after up to three hop-by-hop (0),
    /// destination options (60) or routing (43) headers: the ones RFC 8200 §4.1 puts before it, which
    /// Linux writes (`IPV6_HOPOPTS`, a router alert, a segment routing header). Seen fail with
    /// `ip6[6] = 44` alone: fragments behind a hop-by-hop or destination options header never reached
    /// the reassembler (captures/http/fragments/ipv6-extension-headers.pcap). libpcap's
    /// `ip6 protochain 44` walks any chain, but with a backward jump the kernel refuses: the whole
    /// filter would run in user space, after every packet was copied out. This unrolls the walk with
    /// indirect loads instead (about 30 instructions).
    static let ipv6FragmentHeader: String = {
        // Each header's next-header field: the fixed header's byte 6, then each extension header's
        // first byte (at 40, then 8 + 8 × its length field, its second byte, further on).
        let second = "48 + ip6[41] * 8"
        let fields = ["ip6[6]", "ip6[40]", "ip6[\(second)]", "ip6[\(second) + 8 + ip6[\(second) + 1] * 8]"]
        func isExtension(_ field: String) -> String { "(\(field) = 0 or \(field) = 60 or \(field) = 43)" }
        var expression = "\(fields[3]) = 44"
        for field in fields.dropLast().reversed() {
            expression = "\(field) = 44 or (\(isExtension(field)) and (\(expression)))"
        }
        return "(\(expression))"
    }()

    /// The outer packets of the tunnels decapsulated: IP in IP (4, 41) and GRE (47) over IPv4
    /// or IPv6, and UDP to a VXLAN or Geneve port. libpcap cannot look inside them, so every
    /// packet they carry passes (the decoder counts what is not TCP as usual); the extra
    /// filter and the metrics port apply to the outer headers. libpcap's `proto` reads the IPv6
    /// next header (and a fragment header's) only: `ip6tnl` and `ip6gre` put a destination options
    /// header with the encapsulation limit (RFC 2473 §4.1.1) in front of every packet they send
    /// unless told not to (`encaplimit none`), which `ipv6TunnelBehindOptions` lets through.
    var tunnelFilter: String {
        let ports = (tunnels.vxlanPorts + tunnels.genevePorts).map { " or udp dst port \($0)" }.joined()
        return "proto 4 or proto 41 or proto 47 or " + Self.ipv6TunnelBehindOptions + ports
    }

    static let ipv6TunnelBehindOptions = "(ip6[6] = 60 and (ip6[40] = 4 or ip6[40] = 41 or ip6[40] = 47))"
}
