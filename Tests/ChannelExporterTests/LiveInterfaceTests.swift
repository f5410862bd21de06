// Live capture on the interfaces of a real host: a veth pair with offloads on, BIG TCP
// super-packets over IPv4 and IPv6, 802.1Q-tagged frames on a VLAN parent and on `any`.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `channel-exporter run` inside a network namespace watching a real server answer a real
/// client over a veth pair: the client's own count of statuses must be the exposition's.
/// Skipped without root, `ip`, `python3` or `curl`; the VLAN cases also need clang (BPF), tc
/// and ethtool.
@Suite(.serialized, .enabled(if: namespaceToolsMissing == nil, "needs root, ip (iproute2), python3 and curl"))
struct LiveInterfaceTests {
    /// Offloads on, BIG TCP where the kernel has it: segments up to 185,000 bytes, IPv6 ones
    /// with a hop-by-hop jumbo option, IPv4 ones with total length 0; 300 kB bodies both ways,
    /// both families to the same inbound port, captured on the server's interface.
    @Test func superPacketsOverIPv4AndIPv6AreCountedWhole() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pair = try await VethPair("big")
        defer { pair.remove() }
        try await pair.allowBigTCP(in: directory)
        let run = try await observe(
            pair, interface: "vs", in: directory,
            clients: [(VethPair.serverIPv6, 4), (VethPair.serverIPv4, 4)])
        run.expectCountsMatch()
        // Nothing lost or cut: a super-packet cut at 64 KiB (libpcap's TPACKET_V2 slots) is a gap.
        #expect(sampleValue("channel_exporter_tcp_gaps_total", in: run.exposition) == 0, "\(run.exposition)")
    }

    /// Tagged frames: on the VLAN parent with the tag beside the packet and with it in the
    /// transmitted frames (no tx VLAN offload), and on `any` (the tag written back after the
    /// Linux cooked header).
    @Test(
        .enabled(if: ["clang", "tc", "ethtool"].allSatisfy { BuiltExecutable.tool($0) != nil }, "needs clang (BPF), tc and ethtool"),
        arguments: [("vs", false), ("vs", true), ("any", false)])
    func vlanTaggedFramesAreCounted(interface: String, inBandOnTransmit: Bool) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pair = try await VethPair("vlan")
        defer { pair.remove() }
        try await pair.tagFrames(in: directory, inBandOnTransmit: inBandOnTransmit)
        let run = try await observe(pair, interface: interface, in: directory, clients: [(VethPair.serverIPv4, 3)])
        run.expectCountsMatch()
        #expect(
            sampleValue(#"channel_exporter_decode_anomalies_total{reason="not_ip"}"#, in: run.exposition) == 0,
            "\(run.exposition)")
    }

    /// The interface deleted under the capture (a pod's veth when the pod dies), then created
    /// again with the same name (the container restarted): the capture is reported down, opened
    /// again when the interface is back, and counts the exchanges before the loss (the last ones
    /// still in the kernel's ring), and after, in the same process and series.
    @Test func aDeletedInterfaceIsOpenedAgainWhenItIsBack() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pair = try await VethPair("gone")
        defer { pair.remove() }
        let session = try await Session(pair, interface: "vs", in: directory)
        defer { session.stop() }

        // Deleted at once: the last exchanges are still in the kernel's ring, not yet handed over.
        let before = try await session.runClients([(VethPair.serverIPv4, 2)], thenDeleteLink: true)
        let down = try await session.waitForCounts(before.values.reduce(0, +)) {
            sampleValue("channel_exporter_capture_up", in: $0) == 0
        }
        #expect(session.exporter.isRunning, "stderr:\n\(session.exporter.standardError)")
        #expect(sampleValue("channel_exporter_capture_up", in: down) == 0, "\(down)")
        #expect(sampleValue("channel_exporter_capture_interruptions_total", in: down) == 1)
        #expect(innerCountsByStatus(down) == before.mapValues(Double.init), "\(down)")

        try await pair.addLink()
        // What crosses the interface before the capture is open again is not seen: wait for it.
        let reopened = try await poll(timeout: .seconds(10)) {
            try await session.scrape().flatMap { sampleValue("channel_exporter_capture_up", in: $0) == 1 ? true : nil }
        }
        #expect(reopened == true, "stderr:\n\(session.exporter.standardError)")
        let after = try await session.runClients([(VethPair.serverIPv4, 3)])
        let statuses = before.merging(after, uniquingKeysWith: +)
        let up = try await session.waitForCounts(statuses.values.reduce(0, +)) {
            sampleValue("channel_exporter_capture_up", in: $0) == 1
        }
        #expect(session.exporter.isRunning, "stderr:\n\(session.exporter.standardError)")
        Observed(statuses: statuses, exposition: up).expectCountsMatch()
        #expect(sampleValue("channel_exporter_capture_up", in: up) == 1, "\(up)")
        #expect(session.exporter.standardError.contains("capture lost"), "\(session.exporter.standardError)")
        #expect(session.exporter.standardError.contains("capturing again"), "\(session.exporter.standardError)")
    }

    /// What one observed run gave.
    struct Observed {
        /// The clients' own count of responses by status.
        var statuses: [String: Int]
        var exposition: String

        func expectCountsMatch(sourceLocation: SourceLocation = #_sourceLocation) {
            let seen = innerCountsByStatus(exposition)
            #expect(seen == statuses.mapValues(Double.init), "inner counts; exposition:\n\(exposition)", sourceLocation: sourceLocation)
            let complete = sampleValue(#"channel_exporter_http_exchanges_total{kind="complete"}"#, in: exposition)
            #expect(complete == Double(statuses.values.reduce(0, +)), sourceLocation: sourceLocation)
            #expect(
                sampleValue(#"channel_exporter_capture_dropped_packets_total{where="kernel"}"#, in: exposition) == 0,
                sourceLocation: sourceLocation)
        }
    }

    /// Starts the server and the exporter in the server's namespace, runs each client (host,
    /// rounds) in the client's, and scrapes until the exporter has counted as many exchanges as
    /// the clients made (or 20 s pass).
    private func observe(
        _ pair: VethPair, interface: String, in directory: TemporaryDirectory, clients: [(host: String, rounds: Int)]
    ) async throws -> Observed {
        let session = try await Session(pair, interface: interface, in: directory)
        defer { session.stop() }
        let statuses = try await session.runClients(clients)
        let exposition = try await session.waitForCounts(statuses.values.reduce(0, +))
        #expect(session.exporter.isRunning, "stderr:\n\(session.exporter.standardError)")
        return Observed(statuses: statuses, exposition: exposition)
    }

    /// The server and `channel-exporter run` in the server's namespace, the clients in the client's.
    private struct Session {
        let pair: VethPair
        let server: ChildProcess
        let exporter: ChildProcess
        let python: String
        let clientScript: String

        /// Starts both and waits until /metrics answers (the capture is open before it does).
        init(_ pair: VethPair, interface: String, in directory: TemporaryDirectory) async throws {
            self.pair = pair
            python = try BuiltExecutable.requiredTool("python3", package: "python3")
            let script = try directory.write("server.py", LargeBodyServer.script)
            clientScript = try directory.write("client.py", LargeBodyServer.client)
            server = try pair.process(in: pair.server, name: "server", [python, "-u", script], directory: directory)
            try server.start()
            let listening = await poll(timeout: .seconds(20), every: .milliseconds(50)) { [server] in
                server.standardOutput.contains("ready") ? true : nil
            }
            guard listening == true else {
                server.stop()
                throw TestFailure("the server did not start: \(server.standardError)")
            }
            let config = try directory.write(
                "exporter.yaml", "syscode: A123010101\ninbound:\n  ports: [8080]\namqp:\n  ports: []\n")
            exporter = try pair.process(
                in: pair.server, name: "exporter",
                [try BuiltExecutable.path(), "run", "--config.file", config, "--interface", interface,
                 "--web.listen-address", "127.0.0.1:9166"],
                directory: directory)
            try exporter.start()
            let started = try await poll(timeout: .seconds(20)) { [self] in exporter.isRunning ? try await scrape() : "" }
            guard started != nil, exporter.isRunning else {
                stop()
                throw TestFailure("channel-exporter run did not start on \(interface): \(exporter.standardError)")
            }
        }

        func stop() {
            exporter.stop()
            server.stop()
        }

        func scrape() async throws -> String? {
            let result = try await pair.command(in: pair.server, ["curl", "-sf", "--max-time", "5", "http://127.0.0.1:9166/metrics"])
            return result.status == 0 ? result.standardOutput : nil
        }

        /// Runs each client (host, rounds) in turn; the statuses they got, summed. With `thenDeleteLink`,
        /// the veth pair is deleted the moment the last client is done (from the same shell).
        func runClients(_ clients: [(host: String, rounds: Int)], thenDeleteLink: Bool = false) async throws -> [String: Int] {
            var statuses = [String: Int]()
            for (index, (host, rounds)) in clients.enumerated() {
                var command = [python, clientScript, host, String(rounds)]
                if thenDeleteLink, index == clients.count - 1 {
                    command = ["sh", "-c", #""$0" "$1" "$2" "$3" && ip link delete vc"#] + command
                }
                let result = try await pair.command(in: pair.client, command)
                guard result.status == 0,
                    let counted = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Int]
                else { throw TestFailure("client to \(host): exit \(result.status): \(result.standardError)") }
                statuses.merge(counted, uniquingKeysWith: +)
            }
            return statuses
        }

        /// Scrapes until `total` exchanges are counted and `until` holds (or 20 s pass); the last exposition.
        func waitForCounts(_ total: Int, until: (String) -> Bool = { _ in true }) async throws -> String {
            var last = ""
            _ = try await poll(timeout: .seconds(20), every: .milliseconds(200)) { () async throws -> Bool? in
                guard let text = try await scrape() else { return nil }
                last = text
                // The self-metrics are published apart from the families (at the next packet or
                // wake-up after a scrape asked): both must have caught up.
                let complete = sampleValue(#"channel_exporter_http_exchanges_total{kind="complete"}"#, in: text) ?? 0
                let counted = innerCountsByStatus(text).values.reduce(0, +)
                return counted >= Double(total) && complete >= Double(total) && until(text) ? true : nil
            }
            return last
        }
    }
}

/// The sum of `<SYSCODE>_inner_metrics_count` samples by `http_status`.
func innerCountsByStatus(_ exposition: String) -> [String: Double] {
    var sums = [String: Double]()
    for line in exposition.split(separator: "\n") where line.hasPrefix("A123010101_inner_metrics_count{") {
        guard let start = line.range(of: #"http_status=""#), let value = line.split(separator: " ").last.flatMap({ Double($0) })
        else { continue }
        let status = line[start.upperBound...].prefix { $0 != "\"" }
        sums[String(status), default: 0] += value
    }
    return sums
}
