@testable import ChannelExporter
import Foundation
import HTTP1Observer
import Testing

/// A service behind a Docker-like NAT, captured on `any` in the host's namespace
/// (captures/scripts/make-nat-fixture.sh: real DNAT and MASQUERADE by nftables, Python servers and
/// `requests` clients): every connection is seen before and after the NAT, and each exchange counts
/// once, whichever of the service's two ports is configured.
@Suite struct NATCaptureTests {
    /// The clients' own records: one line per request, `/call` ones made the service call its partner.
    static func clientLog(_ name: String) throws -> (requests: Int, calls: Int) {
        let text = try String(contentsOfFile: Fixtures.path("http/nat/\(name).client.jsonl"), encoding: .utf8)
        let lines = text.split(separator: "\n")
        return (lines.count, lines.filter { $0.contains("\"/call\"") }.count)
    }

    static func replay(_ name: String, inboundPort: UInt16) throws -> (ReplayResult, [HTTPExchange], String) {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [inboundPort]
        let log = CollectedNATExchanges()
        let pipeline = try Pipeline(configuration: config, exchangeLog: log)
        let result = try ReplayRunner.run(files: [Fixtures.path("http/nat/\(name).pcap")], pipeline: pipeline)
        return (result, log.exchanges, pipeline.metrics.render(.prometheusText))
    }

    /// The sum of a family's `_count` samples in an exposition.
    static func count(_ family: String, in exposition: String) -> Int {
        exposition.split(separator: "\n").filter { $0.hasPrefix(family + "_count{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0) { $0 + Int($1) }
    }

    @Test(arguments: [UInt16(80), 8080])
    func eachExchangeCountsOnceFromTheSYNs(inboundPort: UInt16) throws {
        let client = try Self.clientLog("nat")
        #expect(client.requests == 16 && client.calls == 8)
        let (result, exchanges, exposition) = try Self.replay("nat", inboundPort: inboundPort)
        // Two client connections and the service's one to its partner, each seen twice.
        #expect(result.statistics.reassembly.natCopyConnections == 3)
        #expect(Self.count("A123010101_inner_metrics", in: exposition) == client.requests)
        #expect(Self.count("external_call_duration_seconds", in: exposition) == client.calls)
        #expect(exchanges.count == client.requests + client.calls)
        // The copy read is the one on the configured port.
        let inbound = exchanges.filter { $0.request?.path == "/hello" || $0.request?.path == "/call" }
        #expect(inbound.count == client.requests && inbound.allSatisfy { $0.server.port == inboundPort })
    }

    @Test(arguments: [UInt16(80), 8080])
    func eachExchangeCountsOnceMidStream(inboundPort: UInt16) throws {
        let client = try Self.clientLog("nat-midstream")
        // The recording began after the client's first three requests (one of them a /call).
        let (requests, calls) = (client.requests - 3, client.calls - 1)
        let (result, exchanges, exposition) = try Self.replay("nat-midstream", inboundPort: inboundPort)
        #expect(result.statistics.reassembly.natCopyConnections == 2)
        #expect(Self.count("A123010101_inner_metrics", in: exposition) == requests)
        #expect(Self.count("external_call_duration_seconds", in: exposition) == calls)
        #expect(exchanges.filter { $0.request?.path == "/v1/quote" }.count == calls)
        #expect(ReplaySummary.json(result).contains("\"nat_copies\":2"))
    }

    /// A hairpin NAT (captures/scripts/nat-topologies-check.sh hairpin): container 172.30.0.3 calls the
    /// host's published 10.99.0.1:8080, DNAT'd to 172.30.0.2:80 on the same bridge and MASQUERADEd.
    /// With br_netfilter, `any` showed each connection three times: before the NAT, after its DNAT alone
    /// (the server's packets only, and its SYN for the first connection only), after its MASQUERADE.
    @Test(arguments: [UInt16(80), 8080])
    func eachExchangeThroughAHairpinNATCountsOnce(inboundPort: UInt16) throws {
        let client = try Self.clientLog("hairpin")
        #expect(client.requests == 34 && client.calls == 17)
        let (result, exchanges, exposition) = try Self.replay("hairpin", inboundPort: inboundPort)
        #expect(Self.count("A123010101_inner_metrics", in: exposition) == client.requests)
        #expect(Self.count("external_call_duration_seconds", in: exposition) == client.calls)
        #expect(exchanges.count == client.requests + client.calls)
        // Four client connections, two copies each. Before session 16's fix, with port 80, the copy
        // after the DNAT alone was read too: 34 responses without request (24 in session 16's first fix).
        #expect(result.statistics.reassembly.natCopyConnections == 8)
        #expect(ReplaySummary.json(result).contains("\"responses_without_request\":0"))
        #expect(result.statistics.reassembly.gaps == 0)
    }

    /// A NodePort on a Kubernetes-like node (captures/scripts/k8s-node-check.sh, node n2's recording of
    /// the calls from outside to its own NodePort): 192.168.77.2:30080 DNAT'd to the pod's
    /// 10.244.2.2:8080 on the node's bridge and MASQUERADEd fully-random from 10.244.2.1. With
    /// br_netfilter, `any` showed each connection three times: before the NAT, after both, and, on the
    /// bridge, the server's packets with the MASQUERADE undone but not the DNAT (the pod's endpoint and
    /// the outside client's, whose port the MASQUERADE changed).
    @Test(arguments: [UInt16(8080), 30080])
    func eachExchangeThroughANodePortCountsOnce(inboundPort: UInt16) throws {
        let text = try String(contentsOfFile: Fixtures.path("http/nat/nodeport.client.jsonl"), encoding: .utf8)
        let requests = text.split(separator: "\n").count
        #expect(requests == 60)
        let (result, exchanges, exposition) = try Self.replay("nodeport", inboundPort: inboundPort)
        #expect(Self.count("A123010101_inner_metrics", in: exposition) == requests)
        #expect(exchanges.count == requests)
        #expect(exchanges.allSatisfy { $0.server.port == inboundPort })
        // Three connections, two copies each. Before session 17's fix the copy on the bridge was read:
        // 60 responses without request and 60 gaps.
        #expect(result.statistics.reassembly.natCopyConnections == 6)
        #expect(ReplaySummary.json(result).contains("\"responses_without_request\":0"))
        #expect(result.statistics.reassembly.gaps == 0)
    }
}

/// Keeps every exchange the pipeline sees.
private final class CollectedNATExchanges: HTTPExchangeSink {
    var exchanges: [HTTPExchange] = []
    func observe(_ exchange: HTTPExchange) { exchanges.append(exchange) }
}
