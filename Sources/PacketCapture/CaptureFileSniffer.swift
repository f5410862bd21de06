/// What a regular file's first bytes say when libpcap alone would say it wrong: compressed, or a modified pcap.
internal import Glibc

/// Looks at the start of a regular file for two things libpcap gets wrong in its own words:
/// a compressed capture ("unknown file format", where Wireshark reads it), and a pcap file of the
/// late 1990s' modified formats that share a magic number with one libpcap reads (it then hands
/// out one good packet and garbage, or a misleading "truncated"/"invalid capture length").
enum CaptureFileSniffer {
    /// The compression whose magic number begins `path`: "gzip", "zstd", "xz", "bzip2", "lz4";
    /// nil for anything else, and for files that are not regular (a stream's bytes are gone).
    static func compression(of path: String) -> String? {
        guard let head = read(path, count: 6), head.count >= 4 else { return nil }
        if head[0] == 0x1F, head[1] == 0x8B { return "gzip" }
        if head.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { return "zstd" }
        if head.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return "xz" }
        if head.starts(with: [0x42, 0x5A, 0x68]) { return "bzip2" }  // "BZh"
        if head.starts(with: [0x04, 0x22, 0x4D, 0x18]) { return "lz4" }
        return nil
    }

    /// A record layout that Wireshark's editcap writes under a magic number libpcap reads with
    /// another layout (wiretap/libpcap.c):
    ///
    /// | magic                  | libpcap's record header | also written under it                    |
    /// |------------------------|-------------------------|------------------------------------------|
    /// | 0xa1b2c3d4 (µs)        | 16 bytes                | 20: Nokia IPSO, 24: RedHat 6.1           |
    /// | 0xa1b2cd34 (Kuznetzov) | 24 bytes                | 28: SuSE 6.3                             |
    struct ModifiedLayout: Equatable {
        var recordHeaderLength: Int
        var writer: String
    }

    /// The modified layout of the classic pcap file at `path`, when libpcap's layout does not fit its
    /// first records (a complete record header with a capture length above the original length or
    /// 262144, or a fraction of a second of a second or more: libpcap reads such records, so a file
    /// of them alone is not refused) and exactly one other layout fits them strictly: up to eight
    /// records, at least two (or all to the end of the file), each within a day of the first, with
    /// a fraction below 10^6 (these formats have µs) and a capture length at most its original
    /// length and 262144. nil otherwise: the file is read as before, a damaged one reported as before.
    static func modifiedLayout(of path: String) -> ModifiedLayout? {
        guard let head = read(path, count: 1 << 16), head.count >= 24 else { return nil }
        let magic = UInt32(head[0]) | UInt32(head[1]) << 8 | UInt32(head[2]) << 16 | UInt32(head[3]) << 24
        let swapped: Bool
        let candidates: [ModifiedLayout]
        let libpcapLength: Int
        switch magic {
        case 0xA1B2_C3D4, 0xD4C3_B2A1:
            swapped = magic == 0xD4C3_B2A1
            libpcapLength = 16
            candidates = [
                ModifiedLayout(recordHeaderLength: 20, writer: "Nokia IPSO tcpdump, editcap -F nokiapcap"),
                ModifiedLayout(recordHeaderLength: 24, writer: "RedHat 6.1 tcpdump, editcap -F rh6_1pcap"),
            ]
        case 0xA1B2_CD34, 0x34CD_B2A1:
            swapped = magic == 0x34CD_B2A1
            libpcapLength = 24
            candidates = [ModifiedLayout(recordHeaderLength: 28, writer: "SuSE 6.3 tcpdump, editcap -F suse6_3pcap")]
        default:
            return nil
        }
        let fileSize = fileLength(path)
        let walk = { (length: Int, strict: Bool) in
            RecordWalk(head: head, fileSize: fileSize, swapped: swapped, recordHeaderLength: length, strict: strict)
        }
        guard walk(libpcapLength, false).contradicted else { return nil }
        let fitting = candidates.filter { walk($0.recordHeaderLength, true).confirmed }
        return fitting.count == 1 ? fitting[0] : nil
    }

    /// The first records of a file walked with one record-header length.
    private struct RecordWalk {
        /// A complete record header that cannot be one: this layout is wrong (or the file damaged).
        var contradicted = false
        /// Two records or more, or every record to the end of the file, look right.
        var confirmed = false

        init(head: [UInt8], fileSize: Int, swapped: Bool, recordHeaderLength: Int, strict: Bool) {
            var offset = 24
            var records = 0
            var firstSeconds: UInt32 = 0
            while records < 8 {
                if offset == fileSize {
                    confirmed = records > 0
                    return
                }
                guard offset + 16 <= head.count else { break }
                let field = { (at: Int) -> UInt32 in
                    let value = (0..<4).reduce(UInt32(0)) { $0 | UInt32(head[offset + at + $1]) << (8 * $1) }
                    return swapped ? value.byteSwapped : value
                }
                let (seconds, fraction, captured, original) = (field(0), field(4), field(8), field(12))
                if records == 0 { firstSeconds = seconds }
                let fits =
                    strict
                    ? fraction < 1_000_000 && (seconds > firstSeconds ? seconds - firstSeconds : firstSeconds - seconds) <= 86_400
                    : fraction < 1_000_000_000
                guard fits, captured <= original, captured <= 262_144 else {
                    contradicted = true
                    return
                }
                offset += recordHeaderLength + Int(captured)
                records += 1
                guard offset <= fileSize else { break }
            }
            confirmed = records >= 2
        }
    }

    /// Up to `count` bytes from the start of the regular file at `path`; nil when it does not open or is no regular file.
    private static func read(_ path: String, count: Int) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, 0) }
        guard got >= 0 else { return nil }
        bytes.removeLast(count - got)
        return bytes
    }

    private static func fileLength(_ path: String) -> Int {
        var status = stat()
        return stat(path, &status) == 0 ? Int(status.st_size) : 0
    }
}
