@testable import ChannelExporter
import HTTP1Observer
import PacketDecoding
import Testing

/// HTTP whose IP packets the kernel fragmented on the way (captures/http/fragments/,
/// captures/scripts/make-fragment-fixtures.sh: `requests` and curl calling a Python server with
/// 20 kB bodies both ways): the outer packets of a VXLAN tunnel over IPv4 with no room for its
/// headers, of a Geneve tunnel over IPv6 (fragmented at the source), and TCP without DF crossing a
/// narrower link. The exchanges are the clients' own, and those the tunnel device shows whole.
@Suite struct FragmentCaptureTests {
    static let directory = "http/fragments"

    static func replay(_ file: String, configure: (inout ExporterConfiguration) -> Void = { _ in }) throws
        -> (result: ReplayResult, exchanges: [HTTPExchange], exposition: String)
    {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [8080]
        configure(&config)
        let log = CollectedFragmentExchanges()
        let pipeline = try Pipeline(configuration: config, exchangeLog: log)
        let result = try ReplayRunner.run(files: [Fixtures.path("\(directory)/\(file)")], pipeline: pipeline)
        return (result, log.exchanges, pipeline.metrics.render(.prometheusText))
    }

    /// What the clients logged, one "METHOD path status" a request, sorted.
    static func clientLog(_ name: String) throws -> [String] {
        try String(contentsOfFile: Fixtures.path("\(directory)/\(name).client.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { line -> String in
                func field(_ key: String) -> String {
                    // requests' json.dumps writes `"key": value`, curl's -w `"key":value`.
                    let after = (line.split(separator: "\"\(key)\":", maxSplits: 1).last ?? "").drop { $0 == " " }
                    return String(after.prefix { $0 != "," && $0 != "}" }).replacingOccurrences(of: "\"", with: "")
                }
                let url = field("url")
                let path = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).dropFirst(3).first.map { "/\($0)" } ?? "/"
                return "\(field("method")) \(path) \(field("status"))"
            }.sorted()
    }

    /// The exchanges as the clients would log them.
    static func digest(_ exchanges: [HTTPExchange]) -> [String] {
        exchanges.map { "\($0.request?.method ?? "-") \($0.request?.target ?? "-") \($0.response?.status ?? 0)" }.sorted()
    }

    /// tshark's requests paired with their responses (`FILE.pairs.tsv`), as `digest` writes them.
    static func tsharkPairs(_ file: String) throws -> [String] {
        let name = file.replacingOccurrences(of: ".pcap", with: ".pairs.tsv")
        return try String(contentsOfFile: Fixtures.path("\(directory)/\(name)"), encoding: .utf8)
            .split(separator: "\n").map { $0.replacingOccurrences(of: "\t", with: " ") }.sorted()
    }

