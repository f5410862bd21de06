@testable import ChannelExporter
import HTTP1Observer
import PacketDecoding
import Testing

/// A pod's HTTP traffic between two nodes through each kind of tunnel (captures/http/tunnels/,
/// captures/scripts/make-tunnel-fixtures.sh: `requests` and curl calling a Python server), recorded
/// on the server node's underlay device and on its tunnel device at once: the exchanges found
/// inside the tunnel are the clients' requests, and the very ones the tunnel device shows.
@Suite struct TunnelCaptureTests {
    /// Each capture's name and the tunnels its packets are in, outermost first.
    static let kinds: [(name: String, tunnels: [TunnelKind])] = [
        ("vxlan", [.vxlan]), ("vxlan-8472", [.vxlan]), ("geneve", [.geneve]), ("gre", [.gre]), ("gretap", [.gre]),
        ("ip6gre", [.gre]), ("ipip", [.ipv4InIPv4]), ("sit", [.ipv6InIPv4]), ("ip6tnl", [.ipv4InIPv6]),
        ("ip6ip6", [.ipv6InIPv6]), ("vxlan-in-gre", [.gre, .vxlan]),
    ]

    /// The clients' own records: one line per request.
    static func clientRequests(_ name: String) throws -> Int {
        try String(contentsOfFile: Fixtures.path("http/tunnels/\(name).client.jsonl"), encoding: .utf8)
            .split(separator: "\n").count
    }

    static func replay(_ file: String, configure: (inout ExporterConfiguration) -> Void = { _ in }) throws
        -> (result: ReplayResult, exchanges: [HTTPExchange], exposition: String)
    {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [8080]
        configure(&config)
        let log = CollectedTunnelExchanges()
        let pipeline = try Pipeline(configuration: config, exchangeLog: log)
        let result = try ReplayRunner.run(files: [Fixtures.path("http/tunnels/\(file)")], pipeline: pipeline)
        return (result, log.exchanges, pipeline.metrics.render(.prometheusText))
    }

    /// What identifies an exchange whichever device it was seen on.
    static func digest(_ exchanges: [HTTPExchange]) -> [String] {
        exchanges.map {
            "\($0.client) \($0.server) \($0.request?.method ?? "-") \($0.request?.path ?? "-") \($0.response?.status ?? 0)"
        }.sorted()
    }

