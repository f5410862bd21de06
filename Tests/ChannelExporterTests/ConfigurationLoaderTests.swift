import AMQPObserver
import PacketDecoding
import Testing

@testable import ChannelExporter

@Suite struct ConfigurationLoaderTests {
    private func parse(_ text: String) throws(ConfigurationError) -> ExporterConfiguration {
        try ConfigurationLoader.parse(text, file: "c.yaml")
    }

    private func failure(_ text: String) -> ConfigurationError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func minimalConfigurationGetsTheDefaults() throws {
        let c = try parse("syscode: a123010101\n")
        #expect(c.syscode == "A123010101")
        #expect(c.listen == ":9166")
        #expect(c.interface == "any")
        #expect(c.inbound.ports == [])
        #expect(c.inbound.skipPaths == ["/healthcheck", "/metrics"])
        #expect(c.inbound.skipStatuses == [404])
        #expect(c.amqp.ports == [5672])
        #expect(c.buckets.inner == [100, 200, 500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000])
        #expect(c.partners == nil)
    }

    @Test func theDesignExampleParses() throws {
        let c = try parse("""
            syscode: A123010101
            listen: "127.0.0.1:9200"
            interface: eth0
            inbound:
              ports: [8080, 8443]
              skip_paths: [/healthcheck]
              skip_statuses: [404, 405]
            amqp:
              ports: [5673]
              consumer_concurrency: 4
              timing: deliver_to_answer
            buckets:
              inner: [1, 2.5, 10]
            partners:
              - hosts: ["api.partner.example:8443", "203.0.113.7:8443"]
                partner: "3"
                actions:
                  /v1/verify: "901"
                  /v1/other: ""
            limits:
              max_series_per_family: 500
            capture:
              filter: "not port 22"
            """)
        #expect(c.listen == "127.0.0.1:9200")
        #expect(c.interface == "eth0")
        #expect(c.inbound.ports == [8080, 8443])
        #expect(c.inbound.skipStatuses == [404, 405])
        #expect(c.amqp.ports == [5673])
        #expect(c.amqp.consumerConcurrency == 4)
        #expect(c.amqp.timing == .deliverToAnswer)
        #expect(c.buckets.inner == [1, 2.5, 10])
        #expect(c.buckets.external == ExporterConfiguration.Buckets.reference)
        let partner = try #require(c.partners?.first)
        #expect(partner.hosts == ["api.partner.example:8443", "203.0.113.7:8443"])
        #expect(partner.partner == "3")
        #expect(partner.actions.map(\.path) == ["/v1/verify", "/v1/other"])
        #expect(partner.actions.map(\.action) == ["901", ""])
        #expect(c.limits.maxSeriesPerFamily == 500)
        #expect(c.bpfFilter == "(tcp or (ip6[6] = 0 and ip6[40] = 6) or proto 4 or proto 41 or proto 47 or (ip6[6] = 60 and (ip6[40] = 4 or ip6[40] = 41 or ip6[40] = 47)) or udp dst port 4789 or udp dst port 8472 or udp dst port 6081 or (ip[6:2] & 0x3fff != 0) or \(ExporterConfiguration.ipv6FragmentHeader)) and (not port 22)")
    }

