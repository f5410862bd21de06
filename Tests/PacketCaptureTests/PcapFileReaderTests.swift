// PcapFileReader against libpcap: the same packets, summaries and errors for real captures,
// hand-made files of every byte order and precision, and damaged files.
import Foundation
import PacketDecoding
import Testing

@testable import PacketCapture

extension CaptureFileWriter {
    /// A classic pcap file with every header field chosen (pcap-savefile(5)); caplen is each packet's byte count.
    static func classic(
        bigEndian: Bool = false, magic: UInt32 = 0xA1B2_C3D4, version: (major: Int, minor: Int) = (2, 4),
        snaplen: UInt32 = 262_144, linkType: UInt32 = 1, packets: [TestPacket]
    ) -> [UInt8] {
        func u32(_ v: UInt32) -> [UInt8] { bigEndian ? le32(v).reversed() : le32(v) }
        func u16(_ v: Int) -> [UInt8] { bigEndian ? le16(v).reversed() : le16(v) }
        var out = u32(magic) + u16(version.major) + u16(version.minor) + u32(0) + u32(0) + u32(snaplen) + u32(linkType)
        for p in packets {
            out += u32(p.seconds) + u32(p.fraction) + u32(UInt32(p.bytes.count)) + u32(UInt32(p.originalLength))
            out += p.bytes
        }
        return out
    }
}

/// Everything a run of a source gave: the packets, then the summary or the error.
struct Outcome: Equatable {
    var packets: [Seen] = []
    var summary: CaptureSummary?
    var error: CaptureError?

    /// Where `other` differs, in words (Timestamp's description does not take negative times).
    func difference(from other: Outcome) -> String {
        if let i = packets.indices.first(where: { $0 < other.packets.count && packets[$0] != other.packets[$0] }) {
            let (a, b) = (packets[i], other.packets[i])
            return "packet \(i): \(a.timestamp.nanoseconds) \(a.linkType) \(a.originalLength) \(a.bytes.count) vs "
                + "\(b.timestamp.nanoseconds) \(b.linkType) \(b.originalLength) \(b.bytes.count)"
        }
        if packets.count != other.packets.count { return "\(packets.count) vs \(other.packets.count) packets" }
        return "\(String(describing: summary)) \(String(describing: error)) vs "
            + "\(String(describing: other.summary)) \(String(describing: other.error))"
    }
}

func outcome(_ paths: [String], reading: ClassicPcapReading) -> Outcome {
    var result = Outcome()
    do {
        let source = try PacketSource.files(paths, reading: reading)
        result.summary = try source.run { packet in
            result.packets.append(
                Seen(
                    timestamp: packet.timestamp, linkType: packet.linkType, bytes: Array(packet.bytes),
                    originalLength: packet.originalLength))
        }
    } catch {
        result.error = error as? CaptureError
    }
    return result
}

/// Buffer sizes from smaller than a record header up: every record crosses a refill somewhere.
let bufferSizes = [1, 16, 17, 31, 100, 1000, 4096, PcapFileReader.defaultBufferSize]

/// Asserts that our reader, at every buffer size, read directly and read ahead (through two
/// buffers of that size), gives what libpcap gives; returns libpcap's outcome.
@discardableResult
func expectSameAsLibpcap(_ paths: [String], sourceLocation: SourceLocation = #_sourceLocation) -> Outcome {
    let reference = outcome(paths, reading: .libpcap)
    for size in bufferSizes {
        for reading in [ClassicPcapReading.direct(bufferSize: size), .readAhead(bufferSize: size, bufferCount: 2)] {
            let ours = outcome(paths, reading: reading)
            let same = ours == reference
            #expect(same, "\(reading): \(same ? "" : ours.difference(from: reference))", sourceLocation: sourceLocation)
        }
    }
    return reference
}

func isReadByOurReader(_ path: String) throws -> Bool {
    let file = try CaptureFile.open(path, reading: .direct)
    defer { file.reader.close() }
    if case .classic = file { return true }
    return false
}

@Suite struct PcapFileReaderTests {
    typealias W = CaptureFileWriter

