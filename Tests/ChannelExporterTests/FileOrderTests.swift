// Several capture files in one replay: taken in time order, and overlaps named.
import Foundation
import Testing

@Suite struct FileOrderTests {
    /// `captures/http/keepalive-requests.pcap` cut into three files at record boundaries, as
    /// `tcpdump -C` rotates them.
    static func rotated(in directory: TemporaryDirectory) throws -> [String] {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("http/keepalive-requests.pcap"))))
        let offsets = try ClassicPcap.recordOffsets(bytes) + [bytes.count]
        let header = Array(bytes[0..<ClassicPcap.globalHeaderLength])
        let cuts = [0, offsets.count / 3, 2 * offsets.count / 3, offsets.count - 1]
        return try (0..<3).map { part in
            try directory.write("cap\(part)", bytes: header + bytes[offsets[cuts[part]]..<offsets[cuts[part + 1]]])
        }
    }

    /// With `--output`, the summary is printed on standard output.
    static func exchanges(_ result: CommandResult) -> String? {
        result.standardOutput.split(separator: "\n").first { $0.hasPrefix("http:") }.map(String.init)
    }

    /// A shell glob gives rotated files in name order (`cap1`, `cap10`, `cap2`): replayed so, time
    /// went back between files, connections were cut and parsed again mid-stream (the three parts
    /// here, last first, as one file: 10 exchanges of 12, a response without request, a request
    /// without response, 2 bad request lines). They are taken in time order now.
    @Test func filesGivenOutOfOrderAreTakenInTimeOrder() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let parts = try Self.rotated(in: directory)
        let arguments = ["--syscode", "A123010101", "--no-progress", "--output", directory.file("out.prom")]
        let inOrder = try await runExporter(["replay"] + parts + arguments)
        let reversed = try await runExporter(["replay"] + parts.reversed() + arguments)
        #expect(inOrder.status == 0 && reversed.status == 0, "\(reversed.standardError)")
        #expect(Self.exchanges(inOrder)?.hasPrefix("http:          12 exchanges, 0 responses without request, 0 requests without response") == true)
        #expect(Self.exchanges(reversed) == Self.exchanges(inOrder), "\(reversed.standardError)")
        #expect(!inOrder.standardOutput.contains("files taken in the order"))
        #expect(reversed.standardOutput.contains("files taken in the order of their first packets: \(parts.joined(separator: " "))"))
        #expect(!reversed.standardOutput.contains("warning"), "\(reversed.standardOutput)")
        let json = try await runExporter(["replay"] + parts.reversed() + arguments + ["--json"])
        #expect(json.standardOutput.contains("\"reordered_files\":true"), "\(json.standardOutput)")
    }

    /// Two files of the same time (here the same file twice) cannot be replayed one after the other:
    /// the overlap is named.
    @Test func overlappingFilesAreNamed() async throws {
        let file = Fixtures.path("http/keepalive-curl.pcap")
        let result = try await runExporter(["replay", file, file, "--syscode", "A123010101", "--no-progress", "--output", "/dev/null"])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("warning: \(file) starts "), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("(mergecap)"))
    }
}