    @Test(arguments: [
        ("syscode: A123010101\nlisten: ':9166'\nbogus: 1\n", 3, "bogus", "unknown key"),
        ("syscode: A12301010\n", 1, "syscode", "not a letter followed by 9 digits"),
        ("syscode: 1123010101\n", 1, "syscode", "not a letter followed by 9 digits"),
        ("listen: ':9166'\n", 1, "syscode", "required"),
        ("syscode: A123010101\ninbound:\n  ports: [8080, abc]\n", 3, "inbound.ports[1]", "expected a whole number"),
        ("syscode: A123010101\ninbound:\n  ports: [70000]\n", 3, "inbound.ports[0]", "out of range"),
        ("syscode: A123010101\ninbound:\n  portz: [1]\n", 3, "inbound.portz", "unknown key"),
        ("syscode: A123010101\nbuckets:\n  inner: [100, 50]\n", 3, "buckets.inner", "strictly ascending"),
        ("syscode: A123010101\nbuckets:\n  inner: 100\n", 3, "buckets.inner", "expected a list"),
        ("syscode: A123010101\ninbound: [8080]\n", 2, "inbound", "expected a mapping"),
        ("syscode: A123010101\namqp:\n  timing: fast\n", 3, "amqp.timing", "not one of"),
        ("syscode: A123010101\ninbound:\n  ports: [5672]\n", 3, "inbound.ports", "also an AMQP broker port (amqp.ports, [5672] unless set)"),
        ("syscode: A123010101\ninbound:\n  ports: [8080]\namqp:\n  ports: [5672, 8080]\n", 5, "amqp.ports", "also an inbound HTTP port"),
        ("syscode: A123010101\npartners:\n  - partner: '1'\n", 3, "partners[0].hosts", "required"),
        ("syscode: A123010101\npartners:\n  - hosts: [a]\n    actions:\n      v1: '1'\n", 5, "partners[0].actions", "must start with /"),
        ("syscode: A123010101\nlisten: nonsense\n", 2, "listen", "not host:port"),
        ("syscode: [A123010101\n", 2, "", "not valid YAML"),
        // A key given twice: the line of its first occurrence (it had no line at all).
        ("syscode: A123010101\ninbound:\n  ports: [8080]\n  ports: [9090]\n", 3, "", "`ports` given more than once"),
        ("syscode: A123010101\ncapture:\n  filter: 'not hots 10.0.0.5'\n", 3, "capture.filter", "does not compile"),
        ("syscode: A123010101\ntunnels:\n  decapsulate: yes please\n", 3, "tunnels.decapsulate", "expected true or false"),
        ("syscode: A123010101\ntunnels:\n  vxlan_ports: [4789, 4789]\n", 3, "tunnels.vxlan_ports", "listed twice"),
        ("syscode: A123010101\ntunnels:\n  geneve_ports: [8472]\n", 3, "tunnels.geneve_ports", "also a VXLAN port"),
        ("syscode: A123010101\ntunnels:\n  gre: true\n", 3, "tunnels.gre", "unknown key"),
        ("syscode: A123010101\ntunnels:\n  geneve_ports: [\((6100...6116).map(String.init).joined(separator: ", "))]\n", 3, "tunnels.geneve_ports", "at most 16 ports, got 17"),
        ("syscode: A123010101\ntls:\n  keylog_files: /tmp/keys.log\n", 3, "tls.keylog_files", "expected a list"),
        ("syscode: A123010101\ntls:\n  keylogs: [/tmp/keys.log]\n", 3, "tls.keylogs", "unknown key"),
        ("syscode: A123010101\ntls:\n  max_keys: 0\n", 3, "tls.max_keys", "out of range"),
        // tcpdump's way on a VLAN trunk: the error says the tag is taken care of.
        ("syscode: A123010101\ncapture:\n  filter: 'vlan and tcp port 80'\n", 3, "capture.filter", "leave `vlan` out"),
    ] as [(String, Int?, String, String)])
    func errorsNameTheKeyAndTheLine(text: String, line: Int?, key: String, message: String) {
        let error = failure(text)
        #expect(error != nil)
        guard let error else { return }
        if let line { #expect(error.line == line, "\(error)") }
        #expect(error.key == key, "\(error)")
        #expect(error.message.contains(message), "\(error)")
        #expect(error.description.hasPrefix("c.yaml"))
    }

    /// The AMQP observer's totals come from `limits` (they could not be set before: the memory
    /// budget of a small deployment had no say over them).
    @Test func amqpTotalsAreLimits() throws {
        let defaults = AMQPObserverConfiguration(try parse("syscode: A123010101\n"))
        #expect(defaults.maxKeptBytesTotal == 128 << 20)
        #expect(defaults.maxOutstandingTotal == 1 << 20)
        #expect(defaults.maxBufferedMethodBytesTotal == 64 << 20)
        let c = try parse("""
            syscode: A123010101
            limits:
              max_amqp_kept_bytes_total: 1048576
              max_amqp_outstanding_deliveries: 5000
              max_amqp_split_frame_bytes_total: 65536
            """)
        let amqp = AMQPObserverConfiguration(c)
        #expect(amqp.maxKeptBytesTotal == 1 << 20)
        #expect(amqp.maxOutstandingTotal == 5000)
        #expect(amqp.maxBufferedMethodBytesTotal == 65536)
        let error = failure("syscode: A123010101\nlimits:\n  max_amqp_outstanding_deliveries: 0\n")
        #expect(error?.key == "limits.max_amqp_outstanding_deliveries", "\(String(describing: error))")
    }

    /// Fragment reassembly: on with Linux's bounds unless told; the bounds reach the decoder, the
    /// live filter lets fragments through only while they are reassembled.
    @Test func fragmentLimitsAreConfigurable() throws {
        let defaults = try parse("syscode: A123010101\n")
        #expect(FragmentLimits(defaults) == .standard)
        #expect(defaults.bpfFilter.hasSuffix(" or (ip[6:2] & 0x3fff != 0) or \(ExporterConfiguration.ipv6FragmentHeader)"))
        #expect(ConfigurationFile.describe(defaults).contains("IP fragments 4 MiB in 1024 datagrams"))
        let c = try parse("syscode: A123010101\nlimits:\n  max_fragmented_datagrams: 8\n  max_fragment_bytes_total: 65536\n")
        #expect(FragmentLimits(c) == FragmentLimits(maxDatagrams: 8, maxBytes: 65536))
        let off = try parse("syscode: A123010101\nlimits:\n  max_fragmented_datagrams: 0\n")
        #expect(FragmentLimits(off).maxDatagrams == 0)
        #expect(!off.bpfFilter.contains("0x3fff"))
        #expect(ConfigurationFile.describe(off).contains("IP fragments not reassembled"))
        #expect(throws: ConfigurationError.self) { try parse("syscode: A123010101\nlimits:\n  max_fragmented_datagrams: -1\n") }
    }

    /// Tunnels: on with the standard ports unless told; the settings reach the decoder.
    @Test func tunnelsAreConfigurable() throws {
        let defaults = try parse("syscode: A123010101\n")
        #expect(TunnelSettings(defaults) == .standard)
        #expect(defaults.tunnels.vxlanPorts == [4789, 8472] && defaults.tunnels.genevePorts == [6081])
        let c = try parse("syscode: A123010101\ntunnels:\n  vxlan_ports: [4789]\n  geneve_ports: []\n")
        #expect(TunnelSettings(c) == TunnelSettings(vxlanPorts: [4789], genevePorts: []))
        #expect(c.bpfFilter.hasSuffix("or ip6[40] = 47)) or udp dst port 4789 or (ip[6:2] & 0x3fff != 0) or \(ExporterConfiguration.ipv6FragmentHeader)"))
        let off = try parse("syscode: A123010101\ntunnels:\n  decapsulate: false\n")
        #expect(!TunnelSettings(off).isEnabled)
        #expect(off.bpfFilter == "tcp or (ip6[6] = 0 and ip6[40] = 6) or (ip[6:2] & 0x3fff != 0) or \(ExporterConfiguration.ipv6FragmentHeader)")
        #expect(ConfigurationFile.describe(defaults).contains("tunnels:        decapsulated: VXLAN on UDP 4789, 8472, Geneve on UDP 6081, GRE, IP in IP"))
        #expect(ConfigurationFile.describe(off).contains("tunnels:        not decapsulated"))
    }

    /// Key logs for TLS: none by default (nothing decrypted); a file not there yet is allowed and named.
    @Test func tlsKeyLogsAreConfigurable() throws {
        let defaults = try parse("syscode: A123010101\n")
        #expect(defaults.tls.keylogFiles.isEmpty)
        #expect(ConfigurationFile.describe(defaults).contains("tls:            not decrypted (no key log files)"))
        let c = try parse("syscode: A123010101\ntls:\n  keylog_files: [/nonexistent/keys.log]\n  max_keys: 500\n")
        #expect(c.tls.keylogFiles == ["/nonexistent/keys.log"])
        #expect(c.tls.maxKeys == 500)
        #expect(ConfigurationFile.describe(c).contains(
            "tls:            decrypted with key logs /nonexistent/keys.log (at most 500 connections' keys); not readable now: /nonexistent/keys.log"))
    }

    /// A filter libpcap compiles for one of the link types `run` meets is left to the capture:
    /// `inbound` exists for Linux cooked captures (`any`), not for Ethernet.
    @Test func aFilterForCookedCapturesIsAccepted() throws {
        let c = try parse("syscode: A123010101\ncapture:\n  filter: inbound\n")
        #expect(c.capture.extraFilter == "inbound")
    }

    @Test(arguments: ["A123010101", "z000000000"])
    func validSyscodes(_ s: String) { #expect(ConfigurationLoader.isValidSyscode(s)) }

    @Test(arguments: ["", "A12301010", "A1230101011", "AA23010101", "Ａ123010101", "A12301010١", "é123010101"])
    func invalidSyscodes(_ s: String) { #expect(!ConfigurationLoader.isValidSyscode(s)) }

    @Test func listenAddresses() {
        #expect(ListenAddress(":9166") == ListenAddress(":9166"))
        #expect(ListenAddress(":9166")?.host == (ListenAddress.hostHasIPv6 ? "::" : "0.0.0.0"))
        #expect(ListenAddress("127.0.0.1:80")?.port == 80)
        #expect(ListenAddress("[::1]:9166")?.host == "::1")
        #expect(ListenAddress("::1:9166") == nil)
        #expect(ListenAddress("localhost") == nil)
        #expect(ListenAddress(":99999") == nil)
    }
}