    @Test(arguments: kinds.map(\.name))
    func theExchangesInsideAreTheClientsAndTheTunnelDevicesOnes(kind: String) throws {
        let requests = try Self.clientRequests(kind)
        #expect(requests == 9)
        let underlay = try Self.replay("\(kind).underlay.pcap")
        let inner = try Self.replay("\(kind).inner.pcap")
        let complete = underlay.exchanges.filter { $0.request != nil && $0.response != nil }
        #expect(complete.count == requests)
        #expect(underlay.exchanges.count == requests)
        #expect(NATCaptureTests.count("A123010101_inner_metrics", in: underlay.exposition) == requests)
        #expect(NATCaptureTests.count("A123010101_inner_metrics", in: inner.exposition) == requests)
        #expect(Self.digest(underlay.exchanges) == Self.digest(inner.exchanges))
        let decode = underlay.result.statistics.decode
        let expected = Self.kinds.first { $0.name == kind }!.tunnels
        for tunnel in TunnelKind.allCases {
            // Every segment came through its tunnels; the other tunnels' own neighbour discovery and
            // multicast listener reports cross the same underlay now and then.
            if expected.contains(tunnel) {
                #expect(decode[decapsulated: tunnel] >= decode.tcpSegments, "\(tunnel)")
            } else {
                #expect(decode[decapsulated: tunnel] <= 10, "\(tunnel): \(decode[decapsulated: tunnel])")
            }
            // (the gre device also carries vxlan-in-gre's tunnel, and its neighbour discovery)
            #expect(inner.result.statistics.decode[decapsulated: tunnel] <= 10, "\(tunnel)")
        }
        #expect(decode.tcpSegments > 0 && decode.tcpSegments == inner.result.statistics.decode.tcpSegments)
        // Nothing in the tunnels was cut or malformed; what is left is ARP and neighbour discovery.
        #expect(
            !decode.nonZeroAnomalies.contains { $0.anomaly.isTruncation || $0.anomaly.isMalformation || $0.anomaly == .tunnelTooDeep },
            "\(decode.nonZeroAnomalies.map { "\($0.anomaly)=\($0.count)" })")
        #expect(underlay.result.statistics.reassembly.gaps == 0)
        #expect(underlay.result.statistics.reassembly.natCopyConnections == 0)
    }

    @Test func withDecapsulationOffTheTunnelsAreNotTCP() throws {
        let off = try Self.replay("vxlan.underlay.pcap") { $0.tunnels.decapsulate = false }
        #expect(off.exchanges.isEmpty)
        #expect(off.result.statistics.decode.tcpSegments == 0)
        #expect(TunnelKind.allCases.allSatisfy { off.result.statistics.decode[decapsulated: $0] == 0 })
        // Flannel's port left out of the list: its VXLAN is plain UDP.
        let without8472 = try Self.replay("vxlan-8472.underlay.pcap") { $0.tunnels.vxlanPorts = [4789] }
        #expect(without8472.exchanges.isEmpty)
    }

    /// On `any` in the server's node, every segment is seen three times: in VXLAN on the underlay
    /// device, then inside on the vxlan device and on the pod's veth, with the same addresses and
    /// sequence numbers. The copies are duplicates, not NAT copies: each exchange counts once.
    @Test func onAnyTheThreeCopiesOfEachSegmentCountOnce() throws {
        let requests = try Self.clientRequests("vxlan-any")
        #expect(requests == 9)
        let any = try Self.replay("vxlan-any.pcap")
        #expect(any.exchanges.count == requests)
        #expect(any.exchanges.allSatisfy { $0.request != nil && $0.response != nil })
        #expect(NATCaptureTests.count("A123010101_inner_metrics", in: any.exposition) == requests)
        let r = any.result.statistics.reassembly
        #expect(r.natCopyConnections == 0)
        #expect(r.gaps == 0)
        // Two connections (requests, curl), each seen once; the two later copies of the four
        // 20 kB bodies, and of everything else, are retransmitted bytes.
        #expect(r.connectionsOpened == 2)
        #expect(r.retransmittedBytes > 2 * 4 * 20_000)
        #expect(any.result.statistics.decode[decapsulated: .vxlan] > 0)
        #expect(ReplaySummary.json(any.result).contains("\"responses_without_request\":0"))
    }

    /// A client pod calls a Service address on its own node, which DNATs it (as kube-proxy does) to
    /// the pod on the other node through VXLAN; on `any` there, each segment is seen before the NAT,
    /// after it, and after it in VXLAN. The NAT's copy is recognised as one, the tunnel's copy of
    /// the NAT'd connection is the same connection: each exchange counts once, whichever port is
    /// configured (the Service's or the pod's).
    @Test(arguments: [UInt16(8080), 80])
    func throughAServiceAndATunnelEachExchangeCountsOnce(inboundPort: UInt16) throws {
        let requests = try Self.clientRequests("vxlan-service-any")
        #expect(requests == 9)
        let any = try Self.replay("vxlan-service-any.pcap") { $0.inbound.ports = [inboundPort] }
        #expect(any.exchanges.count == requests)
        #expect(any.exchanges.allSatisfy { $0.request != nil && $0.response != nil && $0.server.port == inboundPort })
        #expect(NATCaptureTests.count("A123010101_inner_metrics", in: any.exposition) == requests)
        let r = any.result.statistics.reassembly
        #expect(r.natCopyConnections == 2)
        #expect(r.gaps == 0)
        #expect(any.result.statistics.decode[decapsulated: .vxlan] > 0)
    }

    /// RabbitMQ in the pod, pika consumers on the other node acking, nacking and rejecting through
    /// VXLAN (captures/amqp/consumers.py's ack-nack-reject): every answer the workers recorded is
    /// counted from the underlay, as from the vxlan device.
    @Test func amqpThroughVXLANGivesTheWorkersAnswers() throws {
        let workers = try String(contentsOfFile: Fixtures.path("http/tunnels/amqp-vxlan.workers.json"), encoding: .utf8)
        let answers = workers.components(separatedBy: "\"delivery_tag\"").count - 1
        #expect(answers == 11)
        var results: [(consumer: Int, acks: Int, nacks: Int, rejects: Int)] = []
        for part in ["underlay", "inner"] {
            let replay = try Self.replay("amqp-vxlan.\(part).pcap") { $0.inbound.ports = []; $0.amqp.ports = [5672] }
            let a = replay.result.statistics.amqp
            results.append((NATCaptureTests.count("A123010101_consumer_metrics", in: replay.exposition), a.acks, a.nacks, a.rejects))
        }
        #expect(results[0].consumer == answers)
        #expect(results[0].acks + results[0].nacks + results[0].rejects == answers)
        #expect(results[0] == results[1])
    }

    @Test func theTunnelCountsAreInTheSummaryAndTheSelfMetrics() throws {
        let r = try Self.replay("vxlan-in-gre.underlay.pcap").result
        let d = r.statistics.decode
        let json = ReplaySummary.json(r)
        #expect(json.contains("\"decapsulated\":{\"vxlan\":\(d[decapsulated: .vxlan]),\"gre\":\(d[decapsulated: .gre])}"))
        #expect(ReplaySummary.text(r).contains("tunnels:       headers taken off [vxlan=\(d[decapsulated: .vxlan]) gre=\(d[decapsulated: .gre])]"))
        let exposition = SelfMetrics.render(SelfMetricsInput(pipeline: r.statistics), metrics: nil, format: .prometheusText)
        #expect(exposition.contains("channel_exporter_decapsulated_packets_total{tunnel=\"gre\"} \(Double(d[decapsulated: .gre]))\n"))
        #expect(exposition.contains("channel_exporter_decapsulated_packets_total{tunnel=\"geneve\"} 0.0\n"))
    }
}

private final class CollectedTunnelExchanges: HTTPExchangeSink {
    var exchanges: [HTTPExchange] = []
    func observe(_ exchange: HTTPExchange) { exchanges.append(exchange) }
}
