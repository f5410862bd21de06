// Captures recorded on the interface types of real hosts (captures/http/interfaces,
// scripts/make-interface-fixtures.sh): replayed, each counts what its clients counted.
import Foundation
import Testing

struct InterfaceFixtureTests {
    /// Each capture, and the link type in its file header (tcpdump writes a tun's DLT_RAW as LINKTYPE_RAW, 101).
    @Test(arguments: [("tun-raw", 101), ("tap-ethernet", 1), ("macvlan", 1), ("bridge-port", 1)] as [(String, UInt32)])
    func replayCountsWhatTheClientsCounted(name: String, linkType: UInt32) async throws {
        let capture = Fixtures.path("http/interfaces/\(name).pcap")
        let header = try #require(FileManager.default.contents(atPath: capture)).prefix(24)
        #expect(header.count == 24 && header.suffix(4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } == linkType)
        let client = try #require(FileManager.default.contents(atPath: Fixtures.path("http/interfaces/\(name).client.json")))
        let statuses = try #require(try JSONSerialization.jsonObject(with: client) as? [String: Int])

        let result = try await runExporter(["replay", capture, "--syscode", "A123010101", "--inbound-port", "8080", "--no-progress"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(innerCountsByStatus(result.standardOutput) == statuses.mapValues(Double.init), "\(result.standardOutput)")
    }
}
