// A capture on two interfaces at once (dumpcap -i lo -i any), replayed end to end.
import Foundation
import Testing

@Suite struct MultiInterfaceCaptureTests {
    /// Every packet is in the file twice (Ethernet from lo, Linux cooked from any), and dumpcap
    /// wrote the two interfaces apart in time. libpcap refused the file; read in time order, the
    /// copies are retransmissions and each of the 5 calls curl made is counted once (read in file
    /// order, 2 were counted twice: a connection ended, then its copies started it anew).
    @Test func eachCallIsCountedOnceFromACaptureOnTwoInterfaces() async throws {
        let result = try await runExporter([
            "replay", Fixtures.path("http/multi-interface.pcapng"), "--syscode", "A123010101", "--inbound-port", "18081",
            "--no-progress",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let counts = result.standardOutput.split(separator: "\n").filter { $0.hasPrefix("A123010101_inner_metrics_count{") }
        #expect(counts.count == 5, "\(counts)")
        #expect(counts.allSatisfy { $0.hasSuffix(" 1.0") }, "\(counts)")
        #expect(result.standardError.contains("http:          5 exchanges, 0 responses without request, 0 requests without response"))
        #expect(!result.standardError.contains("warning"), "\(result.standardError)")
    }
}
