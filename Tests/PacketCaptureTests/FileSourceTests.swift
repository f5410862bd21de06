import PacketCapture
import PacketDecoding
import Testing

/// What a handler saw, copied out of the borrowed buffer.
struct Seen: Equatable {
    var timestamp: Timestamp
    var linkType: LinkType
    var bytes: [UInt8]
    var originalLength: Int
}

func readAll(_ source: PacketSource) throws -> (packets: [Seen], summary: CaptureSummary) {
    var seen = [Seen]()
    let summary = try source.run { packet in
        seen.append(
            Seen(
                timestamp: packet.timestamp, linkType: packet.linkType, bytes: Array(packet.bytes),
                originalLength: packet.originalLength))
    }
    return (seen, summary)
}

@Suite struct FileSourceTests {
    typealias W = CaptureFileWriter
    static let frames: [[UInt8]] = [Array(0..<60), Array(100..<174), Array(repeating: 0xAB, count: 1)]

    @Test(arguments: [false, true])
    func classicPcapTimestampsAreExactToTheNanosecond(nanosecond: Bool) throws {
        let dir = TemporaryDirectory()
        let packets = [
            TestPacket(
                seconds: 1_700_000_000, fraction: nanosecond ? 123_456_789 : 123_456, bytes: Self.frames[0],
                originalLength: 60),
            TestPacket(
                seconds: 1_700_000_001, fraction: nanosecond ? 999_999_999 : 999_999, bytes: Self.frames[1],
                originalLength: 1514),
            TestPacket(seconds: 0, fraction: 0, bytes: Self.frames[2], originalLength: 1),
        ]
        let path = dir.write("a.pcap", W.pcap(linkType: 1, nanosecond: nanosecond, packets: packets))
        let source = try PacketSource.files([path])
        #expect(source.linkType == .ethernet)
        let (seen, summary) = try readAll(source)
        let scale: Int64 = nanosecond ? 1 : 1000
        #expect(
            seen
                == packets.map {
                    Seen(
                        timestamp: Timestamp(seconds: Int64($0.seconds), nanoseconds: Int64($0.fraction) * scale),
                        linkType: .ethernet, bytes: $0.bytes, originalLength: $0.originalLength)
                })
        #expect(summary.packets == 3)
        #expect(summary.bytes == 60 + 74 + 1)
        #expect(summary.truncatedFiles == [])
        #expect(summary.statistics == nil)
        #expect(!summary.stopped)
        #expect(source.statistics() == nil)
    }

    @Test func pcapngWithNanosecondResolution() throws {
        let dir = TemporaryDirectory()
        let ns: UInt64 = 1_700_000_000_123_456_789
        let path = dir.write(
            "a.pcapng",
            W.pcapng(
                linkType: 276, tsresol: 9,
                packets: [
                    (ns, TestPacket(seconds: 0, fraction: 0, bytes: Self.frames[0], originalLength: 60)),
                    (ns + 1, TestPacket(seconds: 0, fraction: 0, bytes: Self.frames[1], originalLength: 100)),
                ]))
        let (seen, summary) = try readAll(try PacketSource.files([path]))
        #expect(
            seen == [
                Seen(
                    timestamp: Timestamp(nanoseconds: 1_700_000_000_123_456_789), linkType: .linuxSLL2,
                    bytes: Self.frames[0], originalLength: 60),
                Seen(
                    timestamp: Timestamp(nanoseconds: 1_700_000_000_123_456_790), linkType: .linuxSLL2,
                    bytes: Self.frames[1], originalLength: 100),
            ])
        #expect(summary.packets == 2)
    }

    @Test func pcapngWithDefaultMicrosecondResolution() throws {
        let dir = TemporaryDirectory()
        let path = dir.write(
            "a.pcapng",
            W.pcapng(
                linkType: 12, tsresol: nil,
                packets: [
                    (1_700_000_000_654_321, TestPacket(seconds: 0, fraction: 0, bytes: [0x45], originalLength: 1))
                ]))
        let (seen, _) = try readAll(try PacketSource.files([path]))
        #expect(seen.map(\.timestamp) == [Timestamp(nanoseconds: 1_700_000_000_654_321_000)])
        #expect(seen.map(\.linkType) == [.raw])
    }

    @Test func severalFilesAreReadInOrderEachWithItsLinkType() throws {
        let dir = TemporaryDirectory()
        let a = dir.write(
            "a.pcap",
            W.pcap(
                linkType: 1, nanosecond: false,
                packets: [
                    TestPacket(seconds: 10, fraction: 1, bytes: [1], originalLength: 1),
                    TestPacket(seconds: 11, fraction: 2, bytes: [2], originalLength: 1),
                ]))
        let b = dir.write(
            "b.pcapng",
            W.pcapng(
                linkType: 113, tsresol: 9,
                packets: [
                    (5_000_000_003, TestPacket(seconds: 0, fraction: 0, bytes: [3], originalLength: 1))
                ]))
        let c = dir.write(
            "c.pcap",
            W.pcap(
                linkType: 0, nanosecond: true,
                packets: [
                    TestPacket(seconds: 1, fraction: 4, bytes: [4], originalLength: 1)
                ]))
        let (seen, summary) = try readAll(try PacketSource.files([a, b, c]))
        #expect(seen.map(\.bytes) == [[1], [2], [3], [4]])
        #expect(seen.map(\.linkType) == [.ethernet, .ethernet, .linuxSLL, .null])
        #expect(seen.map(\.timestamp.nanoseconds) == [10_000_001_000, 11_000_002_000, 5_000_000_003, 1_000_000_004])
        #expect(summary.packets == 4)
    }

    @Test func progressCountsBytesAcrossFiles() throws {
        let dir = TemporaryDirectory()
        let packets = (0..<100).map {
            TestPacket(
                seconds: UInt32($0), fraction: 0, bytes: Array(repeating: UInt8($0), count: 1000), originalLength: 1000)
        }
        let first = W.pcap(linkType: 1, nanosecond: false, packets: packets)
        let second = W.pcap(linkType: 1, nanosecond: true, packets: Array(packets.prefix(10)))
        let a = dir.write("a.pcap", first)
        let b = dir.write("b.pcap", second)
        let source = try PacketSource.files([a, b])
        let total = Int64(first.count + second.count)
        #expect(source.progress() == ReadProgress(bytesRead: 0, totalBytes: total, fileIndex: 0))
        var seen = [ReadProgress]()
        _ = try source.run { _ in seen.append(source.progress()!) }
        #expect(seen.count == 110)
        #expect(seen.map(\.fileIndex) == Array(repeating: 0, count: 100) + Array(repeating: 1, count: 10))
        #expect(seen.allSatisfy { $0.bytesRead > 0 && $0.bytesRead <= total })
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.bytesRead <= $1.bytesRead })
        #expect(source.progress() == ReadProgress(bytesRead: total, totalBytes: total, fileIndex: 1))
        #expect(source.progress()?.fraction == 1)
    }

    @Test func decoderTakesCapturedPackets() throws {
        let dir = TemporaryDirectory()
        // Raw IPv4 + TCP to port 80 with 3 payload bytes.
        let ip: [UInt8] =
            [0x45, 0, 0, 43, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
            + [0x9C, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 1, 0, 0, 0, 0, 0] + [1, 2, 3]
        let path = dir.write(
            "raw.pcap",
            W.pcap(
                linkType: 101, nanosecond: true,
                packets: [
                    TestPacket(seconds: 7, fraction: 8, bytes: ip, originalLength: ip.count)
                ]))
        var decoder = PacketDecoder()
        var payloads = [[UInt8]]()
        _ = try PacketSource.files([path]).run { packet in
            if let segment = decoder.decode(packet) {
                payloads.append(Array(segment.payload))
                #expect(segment.timestamp == Timestamp(seconds: 7, nanoseconds: 8))
                #expect(segment.destination == Endpoint(address: IPAddress("10.0.0.2")!, port: 80))
            }
        }
        #expect(payloads == [[1, 2, 3]])
        #expect(decoder.counters.packets == 1)
    }

    @Test func truncatedFileHandsOverCompletePacketsThenReportsIt() throws {
        let dir = TemporaryDirectory()
        let packets = (0..<3).map {
            TestPacket(seconds: UInt32($0), fraction: 0, bytes: Self.frames[0], originalLength: 60)
        }
        let whole = W.pcap(linkType: 1, nanosecond: false, packets: packets)
        // Cut inside the third record's data, and inside the third record's header.
        let cutData = dir.write("cut-data.pcap", Array(whole.dropLast(10)))
        let cutHeader = dir.write("cut-header.pcap", Array(whole.prefix(24 + 2 * 76 + 7)))
        let next = dir.write("next.pcap", W.pcap(linkType: 1, nanosecond: false, packets: [packets[0]]))
        let (seen, summary) = try readAll(try PacketSource.files([cutData, cutHeader, next]))
        #expect(seen.count == 5)
        #expect(summary.packets == 5)
        #expect(summary.truncatedFiles.map(\.path) == [cutData, cutHeader])
        #expect(summary.truncatedFiles.map(\.packets) == [2, 2])
        #expect(summary.truncatedFiles.first?.description == "\(cutData): truncated after 2 packets")
        #expect(summary.isTruncated)
    }

    @Test func truncatedPcapngIsReported() throws {
        let dir = TemporaryDirectory()
        let whole = W.pcapng(
            linkType: 1, tsresol: 9,
            packets: [
                (1, TestPacket(seconds: 0, fraction: 0, bytes: Self.frames[0], originalLength: 60)),
                (2, TestPacket(seconds: 0, fraction: 0, bytes: Self.frames[1], originalLength: 74)),
            ])
        let path = dir.write("cut.pcapng", Array(whole.dropLast(20)))
        let (seen, summary) = try readAll(try PacketSource.files([path]))
        #expect(seen.count == 1)
        #expect(summary.truncatedFiles.map(\.packets) == [1])
    }

    @Test func pcapngInterfacesKeepTheirOwnLinkTypes() throws {
        let dir = TemporaryDirectory()
        let ethernet = W.pcapng(
            linkType: 1, tsresol: 9,
            packets: [
                (1, TestPacket(seconds: 0, fraction: 0, bytes: Self.frames[0], originalLength: 60))
            ])
        // A second IDB (interface 1, raw IP) and a packet on it: libpcap refuses mixed link types.
        let idb: [UInt8] = W.le32(1) + W.le32(20) + W.le16(101) + W.le16(0) + W.le32(262_144) + W.le32(20)
        let epb: [UInt8] =
            W.le32(6) + W.le32(36) + W.le32(1) + W.le32(0) + W.le32(2) + W.le32(4) + W.le32(4) + [0x45, 0, 0, 0]
            + W.le32(36)
        let path = dir.write("mixed.pcapng", ethernet + idb + epb)
        let (seen, summary) = try readAll(try PacketSource.files([path]))
        #expect(seen.map(\.linkType) == [.ethernet, .raw])
        // Interface 1 has the default resolution (µs): 2 µs after interface 0's 1 ns.
        #expect(seen.map(\.timestamp.nanoseconds) == [1, 2_000])
        #expect(seen.last?.bytes == [0x45, 0, 0, 0])
        #expect(summary.packets == 2 && summary.skippedPackets == 0 && summary.packetsBackInTime == 0)
    }

    @Test func missingFile() throws {
        let dir = TemporaryDirectory()
        let good = dir.write("good.pcap", W.pcap(linkType: 1, nanosecond: false, packets: []))
        let missing = dir.url.appendingPathComponent("nope.pcap").path
        #expect(throws: CaptureError.fileNotFound(path: missing)) { try PacketSource.files([good, missing]) }
        #expect(CaptureError.fileNotFound(path: missing).description == "\(missing): no such file")
    }

    @Test func notACaptureFile() throws {
        let dir = TemporaryDirectory()
        let text = dir.write("notes.txt", Array("GET / HTTP/1.1\r\nHost: example\r\n\r\n".utf8))
        let empty = dir.write("empty.pcap", [])
        for path in [text, empty] {
            let error = #expect(throws: CaptureError.self) { try PacketSource.files([path]) }
            guard case .notACaptureFile(let reported, _) = error else {
                Issue.record("expected notACaptureFile, got \(String(describing: error))")
                continue
            }
            #expect(reported == path)
            #expect(error?.description.hasPrefix("\(path): not a pcap or pcapng capture file (") == true)
        }
    }

    @Test func directoryIsNotReadable() {
        let dir = TemporaryDirectory()
        #expect(throws: CaptureError.cannotReadFile(path: dir.url.path, reason: "is a directory")) {
            try PacketSource.files([dir.url.path])
        }
    }

    @Test func unsupportedLinkTypeIsNamed() {
        let dir = TemporaryDirectory()
        // DLT 147 (USER0) has no name in libpcap's table; 105 does.
        let user0 = dir.write("user0.pcap", W.pcap(linkType: 147, nanosecond: false, packets: []))
        let wifi = dir.write("wifi.pcap", W.pcap(linkType: 105, nanosecond: false, packets: []))
        let unnamed = CaptureError.unsupportedLinkType(source: user0, name: nil, number: 147)
        let named = CaptureError.unsupportedLinkType(source: wifi, name: "IEEE802_11", number: 105)
        #expect(throws: unnamed) { try PacketSource.files([user0]) }
        #expect(throws: named) { try PacketSource.files([wifi]) }
        #expect(unnamed.description.hasPrefix("\(user0): unsupported link type 147; supported: Ethernet"))
        #expect(named.description.hasPrefix("\(wifi): unsupported link type IEEE802_11 (105); supported: Ethernet"))
    }

    @Test func stopFromTheHandlerEndsTheRunAfterThatPacket() throws {
        let dir = TemporaryDirectory()
        let packets = (0..<5).map {
            TestPacket(seconds: UInt32($0), fraction: 0, bytes: [UInt8($0)], originalLength: 1)
        }
        let a = dir.write("a.pcap", W.pcap(linkType: 1, nanosecond: false, packets: packets))
        let b = dir.write("b.pcap", W.pcap(linkType: 1, nanosecond: false, packets: packets))
        let source = try PacketSource.files([a, b])
        var count = 0
        let summary = try source.run { _ in
            count += 1
            if count == 2 { source.stop() }
        }
        #expect(count == 2)
        #expect(summary.packets == 2)
        #expect(summary.stopped)
    }

    /// `readFile` adds each file's packets and bytes to the summary when the file ends, not per
    /// packet: the counts must still add up over files of each reader, a truncated file (its
    /// whole packets) and a run stopped in the middle of a file.
    @Test func packetAndByteCountsAddUpOverFiles() throws {
        let dir = TemporaryDirectory()
        func packets(_ sizes: [Int]) -> [TestPacket] {
            sizes.map { TestPacket(seconds: 1, fraction: 0, bytes: Array(repeating: 7, count: $0), originalLength: $0) }
        }
        let a = dir.write("a.pcap", W.pcap(linkType: 1, nanosecond: false, packets: packets([3, 5])))
        let b = dir.write(
            "b.pcapng", W.pcapng(linkType: 1, tsresol: 6, packets: packets([11]).map { (1_000_000, $0) }))
        let whole = W.pcap(linkType: 1, nanosecond: true, packets: packets([13, 17, 19]))
        let cut = dir.write("cut.pcap", Array(whole.dropLast(4)))  // the 19-byte packet cut short
        let c = dir.write("c.pcap", W.pcap(linkType: 1, nanosecond: false, packets: packets([23, 29])))
        let (_, summary) = try readAll(try PacketSource.files([a, b, cut, c]))
        #expect(summary.packets == 2 + 1 + 2 + 2)
        #expect(summary.bytes == 3 + 5 + 11 + 13 + 17 + 23 + 29)
        #expect(summary.truncatedFiles.map(\.packets) == [2])

        let source = try PacketSource.files([a, c])
        var count = 0
        let stopped = try source.run { _ in
            count += 1
            if count == 3 { source.stop() }
        }
        #expect(stopped.packets == 3 && stopped.bytes == 3 + 5 + 23)
    }

    @Test func aSourceRunsOnce() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("a.pcap", W.pcap(linkType: 1, nanosecond: false, packets: []))
        let source = try PacketSource.files([path])
        _ = try source.run { _ in }
        #expect(throws: CaptureError.alreadyRun) { try source.run { _ in } }
    }

    @Test func handlerErrorsEndTheRunAndAreRethrown() throws {
        struct Boom: Error, Equatable {}
        let dir = TemporaryDirectory()
        let path = dir.write(
            "a.pcap",
            W.pcap(
                linkType: 1, nanosecond: false,
                packets: [TestPacket(seconds: 0, fraction: 0, bytes: [1], originalLength: 1)]))
        #expect(throws: Boom()) { try PacketSource.files([path]).run { _ in throw Boom() } }
    }
}
