// The read-ahead path of PcapFileReader against the direct path and libpcap: records that
// straddle buffer ends at every offset, files that change before the read, read errors, and
// the reading thread ended (joined) however a read ends.
import Foundation
import Glibc
import PacketDecoding
import Testing

@testable import PacketCapture

/// Collects the rings of the readers a source opens.
final class OpenedRings: @unchecked Sendable {  // used on the test's thread only
    var rings: [ReadAheadRing] = []
    var readers = 0

    func record(_ reader: any PacketReader) {
        readers += 1
        if let reader = reader as? PcapFileReader, let ring = reader.readAhead { rings.append(ring) }
    }

    var allExited: Bool { rings.allSatisfy { $0.hasThreadExited } }
}

@Suite struct ReadAheadTests {
    typealias W = CaptureFileWriter

    /// 41 records of 0…96 captured bytes (16-byte headers): 2,340 bytes of records in all.
    static let variedPackets = (0..<41).map { i in
        let count = (i * 37) % 97
        return TestPacket(
            seconds: UInt32(1_700_000_000 + i), fraction: UInt32(i * 1001),
            bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }, originalLength: count + i)
    }

    /// Buffer sizes 1…120 (and 1000, 1 MiB): with records of 16…112 bytes, a buffer end falls at
    /// every offset of a record header and of its data somewhere in the file.
    static let smallSizes = Array(1...120) + [1000, 1 << 20]

    @Test(arguments: [2, 3, 5])
    func recordsStraddlingBufferEndsAtEveryOffsetReadAsDirectlyAndWithLibpcap(bufferCount: Int) throws {
        let dir = TemporaryDirectory()
        let path = dir.write("varied.pcap", W.classic(packets: Self.variedPackets))
        let reference = outcome([path], reading: .libpcap)
        #expect(reference.packets.count == 41)
        #expect(reference.error == nil && reference.summary?.truncatedFiles == [])
        #expect(outcome([path], reading: .direct) == reference)
        for size in Self.smallSizes {
            let ours = outcome([path], reading: .readAhead(bufferSize: size, bufferCount: bufferCount))
            let same = ours == reference
            #expect(same, "buffer \(size): \(same ? "" : ours.difference(from: reference))")
        }
    }

    @Test(arguments: [17, 1000, 2357])
    func aFileCutAtEveryOffsetEndsAsLibpcapSays(bufferSize: Int) throws {
        let dir = TemporaryDirectory()
        let whole = W.classic(packets: Array(Self.variedPackets.prefix(12)))
        for cut in 24...whole.count {
            let path = dir.write("cut-\(cut).pcap", Array(whole.prefix(cut)))
            let reference = outcome([path], reading: .libpcap)
            let ours = outcome([path], reading: .readAhead(bufferSize: bufferSize, bufferCount: 2))
            let same = ours == reference
            #expect(same, "cut at \(cut): \(same ? "" : ours.difference(from: reference))")
        }
    }

    @Test func defaultsAreBoundedAndTheSwitchIsNamed() {
        #expect(ClassicPcapReading.readAhead == .readAhead(bufferSize: 1 << 20, bufferCount: 4))
        #expect(ClassicPcapReading.direct == .direct(bufferSize: 1 << 20))
        // This machine's default, unless the environment says otherwise.
        let environment = ProcessInfo.processInfo.environment["CHANNEL_EXPORTER_READ_AHEAD"]
        let expected: ClassicPcapReading? =
            switch environment {
            case "0", "off": .direct
            case "1", "on": .readAhead
            case nil, "": sysconf(Int32(_SC_NPROCESSORS_ONLN)) >= 2 ? .readAhead : .direct
            default: nil  // COUNTxKIB, for measurements
            }
        if let expected { #expect(ClassicPcapReading.automatic == expected) }
    }

    @Test func onlyRegularFilesAreReadByUs() {
        #expect(ClassicPcapHeader.open("/dev/null") == nil)
        #expect(ClassicPcapHeader.open("/") == nil)
    }

    /// A file that grew or shrank between the check (`files`) and the read (`run`): each reader
    /// reads what is there when it reads, as libpcap does.
    @Test func aFileChangedAfterTheCheckIsReadAsItIsThen() throws {
        let dir = TemporaryDirectory()
        let head = W.classic(packets: Array(Self.variedPackets.prefix(5)))
        let whole = W.classic(packets: Self.variedPackets)
        for reading in [ClassicPcapReading.direct(bufferSize: 100), .readAhead(bufferSize: 100, bufferCount: 2)] {
            let grows = dir.write("grows.pcap", head)
            let grown = try PacketSource.files([grows], reading: reading)
            precondition(FileManager.default.createFile(atPath: grows, contents: Data(whole)))
            let all = try readAll(grown)
            #expect(all.packets.count == 41, "\(reading)")
            #expect(all.summary.truncatedFiles == [])

            let shrinks = dir.write("shrinks.pcap", whole)
            let shrunk = try PacketSource.files([shrinks], reading: reading)
            #expect(truncate(shrinks, off_t(head.count + 20)) == 0)
            let cut = try readAll(shrunk)
            #expect(cut.packets.count == 5, "\(reading)")
            // The sixth record (88 bytes) keeps its header and 4 bytes of data.
            #expect(
                cut.summary.truncatedFiles == [
                    TruncatedFile(
                        path: shrinks, packets: 5, detail: "truncated dump file; tried to read 88 captured bytes, only got 4")
                ])
        }
    }

    /// Progress counts the bytes of the chunks handed to the parser: with chunks of 10 records,
    /// the same steps as the direct reader's refills of a buffer of that size.
    @Test func progressFollowsTheChunksTaken() throws {
        let dir = TemporaryDirectory()
        let packets = (0..<100).map {
            TestPacket(seconds: UInt32($0), fraction: 0, bytes: Array(repeating: 1, count: 984), originalLength: 984)
        }
        let path = dir.write("a.pcap", W.classic(packets: packets))  // 24 + 100 records of 1000 bytes
        let source = try PacketSource.files([path], reading: .readAhead(bufferSize: 10_000, bufferCount: 3))
        var positions = [Int64]()
        _ = try source.run { _ in positions.append(source.progress()!.bytesRead) }
        #expect(positions.count == 100)
        #expect(positions.first == 10_024)
        #expect(positions.last == 100_024)
        #expect(zip(positions, positions.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(Set(positions) == Set((1...10).map { Int64(24 + $0 * 10_000) }))
    }

    /// A read that fails (EBADF: the descriptor is open for writing only) ends the file with
    /// libpcap's words for a read error, read directly or ahead.
    @Test func aReadErrorSurfacesAsWhenReadDirectly() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("a.pcap", W.classic(packets: Self.variedPackets))
        for readAhead in [nil, (size: 64, count: 2)] as [(size: Int, count: Int)?] {
            let descriptor = open(path, O_WRONLY | O_CLOEXEC)
            #expect(descriptor >= 0)
            let header = ClassicPcapHeader(
                descriptor: descriptor, isSwapped: false, hasNanosecondTimestamps: false, fileSize: 1000)
            let reader = PcapFileReader(
                header: header, linkType: .ethernet, snapshotLength: 262_144, bufferSize: 64, readAhead: readAhead)
            guard case .error(let detail) = reader.next() else {
                Issue.record("expected a read error")
                continue
            }
            #expect(detail == "error reading dump file: Bad file descriptor")
            let ring = reader.readAhead
            #expect((ring != nil) == (readAhead != nil))
            reader.close()
            #expect(ring?.hasThreadExited ?? true)
        }
    }

    /// A file far larger than the ring: the reading thread waits for a buffer when the parser
    /// stops; `close()` wakes it and joins it.
    @Test(arguments: [1, 3, 500])
    func closingMidFileEndsTheReadingThread(packetsRead: Int) throws {
        let dir = TemporaryDirectory()
        let path = dir.write("a.pcap", W.classic(packets: Array(repeating: Self.variedPackets, count: 20).flatMap { $0 }))
        guard case .classic(let reader) = try CaptureFile.open(path, reading: .readAhead(bufferSize: 256, bufferCount: 2))
        else {
            Issue.record("not read by our reader")
            return
        }
        let ring = try #require(reader.readAhead)
        for _ in 0..<packetsRead {
            guard case .packet = reader.next() else {
                Issue.record("expected a packet")
                break
            }
        }
        reader.close()
        #expect(ring.hasThreadExited)
    }

    /// However a run ends (the end, `stop()`, a handler's error, a truncated file), every reader
    /// it opened has ended its thread by the time `run` returns or throws.
    @Test func noReadingThreadOutlivesARun() throws {
        struct Boom: Error {}
        let dir = TemporaryDirectory()
        let packets = Array(repeating: Self.variedPackets, count: 20).flatMap { $0 }
        let big = dir.write("big.pcap", W.classic(packets: packets))
        let whole = W.classic(packets: Self.variedPackets)
        let cut = dir.write("cut.pcap", Array(whole.dropLast(3)))
        let reading = ClassicPcapReading.readAhead(bufferSize: 128, bufferCount: 2)

        let ended = OpenedRings()
        let endedSummary = try PacketSource.files([big, cut, big], reading: reading, readerOpened: ended.record).run { _ in }
        #expect(endedSummary.packets == 820 + 40 + 820)
        #expect(endedSummary.truncatedFiles.map(\.path) == [cut])
        #expect(ended.rings.count == 3 && ended.allExited)

        let stopped = OpenedRings()
        let source = try PacketSource.files([big, big], reading: reading, readerOpened: stopped.record)
        var count = 0
        let stoppedSummary = try source.run { _ in
            count += 1
            if count == 10 { source.stop() }
        }
        #expect(stoppedSummary.stopped && stoppedSummary.packets == 10)
        #expect(stopped.rings.count == 1 && stopped.allExited)

        let failed = OpenedRings()
        #expect(throws: Boom.self) {
            try PacketSource.files([big], reading: reading, readerOpened: failed.record).run { _ in throw Boom() }
        }
        #expect(failed.rings.count == 1 && failed.allExited)
    }
}