    /// Timestamps at the edges of the 32-bit fields, fractions out of range, caplen < and > len.
    static func oddPackets(nanosecond: Bool) -> [TestPacket] {
        let fractions: [UInt32] = [0, 1, nanosecond ? 999_999_999 : 999_999, 1_000_000_000, 0x7FFF_FFFF, 0xFFFF_FFFF]
        let seconds: [UInt32] = [0, 1_700_000_000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]
        var packets = [TestPacket]()
        for (i, second) in seconds.enumerated() {
            for (j, fraction) in fractions.enumerated() {
                let count = (i * 7 + j * 13) % 90
                packets.append(
                    TestPacket(
                        seconds: second, fraction: fraction, bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) },
                        originalLength: j % 2 == 0 ? count + 1400 : count / 2))
            }
        }
        return packets
    }

    @Test(arguments: [false, true], [false, true])
    func bothByteOrdersAndPrecisionsGiveWhatLibpcapGives(bigEndian: Bool, nanosecond: Bool) throws {
        let dir = TemporaryDirectory()
        let magic: UInt32 = nanosecond ? 0xA1B2_3C4D : 0xA1B2_C3D4
        var paths = [String]()
        // Ethernet, NULL, LINKTYPE_RAW, DLT_RAW 12 and 14, LOOP, IPV4, IPV6; SLL and SLL2 only in this
        // machine's byte order (the other goes to libpcap, see below).
        var linkTypes: [UInt32] = [1, 0, 101, 12, 14, 108, 228, 229]
        if !bigEndian { linkTypes += [113, 276] }
        for linkType in linkTypes {
            let bytes = W.classic(
                bigEndian: bigEndian, magic: magic, linkType: linkType, packets: Self.oddPackets(nanosecond: nanosecond))
            let path = dir.write("\(linkType).pcap", bytes)
            #expect(try isReadByOurReader(path))
            paths.append(path)
        }
        let reference = expectSameAsLibpcap(paths)
        #expect(reference.packets.count == 30 * linkTypes.count)
        #expect(reference.error == nil)
        // One value spelled out: 1_700_000_000 s and a fraction of 1.
        let second = reference.packets[6]
        #expect(second.timestamp == Timestamp(seconds: 1_700_000_000, nanoseconds: 0))
        #expect(reference.packets[7].timestamp == Timestamp(seconds: 1_700_000_000, nanoseconds: nanosecond ? 1 : 1000))
        #expect(reference.packets[7].linkType == .ethernet)
    }

    @Test func swappedLinuxCookedFilesAreLeftToLibpcap() throws {
        // libpcap byte-swaps the CAN ID of SocketCAN packets in SLL/SLL2 files of the other byte order.
        let dir = TemporaryDirectory()
        let sll: [UInt8] = [0, 0, 1, 0x18, 0, 0] + Array(repeating: 0, count: 8) + [0, 0x0C] + [1, 2, 3, 4, 8, 0, 0, 0]
        let path = dir.write(
            "can.pcap",
            W.classic(
                bigEndian: true, linkType: 113,
                packets: [TestPacket(seconds: 1, fraction: 2, bytes: sll, originalLength: sll.count)]))
        #expect(try !isReadByOurReader(path))
        let reference = expectSameAsLibpcap([path])
        #expect(reference.packets.first?.bytes[16..<20] == [4, 3, 2, 1])
    }

    @Test func otherFormatsAndVersionsAreLeftToLibpcap() throws {
        let dir = TemporaryDirectory()
        let packet = TestPacket(seconds: 1, fraction: 2, bytes: [1, 2, 3], originalLength: 3)
        // Kuznetzov's format: 24-byte record headers (index, protocol, packet type, padding).
        var kuznetzov = W.classic(magic: 0xA1B2_CD34, packets: [])
        kuznetzov += W.le32(1) + W.le32(2) + W.le32(3) + W.le32(3) + W.le32(7) + [0, 8, 0, 0] + packet.bytes
        let paths = [
            dir.write("kuznetzov.pcap", kuznetzov),
            dir.write("v2.3.pcap", W.classic(version: (2, 3), packets: [packet])),
            dir.write("v2.2.pcap", W.classic(version: (2, 2), packets: [packet])),
            dir.write("a.pcapng", W.pcapng(linkType: 1, tsresol: 9, packets: [(1, packet)])),
        ]
        for path in paths { #expect(try !isReadByOurReader(path), "\(path)") }
        let reference = expectSameAsLibpcap(paths)
        #expect(reference.packets.map(\.bytes) == Array(repeating: [1, 2, 3], count: 4))
    }

    static let frames = (0..<5).map { i in
        TestPacket(
            seconds: UInt32(i), fraction: UInt32(i * 10), bytes: (0..<(60 + i)).map { UInt8($0 ^ i) },
            originalLength: 60 + i)
    }

    @Test(arguments: 1...15)
    func aCutRecordHeaderEndsTheFileAsLibpcapSays(kept: Int) throws {
        let dir = TemporaryDirectory()
        let whole = W.classic(packets: Self.frames)
        let cut = 24 + Self.frames.prefix(4).reduce(0) { $0 + 16 + $1.bytes.count } + kept
        let path = dir.write("cut.pcap", Array(whole.prefix(cut)))
        let next = dir.write("next.pcap", W.classic(packets: [Self.frames[0]]))
        let reference = expectSameAsLibpcap([path, next])
        #expect(reference.packets.count == 5)
        #expect(
            reference.summary?.truncatedFiles == [
                TruncatedFile(
                    path: path, packets: 4, detail: "truncated dump file; tried to read 16 header bytes, only got \(kept)")
            ])
    }

    @Test(arguments: [0, 1, 63])
    func cutPacketDataEndsTheFileAsLibpcapSays(kept: Int) throws {
        let dir = TemporaryDirectory()
        let whole = W.classic(packets: Self.frames)
        let path = dir.write("cut.pcap", Array(whole.dropLast(64 - kept)))
        let reference = expectSameAsLibpcap([path])
        #expect(reference.packets.count == 4)
        #expect(
            reference.summary?.truncatedFiles.map(\.detail) == [
                "truncated dump file; tried to read 64 captured bytes, only got \(kept)"
            ])
    }

    @Test func emptyAndHeaderOnlyFiles() throws {
        let dir = TemporaryDirectory()
        let empty = dir.write("empty.pcap", [])
        let shortHeader = dir.write("short.pcap", Array(W.classic(packets: []).prefix(10)))
        for path in [empty, shortHeader] {
            #expect(throws: CaptureError.self) { try isReadByOurReader(path) }
            let reference = expectSameAsLibpcap([path])
            guard case .notACaptureFile(path, _) = reference.error else {
                Issue.record("expected notACaptureFile, got \(reference)")
                continue
            }
        }
        let headerOnly = dir.write("header.pcap", W.classic(bigEndian: true, packets: []))
        #expect(try isReadByOurReader(headerOnly))
        let reference = expectSameAsLibpcap([headerOnly])
        #expect(reference.packets == [])
        #expect(reference.summary?.packets == 0)
        #expect(reference.summary?.truncatedFiles == [])
    }

    @Test(arguments: [false, true])
    func aCaplenAboveTheSnaplenIsCutToItAsLibpcapDoes(bigEndian: Bool) throws {
        let dir = TemporaryDirectory()
        let long = TestPacket(seconds: 3, fraction: 4, bytes: (0..<150).map { UInt8($0) }, originalLength: 1500)
        let packets = [Self.frames[0], long, Self.frames[1]]
        let path = dir.write("long.pcap", W.classic(bigEndian: bigEndian, snaplen: 100, packets: packets))
        let reference = expectSameAsLibpcap([path])
        #expect(reference.packets.map(\.bytes.count) == [60, 100, 61])
        #expect(reference.packets[1].bytes == Array(long.bytes.prefix(100)))
        #expect(reference.packets[1].originalLength == 1500)
        #expect(reference.summary?.truncatedFiles == [])

        // Cut in the part handed out, and in the part skipped.
        let whole = W.classic(bigEndian: bigEndian, snaplen: 100, packets: [Self.frames[0], long])
        for (kept, tried) in [(40, 100), (120, 150)] {
            let cut = dir.write("cut-\(kept).pcap", Array(whole.dropLast(150 - kept)))
            let reference = expectSameAsLibpcap([cut])
            #expect(
                reference.summary?.truncatedFiles.map(\.detail) == [
                    "truncated dump file; tried to read \(tried) captured bytes, only got \(kept)"
                ])
        }
    }

    @Test func aCaplenAboveLibpcapsMaximumIsAReadError() throws {
        let dir = TemporaryDirectory()
        let huge = TestPacket(seconds: 0, fraction: 0, bytes: Array(repeating: 7, count: 262_145), originalLength: 262_145)
        // libpcap 1.10 makes a snaplen of 0 (or above Int32.max) 262144 but keeps other large ones.
        let limits: [(snaplen: UInt32, limit: String)] = [
            (100, "snaplen of 100"), (0, "snaplen of 262144"), (262_144, "snaplen of 262144"),
            (1 << 30, "maximum of 262144"), (0x7FFF_FFFF, "maximum of 262144"), (0x8000_0000, "snaplen of 262144"),
            (0xFFFF_FFFF, "snaplen of 262144"),
        ]
        for (snaplen, limit) in limits {
            let path = dir.write(
                "huge-\(snaplen).pcap", W.classic(snaplen: snaplen, packets: [Self.frames[0], Self.frames[1], huge]))
            #expect(try isReadByOurReader(path))
            let reference = expectSameAsLibpcap([path])
            #expect(reference.packets.map(\.bytes) == [Self.frames[0].bytes, Self.frames[1].bytes])
            #expect(
                reference.error
                    == .readFailed(
                        path: path, packetsRead: 2, detail: "invalid packet capture length 262145, bigger than \(limit)"),
                "snaplen \(snaplen)")
        }
    }

    @Test func recordsLargerThanTheBufferGrowItUpToTheBound() throws {
        let dir = TemporaryDirectory()
        let sizes = [10_000, 3, 70_000, 262_144, 0, 1500, 65_535]
        let packets = sizes.enumerated().map { i, size in
            TestPacket(
                seconds: UInt32(i), fraction: 0, bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ i) },
                originalLength: size)
        }
        let path = dir.write("big.pcap", W.classic(packets: packets))
        let reference = expectSameAsLibpcap([path])
        #expect(reference.packets.map(\.bytes.count) == sizes)
        #expect(PcapFileReader.maximumBufferSize == 16 + 262_144)
    }

    @Test func stopMidFileEndsTheRunAfterThatPacket() throws {
        let dir = TemporaryDirectory()
        let packets = (0..<1000).map {
            TestPacket(seconds: UInt32($0), fraction: 0, bytes: Array(repeating: UInt8($0 & 0xFF), count: 100), originalLength: 100)
        }
        let a = dir.write("a.pcap", W.classic(packets: packets))
        let b = dir.write("b.pcap", W.classic(packets: packets))
        let source = try PacketSource.files([a, b], reading: .direct(bufferSize: 4096))
        var seen = [UInt32]()
        let summary = try source.run { packet in
            seen.append(UInt32(packet.timestamp.nanoseconds / 1_000_000_000))
            if seen.count == 500 { source.stop() }
        }
        #expect(seen == Array(0..<500))
        #expect(summary.packets == 500)
        #expect(summary.stopped)
        let progress = try #require(source.progress())
        #expect(progress.fileIndex == 0)
        // The first file is released (counted whole); the second was never opened.
        #expect(progress.bytesRead == Int64(24 + 1000 * 116))
    }

    @Test func progressFollowsTheReadsOfASmallBuffer() throws {
        let dir = TemporaryDirectory()
        let packets = (0..<100).map {
            TestPacket(seconds: UInt32($0), fraction: 0, bytes: Array(repeating: 1, count: 984), originalLength: 984)
        }
        let path = dir.write("a.pcap", W.classic(packets: packets))  // 24 + 100 records of 1000 bytes
        let source = try PacketSource.files([path], reading: .direct(bufferSize: 10_000))
        var positions = [Int64]()
        _ = try source.run { _ in positions.append(source.progress()!.bytesRead) }
        // A refill reads what fits after the rest of the last record: the 24-byte header then
        // 10 records per read.
        #expect(positions.first == 10_024)
        #expect(positions.last == 100_024)
        #expect(zip(positions, positions.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(Set(positions).count == 10)
    }
}
