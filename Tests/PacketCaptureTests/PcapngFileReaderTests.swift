// PcapngFileReader: libpcap's packets for the files libpcap reads, the blocks and options it
// reads itself, the files libpcap refuses (interfaces of different link types), and damage.
import Foundation
import PacketDecoding
import Testing

@testable import PacketCapture

/// pcapng blocks written by hand, either byte order (draft-ietf-opsawg-pcapng §3, §4).
struct PcapngBlocks {
    var bigEndian = false

    func u16(_ v: Int) -> [UInt8] {
        let bytes = CaptureFileWriter.le16(v)
        return bigEndian ? bytes.reversed() : bytes
    }

    func u32(_ v: UInt32) -> [UInt8] {
        let bytes = CaptureFileWriter.le32(v)
        return bigEndian ? bytes.reversed() : bytes
    }

    func u32(_ v: Int) -> [UInt8] { u32(UInt32(truncatingIfNeeded: v)) }

    func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
        let padded = body + Array(repeating: 0, count: (4 - body.count % 4) % 4)
        return u32(type) + u32(padded.count + 12) + padded + u32(padded.count + 12)
    }

    func section() -> [UInt8] { block(0x0A0D_0D0A, u32(UInt32(0x1A2B_3C4D)) + u16(1) + u16(0) + [UInt8](repeating: 0xFF, count: 8)) }

    /// An interface description with `options` (code, value) before the end of options.
    func interface(linkType: Int, snaplen: Int = 262_144, options: [(Int, [UInt8])] = []) -> [UInt8] {
        var body = u16(linkType) + u16(0) + u32(snaplen)
        for (code, value) in options {
            body += u16(code) + u16(value.count) + value + [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
        }
        if !options.isEmpty { body += u16(0) + u16(0) }
        return block(1, body)
    }

    func enhanced(interface: Int, units: UInt64, _ data: [UInt8], originalLength: Int? = nil) -> [UInt8] {
        block(
            6,
            u32(interface) + u32(UInt32(units >> 32)) + u32(UInt32(units & 0xFFFF_FFFF)) + u32(data.count)
                + u32(originalLength ?? data.count) + data)
    }

    func simple(_ data: [UInt8], originalLength: Int? = nil) -> [UInt8] { block(3, u32(originalLength ?? data.count) + data) }

    func obsolete(interface: Int, units: UInt64, _ data: [UInt8]) -> [UInt8] {
        block(
            2,
            u16(interface) + u16(0) + u32(UInt32(units >> 32)) + u32(UInt32(units & 0xFFFF_FFFF)) + u32(data.count)
                + u32(data.count) + data)
    }

    /// An 8-byte option value (if_tsoffset) in this byte order.
    func u64(_ v: Int64) -> [UInt8] {
        let bits = UInt64(bitPattern: v)
        return bigEndian ? u32(UInt32(bits >> 32)) + u32(UInt32(bits & 0xFFFF_FFFF)) : u32(UInt32(bits & 0xFFFF_FFFF)) + u32(UInt32(bits >> 32))
    }
}

@Suite struct PcapngFileReaderTests {
    static let frame: [UInt8] = Array(0..<60)

    func read(_ bytes: [UInt8], name: String = "t.pcapng") throws -> (packets: [Seen], summary: CaptureSummary) {
        let dir = TemporaryDirectory()
        return try readAll(try PacketSource.files([dir.write(name, bytes)]))
    }

