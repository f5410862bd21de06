import ChannelExporter
import Foundation
import HTTP1Observer
import Testing

/// Captures of real TCP stacks under real loss (captures/http/loss/, made by
/// captures/scripts/make-loss-fixtures.sh). TsharkCrossCheckTests compares the `loss-*`
/// ones with tshark through the manifest; here the other witnesses: the clients' own log,
/// and for `holes-wrk` (packets the capture itself dropped) the TCP acknowledgments.
@Suite struct LossCaptureTests {
    static func replay(_ fixture: String, inboundPorts: [UInt16] = []) throws -> DamagedCaptureTests.Replayed {
        let sink = TsharkCrossCheckTests.ExchangeCollector()
        var configuration = ExporterConfiguration(syscode: "A123010101")
        configuration.inbound.ports = inboundPorts
        let pipeline = try Pipeline(configuration: configuration, exchangeLog: sink)
        let result = try ReplayRunner.run(files: [Fixtures.path(fixture)], pipeline: pipeline)
        return DamagedCaptureTests.Replayed(result: result, exchanges: sink.exchanges)
    }

    struct ClientEntry: Decodable { var method: String; var url: String; var status: Int }

    /// Every byte reached the capture (the drops were before it, or after it and retransmitted):
    /// retransmissions fill every hole, so no gap, and every exchange a client completed is paired.
    @Test(arguments: ["http/loss/loss-keepalive.pcap", "http/loss/loss-large.pcap"])
    func retransmissionsFillEveryHoleAndEveryClientExchangeIsPaired(_ fixture: String) throws {
        let r = try Self.replay(fixture)
        let s = r.result.statistics
        #expect(s.reassembly.retransmittedBytes > 0, "the fixture should hold retransmissions")
        #expect(s.reassembly.gaps == 0)
        #expect(s.http.responsesWithoutRequest == 0)
        #expect(s.http.requestsWithoutResponse == 0)
        #expect(r.exchanges.allSatisfy { $0.completeness == .complete && !$0.sawGap })

        let log = TsharkCrossCheckTests.expectedFile(fixture, ".client.jsonl")
        let entries = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(ClientEntry.self, from: Data($0.utf8)) }
        #expect(!entries.isEmpty)
        var ours = r.complete
        for entry in entries {
            // The URL's path and query, as the request line carries them.
            let afterHost = entry.url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
            let target = "/" + (afterHost.count > 3 ? afterHost[3] : "")
            let key = "\(entry.method) \(target) -> \(entry.status)"
            if let i = ours.firstIndex(of: key) { ours.remove(at: i) } else { Issue.record("client's \(key) not paired") }
        }
    }

    struct AckCheck: Decodable {
        var ack_check: Pairs
        struct Pairs: Decodable { var verified: [[Value]]; var mispaired: [[Value]] }
        enum Value: Decodable {
            case frame(Int), time(String)
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let n = try? c.decode(Int.self) { self = .frame(n) } else { self = .time(try c.decode(String.self)) }
            }
            /// tshark's frame.time_epoch ("1795946458.954514000") in nanoseconds.
            var nanoseconds: Int64? {
                guard case .time(let t) = self else { return nil }
                let parts = t.split(separator: ".")
                let fraction = (parts.count > 1 ? String(parts[1]) : "").padding(toLength: 9, withPad: "0", startingAt: 0)
                return Int64(parts[0])! * 1_000_000_000 + Int64(fraction)!
            }
        }
    }

    /// The kernel dropped packets from the capture: holes never filled, spurious retransmissions of
    /// requests whose first copy is missing. Gaps are counted, and every pair we make is one the TCP
    /// acknowledgments confirm (the response acknowledges exactly its request), with or without the
    /// server port configured; tshark pairs some requests with the next response across a hole.
    @Test(arguments: [[], [UInt16(18080)]])
    func captureDropsAreGapsAndNothingIsMispaired(_ inboundPorts: [UInt16]) throws {
        let fixture = "http/loss/holes-wrk.pcap"
        let expected = try JSONDecoder().decode(
            AckCheck.self,
            from: Data(contentsOf: URL(fileURLWithPath: TsharkCrossCheckTests.expectedFile(fixture, ".http.json"))))
        #expect(!expected.ack_check.mispaired.isEmpty, "tshark no longer mispairs here: is this still a capture with holes?")
        let confirmed = Set(expected.ack_check.verified.map { "\($0[2].nanoseconds!) \($0[3].nanoseconds!)" })

        let r = try Self.replay(fixture, inboundPorts: inboundPorts)
        let s = r.result.statistics
        #expect(s.reassembly.gaps > 0)
        #expect(s.http.responsesWithoutRequest > 0)
        #expect(s.http.requestsWithoutResponse > 0)
        let ours = r.exchanges.filter { $0.completeness == .complete }
            .map { "\($0.requestLastByte!.nanoseconds) \($0.responseLastByte!.nanoseconds)" }
        for pair in ours { #expect(confirmed.contains(pair), "a pair the ACKs do not confirm: \(pair)") }
        // And no pair tshark gets right is lost.
        #expect(Set(ours) == confirmed)
    }
}
