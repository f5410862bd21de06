// Writes small pcap and pcapng files for the tests (formats: pcap-savefile(5),
// draft-ietf-opsawg-pcapng §4.1 SHB, §4.2 IDB, §4.3 EPB).
import Foundation

struct TestPacket: Equatable {
    var seconds: UInt32
    var fraction: UInt32  // µs or ns, as the file's precision says
    var bytes: [UInt8]
    var originalLength: Int
}

enum CaptureFileWriter {
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xff) } }
    static func le32(_ v: Int) -> [UInt8] { le32(UInt32(truncatingIfNeeded: v)) }

    /// A classic pcap file, little-endian; `nanosecond` picks magic 0xa1b23c4d over 0xa1b2c3d4.
    static func pcap(linkType: Int, nanosecond: Bool, packets: [TestPacket]) -> [UInt8] {
        var out = le32(nanosecond ? UInt32(0xA1B2_3C4D) : UInt32(0xA1B2_C3D4)) + le16(2) + le16(4)
        out += le32(0) + le32(0) + le32(262_144) + le32(linkType)
        for p in packets {
            out += le32(p.seconds) + le32(p.fraction) + le32(p.bytes.count) + le32(p.originalLength) + p.bytes
        }
        return out
    }

    /// A pcapng section with one interface; `tsresol` is the if_tsresol power of ten (nil: default 6).
    static func pcapng(linkType: Int, tsresol: UInt8?, packets: [(timestamp: UInt64, packet: TestPacket)]) -> [UInt8] {
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
            let padded = body + Array(repeating: 0, count: (4 - body.count % 4) % 4)
            let total = padded.count + 12
            return le32(type) + le32(total) + padded + le32(total)
        }
        var out = block(0x0A0D_0D0A, le32(UInt32(0x1A2B_3C4D)) + le16(1) + le16(0) + Array(repeating: 0xFF, count: 8))
        var idb = le16(linkType) + le16(0) + le32(262_144)
        if let tsresol { idb += le16(9) + le16(1) + [tsresol, 0, 0, 0] + le16(0) + le16(0) }
        out += block(1, idb)
        for (timestamp, p) in packets {
            let data = p.bytes + Array(repeating: 0, count: (4 - p.bytes.count % 4) % 4)
            out += block(
                6,
                le32(0) + le32(UInt32(timestamp >> 32)) + le32(UInt32(timestamp & 0xFFFF_FFFF)) + le32(p.bytes.count)
                    + le32(p.originalLength) + data)
        }
        return out
    }
}

/// A fresh directory under /tmp, removed when the value is released.
final class TemporaryDirectory {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("packet-capture-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = url.appendingPathComponent(name).path
        precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }
}