    /// A line of a TSV file of the fixtures, by its first column.
    static func row(_ file: String, _ capture: String) throws -> [Int] {
        let text = try String(contentsOfFile: Fixtures.path("\(directory)/\(file)"), encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(capture + "\t") })
        return line.split(separator: "\t").dropFirst().compactMap { Int($0) }
    }

    /// Each capture, the client log it goes with, and the tunnel its packets are in.
    static let captures: [(file: String, client: String, tunnel: TunnelKind?)] = [
        ("vxlan-frag.underlay.pcap", "vxlan-frag", .vxlan), ("geneve6-frag.underlay.pcap", "geneve6-frag", .geneve),
        ("nodf.pcap", "nodf", nil),
    ]

    @Test(arguments: captures.map(\.file))
    func theExchangesAreTheClientsOnes(file: String) throws {
        let capture = Self.captures.first { $0.file == file }!
        let expected = try Self.clientLog(capture.client)
        #expect(expected.count == 12)
        // tshark (which reassembles IP fragments by default) saw the same number of requests and responses.
        #expect(try Self.row("expected.tsv", file) == [12, 12, 12])
        let replay = try Self.replay(file)
        #expect(Self.digest(replay.exchanges) == expected)
        #expect(Self.digest(replay.exchanges) == (try Self.tsharkPairs(file)))
        #expect(NATCaptureTests.count("A123010101_inner_metrics", in: replay.exposition) == expected.count)
        let d = replay.result.statistics.decode
        #expect(d.fragments > 0 && d.reassembledDatagrams > 0)
        #expect(d.droppedFragments == 0)
        // Every fragment but the one completing its datagram is counted as a fragment anomaly.
        #expect(d[.ipv4Fragment] + d[.ipv6Fragment] == d.fragments - d.reassembledDatagrams)
        #expect(!d.nonZeroAnomalies.contains { $0.anomaly.isTruncation || $0.anomaly.isMalformation })
        if let tunnel = capture.tunnel { #expect(d[decapsulated: tunnel] >= d.tcpSegments) }
        let r = replay.result.statistics.reassembly
        #expect(r.gaps == 0)
        #expect(replay.result.statistics.http.responsesWithoutRequest == 0)
    }

    /// On the tunnel device the same segments are whole: the same exchanges and segments.
    @Test(arguments: ["vxlan-frag", "geneve6-frag"])
    func theUnderlayGivesWhatTheTunnelDeviceGives(name: String) throws {
        let underlay = try Self.replay("\(name).underlay.pcap")
        let inner = try Self.replay("\(name).inner.pcap")
        #expect(try Self.row("expected.tsv", "\(name).inner.pcap") == [12, 12, 12])
        #expect(Self.digest(underlay.exchanges) == Self.digest(inner.exchanges))
        #expect(Self.digest(inner.exchanges) == (try Self.tsharkPairs("\(name).inner.pcap")))
        #expect(underlay.result.statistics.decode.tcpSegments == inner.result.statistics.decode.tcpSegments)
        #expect(inner.result.statistics.decode.fragments == 0)
    }

    /// Without reassembly (as before it existed) every full-size segment is lost: exchanges go.
    @Test(arguments: captures.map(\.file))
    func withoutReassemblyTheFragmentedSegmentsAreLost(file: String) throws {
        let off = try Self.replay(file) { $0.limits.maxFragmentedDatagrams = 0 }
        let d = off.result.statistics.decode
        #expect(d.fragments == 0 && d[.ipv4Fragment] + d[.ipv6Fragment] > 0)
        let complete = off.exchanges.filter { $0.request != nil && $0.response != nil }
        #expect(Self.digest(complete) != (try Self.clientLog(Self.captures.first { $0.file == file }!.client)))
        #expect(off.result.statistics.reassembly.gaps > 0)
    }

    /// The damaged copies (captures/scripts/fragment_damage.py): what they must give, worked out by
    /// the script from the fragments alone, in fragments.tsv.
    @Test(arguments: [
        "vxlan-frag.underlay.pcap", "vxlan-frag.fragment-dropped.pcap", "vxlan-frag.fragments-reordered.pcap",
        "vxlan-frag.fragment-duplicated.pcap",
    ])
    func damagedCopies(file: String) throws {
        let expected = try Self.row("fragments.tsv", file)  // fragments, datagrams, held at the end, duplicates
        let replay = try Self.replay(file)
        let d = replay.result.statistics.decode
        #expect(d.fragments == UInt64(expected[0]))
        #expect(d.reassembledDatagrams == UInt64(expected[1]))
        #expect(d[droppedFragments: .duplicate] == UInt64(expected[3]))
        #expect(d.droppedFragments == UInt64(expected[3]))
        #expect(d[.ipv4Fragment] == UInt64(expected[0] - expected[1]))
        #expect(replay.result.statistics.fragmentedDatagramsHeld == expected[2])
        #expect((replay.result.statistics.fragmentBytesHeld > 0) == (expected[2] > 0))
        let clients = try Self.clientLog("vxlan-frag")
        // The datagram left out held a full-size segment: a hole of 1,448 bytes in its connection's
        // stream. It fell in a 20 kB body, which is skipped by its length across the gap: the
        // exchanges are still the clients'.
        let dropped = file.contains("dropped")
        #expect(replay.result.statistics.reassembly.gaps == (dropped ? 1 : 0))
        #expect(replay.result.statistics.reassembly.gapBytes == (dropped ? 1448 : 0))
        #expect(Self.digest(replay.exchanges) == clients)
    }

    @Test func theFragmentCountsAreInTheSummaryAndTheSelfMetrics() throws {
        let r = try Self.replay("vxlan-frag.fragment-duplicated.pcap").result
        let d = r.statistics.decode
        let json = ReplaySummary.json(r)
        #expect(json.contains("\"ip_fragments\":\(d.fragments),\"reassembled_datagrams\":\(d.reassembledDatagrams),\"ip_fragments_dropped\":{\"duplicate\":1}"))
        #expect(ReplaySummary.text(r).contains(
            "fragments:     \(d.fragments) IP fragments, \(d.reassembledDatagrams) datagrams reassembled, 1 fragments dropped [duplicate=1]"))
        let exposition = SelfMetrics.render(SelfMetricsInput(pipeline: r.statistics), metrics: nil, format: .prometheusText)
        #expect(exposition.contains("channel_exporter_ip_fragments_total \(Double(d.fragments))\n"))
        #expect(exposition.contains("channel_exporter_reassembled_datagrams_total \(Double(d.reassembledDatagrams))\n"))
        #expect(exposition.contains("channel_exporter_ip_fragments_dropped_total{reason=\"duplicate\"} 1.0\n"))
        #expect(exposition.contains("channel_exporter_ip_fragments_dropped_total{reason=\"overlap\"} 0.0\n"))
    }
}