    func readError(_ bytes: [UInt8]) -> String? {
        let dir = TemporaryDirectory()
        do {
            _ = try readAll(try PacketSource.files([dir.write("bad.pcapng", bytes)]))
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func theCommittedPcapngFixtureReadsAsLibpcapReadsIt() throws {
        let path = captures("http/pcapng.pcapng")
        let reference = outcome([path], reading: .libpcap)
        #expect(reference.packets.count == 54)
        for reading in [ClassicPcapReading.direct(bufferSize: 64), .direct] {
            let ours = outcome([path], reading: reading)
            #expect(ours == reference, "\(ours.difference(from: reference))")
        }
    }

    /// Either byte order, decimal and binary resolutions, an offset: what libpcap gives too.
    @Test(arguments: [false, true])
    func resolutionsAndOffsetsAsLibpcapReadsThem(bigEndian: Bool) throws {
        let b = PcapngBlocks(bigEndian: bigEndian)
        for (options, units) in [
            ([(9, [UInt8(9)])], UInt64(1_700_000_000_123_456_789)),
            ([(9, [UInt8(3)])], UInt64(1_700_000_000_123)),
            ([(9, [UInt8(0x80 | 20)])], UInt64(1_700_000_000) << 20 | 1),
            ([(9, [UInt8(6)]), (14, b.u64(1_000))], UInt64(1_699_999_000_000_001)),
        ] as [([(Int, [UInt8])], UInt64)] {
            let file = b.section() + b.interface(linkType: 1, options: options) + b.enhanced(interface: 0, units: units, Self.frame)
            let dir = TemporaryDirectory()
            let path = dir.write("r.pcapng", file)
            let reference = outcome([path], reading: .libpcap)
            let ours = outcome([path], reading: .direct)
            #expect(reference.packets.count == 1)
            #expect(ours == reference, "\(options): \(ours.difference(from: reference))")
        }
    }

    @Test func simpleAndObsoleteBlocksAreReadAndOtherBlocksSkipped() throws {
        let b = PcapngBlocks()
        let file =
            b.section() + b.interface(linkType: 1, snaplen: 40, options: [(9, [9])])
            + b.block(4, b.u16(1) + b.u16(4) + [127, 0, 0, 1] + Array("host\0".utf8) + b.u16(0) + b.u16(0))  // name resolution
            + b.obsolete(interface: 0, units: 5, Self.frame)
            + b.block(0x0BAD, [1, 2, 3, 4])  // custom
            + b.simple(Self.frame)
            + b.block(5, b.u32(0) + b.u32(0) + b.u32(9))  // interface statistics
        let (seen, summary) = try read(file)
        #expect(seen.map(\.timestamp.nanoseconds) == [5, 5], "a simple packet takes the previous packet's time")
        #expect(seen.map(\.bytes.count) == [60, 40], "a simple packet is cut at the interface's snaplen")
        #expect(seen.map(\.originalLength) == [60, 60])
        #expect(summary.packets == 2)
    }

    @Test func aNewSectionDescribesItsOwnInterfacesInItsOwnByteOrder() throws {
        let little = PcapngBlocks()
        let big = PcapngBlocks(bigEndian: true)
        let file =
            little.section() + little.interface(linkType: 1) + little.enhanced(interface: 0, units: 1, Self.frame)
            + big.section() + big.interface(linkType: 101) + big.enhanced(interface: 0, units: 2, [0x45, 0, 0, 0])
        let (seen, _) = try read(file)
        #expect(seen.map(\.linkType) == [.ethernet, .raw])
        #expect(seen.map(\.timestamp.nanoseconds) == [1_000, 2_000])
        // The new section's interface 1 is not described.
        #expect(readError(file + big.enhanced(interface: 1, units: 3, [0x45]))?.contains("interface 1") == true)
    }

    @Test func interfacesOfALinkTypeNotDecodedAreSkippedAndCounted() throws {
        let b = PcapngBlocks()
        let file =
            b.section() + b.interface(linkType: 1) + b.interface(linkType: 189)  // USB
            + b.enhanced(interface: 1, units: 1, [1, 2, 3]) + b.enhanced(interface: 0, units: 2, Self.frame)
            + b.enhanced(interface: 1, units: 3, [1, 2, 3])
        let (seen, summary) = try read(file)
        #expect(seen.map(\.linkType) == [.ethernet])
        #expect(summary.skippedPackets == 2)
    }

    /// Two interfaces written apart in time (as dumpcap writes each as its buffer comes): handed out
    /// in time order, file order among equal times.
    @Test func packetsOfSeveralInterfacesAreHandedOutInTimeOrder() throws {
        let b = PcapngBlocks()
        var file = b.section() + b.interface(linkType: 1, options: [(9, [9])]) + b.interface(linkType: 113, options: [(9, [9])])
        for t in [10, 20, 30, 40] { file += b.enhanced(interface: 0, units: UInt64(t), Self.frame) }
        for t in [15, 20, 25] { file += b.enhanced(interface: 1, units: UInt64(t), [UInt8](repeating: UInt8(t), count: 16)) }
        let (seen, summary) = try read(file)
        #expect(seen.map(\.timestamp.nanoseconds) == [10, 15, 20, 20, 25, 30, 40])
        #expect(seen.map(\.linkType) == [.ethernet, .linuxSLL, .ethernet, .linuxSLL, .linuxSLL, .ethernet, .ethernet])
        #expect(seen[1].bytes == [UInt8](repeating: 15, count: 16))
        #expect(summary.packetsBackInTime == 0)
    }

    /// A packet later than the window (2 s of packet time) cannot be put back: counted.
    @Test func aPacketBeyondTheWindowIsCounted() throws {
        let b = PcapngBlocks()
        var file = b.section() + b.interface(linkType: 1, options: [(9, [9])]) + b.interface(linkType: 1, options: [(9, [9])])
        file += b.enhanced(interface: 0, units: 1_000, Self.frame)
        file += b.enhanced(interface: 0, units: 5_000_000_000, Self.frame)
        file += b.enhanced(interface: 1, units: 2_000, Self.frame)  // in the window: put back
        file += b.enhanced(interface: 0, units: 9_000_000_000, Self.frame)
        file += b.enhanced(interface: 1, units: 3_000, Self.frame)  // 1 and 5 s were handed out already
        let (seen, summary) = try read(file)
        #expect(seen.map(\.timestamp.nanoseconds) == [1_000, 2_000, 5_000_000_000, 3_000, 9_000_000_000])
        #expect(summary.packetsBackInTime == 1)
    }

    @Test func damageIsAReadErrorInWords() throws {
        let b = PcapngBlocks()
        let good = b.section() + b.interface(linkType: 1) + b.enhanced(interface: 0, units: 1, Self.frame)
        #expect(readError(good + b.u32(6) + b.u32(10) + b.u32(0))?.contains("block of 10 bytes") == true)
        var unrepeated = b.enhanced(interface: 0, units: 2, Self.frame)
        unrepeated[unrepeated.count - 4] ^= 4
        #expect(readError(good + unrepeated)?.contains("not repeated") == true)
        var overlong = b.enhanced(interface: 0, units: 2, Self.frame)
        overlong.replaceSubrange(20..<24, with: b.u32(1_000))  // captured length beyond the block
        #expect(readError(good + overlong)?.contains("exceeds its block") == true)
        #expect(readError(good + b.enhanced(interface: 3, units: 2, Self.frame))?.contains("interface 3") == true)
        // Cut inside a block: the packets before it, and the file listed as truncated.
        let (seen, summary) = try read(good + Array(b.enhanced(interface: 0, units: 2, Self.frame).dropLast(8)))
        #expect(seen.count == 1)
        #expect(summary.truncatedFiles.first?.detail.hasPrefix("truncated pcapng dump file") == true)
    }

    /// The real thing: `dumpcap -i lo -i any` (captures/scripts/make-multi-interface-capture.sh).
    /// tshark reads every packet with its interface's link type; ours are tshark's, in time order.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark")))
    func aDumpcapCaptureOnTwoInterfacesIsTsharksPacketsInTimeOrder() throws {
        let path = captures("http/multi-interface.pcapng")
        let tshark = Process()
        tshark.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
        tshark.arguments = ["-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.cap_len", "-e", "frame.len", "-e", "frame.interface_id"]
        let pipe = Pipe()
        tshark.standardOutput = pipe
        tshark.standardError = FileHandle.nullDevice
        try tshark.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        tshark.waitUntilExit()
        struct Row: Equatable { var nanoseconds: Int64; var captured: Int; var original: Int; var interface: Int }
        let rows = text.split(separator: "\n").map { line -> Row in
            let f = line.split(separator: "\t")
            let parts = f[0].split(separator: ".")
            let nanoseconds = Int64(parts[0])! * 1_000_000_000 + Int64(parts[1].padding(toLength: 9, withPad: "0", startingAt: 0))!
            return Row(nanoseconds: nanoseconds, captured: Int(f[1])!, original: Int(f[2])!, interface: Int(f[3])!)
        }
        #expect(Set(rows.map(\.interface)) == [0, 1])
        let inTimeOrder = rows.enumerated().sorted { ($0.element.nanoseconds, $0.offset) < ($1.element.nanoseconds, $1.offset) }.map(\.element)
        let (seen, summary) = try readAll(try PacketSource.files([path]))
        let ours = seen.map {
            Row(nanoseconds: $0.timestamp.nanoseconds, captured: $0.bytes.count, original: $0.originalLength, interface: $0.linkType == .ethernet ? 0 : 1)
        }
        #expect(ours == inTimeOrder)
        #expect(seen.filter { $0.linkType == .linuxSLL }.count == seen.count / 2)
        #expect(summary.packetsBackInTime == 0)
    }

    func captures(_ relative: String) -> String {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/captures/" + relative
    }
}
