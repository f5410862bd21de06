// Every capture of the repository (and the benchmark captures when present) read by
// PcapFileReader and by libpcap side by side: the same packets, field by field, byte by byte.
import Foundation
import Glibc
import PacketDecoding
import Testing

@testable import PacketCapture

/// The repository's `captures/` folder, found from this file's path.
let capturesFolder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("captures")

func repositoryCaptures(withExtension ext: String) -> [String] {
    let walker = FileManager.default.enumerator(at: capturesFolder, includingPropertiesForKeys: nil)
    let urls = (walker?.allObjects as? [URL]) ?? []
    return urls.filter { $0.pathExtension == ext }.map(\.path).sorted()
}

let benchCaptures = ["keepalive.pcap", "close.pcap", "open100k.pcap", "keepalive1m.pcap"]
    .map { "/tmp/channel-exporter-bench/\($0)" }
    .filter { FileManager.default.fileExists(atPath: $0) }

/// Reads `path` with our reader (as `reading` says) and with libpcap in lockstep and records
/// the first difference. Returns the number of packets both gave, nil when our reader does not read this file.
func compareInLockstep(
    _ path: String, reading: ClassicPcapReading, sourceLocation: SourceLocation = #_sourceLocation
) throws -> Int? {
    let file = try CaptureFile.open(path, reading: reading)
    guard case .classic(let ours) = file else {
        file.reader.close()
        return nil
    }
    let theirs = try PcapHandle.openFile(path)
    defer {
        ours.close()
        theirs.close()
    }
    var count = 0
    while true {
        switch (ours.next(), theirs.next()) {
        case (.packet(let a), .packet(let b)):
            let same =
                a.timestamp == b.timestamp && a.linkType == b.linkType && a.originalLength == b.originalLength
                && a.bytes.count == b.bytes.count
                && (a.bytes.count == 0 || memcmp(a.bytes.baseAddress!, b.bytes.baseAddress!, a.bytes.count) == 0)
            guard same else {
                let ours = "\(a.timestamp) \(a.originalLength) \(a.bytes.count)"
                let libpcap = "\(b.timestamp) \(b.originalLength) \(b.bytes.count)"
                Issue.record("\(path): packet \(count) differs: \(ours) vs \(libpcap)", sourceLocation: sourceLocation)
                return count
            }
            count += 1
        case (.end, .end):
            return count
        case (.error(let a), .error(let b)):
            #expect(a == b, "\(path)", sourceLocation: sourceLocation)
            return count
        case (let a, let b):
            Issue.record("\(path): after \(count) packets, \(a) vs \(b)", sourceLocation: sourceLocation)
            return count
        }
    }
}

@Suite struct CaptureParityTests {
    /// Directly, read ahead as by default, and read ahead through small buffers (most records straddle two).
    static let readings: [ClassicPcapReading] = [.direct, .readAhead, .readAhead(bufferSize: 1000, bufferCount: 3)]

    @Test(arguments: readings)
    func everyRepositoryCaptureReadsAsWithLibpcap(reading: ClassicPcapReading) throws {
        let paths = repositoryCaptures(withExtension: "pcap")
        #expect(paths.count >= 40)
        var total = 0
        var notClassic = [String]()
        for path in paths {
            if let count = try compareInLockstep(path, reading: reading) {
                total += count
            } else {
                notClassic.append(path)
            }
        }
        #expect(total > 8000)
        // Only the pcapng files named .pcap (section header block type 0x0a0d0d0a) go to libpcap.
        let pcapng = paths.filter { FileManager.default.contents(atPath: $0)?.prefix(4) == Data([10, 13, 13, 10]) }
        #expect(notClassic == pcapng)
        #expect(notClassic.count < 5)
        // All of them as one source, pcapng included (read by PcapngFileReader): the same packets and
        // summary. Not the capture on two interfaces of different link types, which libpcap refuses
        // (PcapngFileReaderTests checks it against tshark), nor the two interfaces whose clocks
        // disagree (`http/clock/skewed-*`), which PcapngFileReader puts in time order within its
        // window and libpcap hands out in file order.
        let all = paths + repositoryCaptures(withExtension: "pcapng").filter {
            !$0.hasSuffix("/multi-interface.pcapng") && !$0.contains("/http/clock/skewed-")
        }
        let reference = outcome(all, reading: .libpcap)
        #expect(reference.error == nil)
        #expect(reference.packets.count >= total)
        #expect(outcome(all, reading: reading) == reference)
    }

    @Test(.enabled(if: !benchCaptures.isEmpty), arguments: benchCaptures, [ClassicPcapReading.direct, .readAhead])
    func benchCaptureReadsAsWithLibpcap(path: String, reading: ClassicPcapReading) throws {
        let count = try #require(try compareInLockstep(path, reading: reading))
        #expect(count > 100_000)
    }
}