extension FragmentCaptureTests {
    /// What is held at the end (the datagram whose fragment the capture lost) is a gauge in the
    /// self-metrics, in the summary's `fragments:` line and its JSON; nothing held, nothing said.
    @Test func theDatagramsHeldAreGauges() throws {
        let r = try Self.replay("vxlan-frag.fragment-dropped.pcap").result
        let held = try Self.row("fragments.tsv", "vxlan-frag.fragment-dropped.pcap")[2]
        let bytes = r.statistics.fragmentBytesHeld
        #expect(held == 1 && r.statistics.fragmentedDatagramsHeld == held && bytes > 1448)
        let exposition = SelfMetrics.render(SelfMetricsInput(pipeline: r.statistics), metrics: nil, format: .prometheusText)
        #expect(exposition.contains("# TYPE channel_exporter_ip_fragmented_datagrams_held gauge\n"), "\(exposition)")
        #expect(exposition.contains("\nchannel_exporter_ip_fragmented_datagrams_held 1.0\n"))
        #expect(exposition.contains("\nchannel_exporter_ip_fragment_bytes_held \(Double(bytes))\n"))
        #expect(ReplaySummary.text(r).contains("; 1 datagram incomplete at the end (\(bytes) bytes held)\n"))
        #expect(ReplaySummary.json(r).contains("\"fragmented_datagrams_held_at_end\":1,\"fragment_bytes_held_at_end\":\(bytes),"))
        let whole = try Self.replay("vxlan-frag.underlay.pcap").result
        #expect(whole.statistics.fragmentedDatagramsHeld == 0 && whole.statistics.fragmentBytesHeld == 0)
        #expect(!ReplaySummary.text(whole).contains("incomplete at the end"))
        let wholeExposition = SelfMetrics.render(SelfMetricsInput(pipeline: whole.statistics), metrics: nil, format: .prometheusText)
        #expect(wholeExposition.contains("\nchannel_exporter_ip_fragment_bytes_held 0.0\n"))
    }
}

extension FragmentCaptureTests {
    /// The live filter (replayed with a `capture.filter`, which runs the whole of it) lets through
    /// IPv6 fragments behind hop-by-hop, destination options and routing headers (the kernel's own,
    /// from a socket with IPV6_HOPOPTS, and scapy's) and ip6tnl/ip6gre packets behind their
    /// encapsulation limit option carrying inner fragments: 15 packets, 5 datagrams. Seen fail with
    /// `(ip6[6] = 44)` and libpcap's `proto 41 or proto 47`: all 15 left out, nothing reassembled.
    @Test func ipv6FragmentsBehindExtensionHeadersPassTheLiveFilter() throws {
        let replay = try Self.replay("ipv6-extension-headers.pcap") { $0.capture.extraFilter = "not host 192.0.2.9" }
        #expect(replay.result.filteredPackets == 0)
        let d = replay.result.statistics.decode
        #expect(d.packets == 15 && d.fragments == 15 && d.reassembledDatagrams == 5 && d.droppedFragments == 0)
        #expect(d[decapsulated: .gre] == 3 && d[decapsulated: .ipv6InIPv6] == 3)
        // With decapsulation off the tunnels' packets stay out, the plain fragments still pass.
        let off = try Self.replay("ipv6-extension-headers.pcap") {
            $0.capture.extraFilter = "not host 192.0.2.9"
            $0.tunnels.decapsulate = false
        }
        #expect(off.result.filteredPackets == 6 && off.result.statistics.decode.reassembledDatagrams == 3)
    }
}

private final class CollectedFragmentExchanges: HTTPExchangeSink {
    var exchanges: [HTTPExchange] = []
    func observe(_ exchange: HTTPExchange) { exchanges.append(exchange) }
}
