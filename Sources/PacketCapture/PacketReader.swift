/// What `PacketSource` needs of an open capture, whoever reads it: libpcap or our classic pcap reader.
internal import Glibc
internal import PacketDecoding

/// What one read of the next packet gave.
enum NextPacket {
    case packet(CapturedPacket)
    /// Live: the wake-up interval passed without a packet.
    case timeout
    /// End of file, or `pcap_breakloop` was called.
    case end
    /// libpcap's words (or ours, in libpcap's wording): "truncated dump file; …" for a record
    /// cut short by the end of the file, anything else for a damaged file or an I/O error.
    case error(String)
}

/// An open capture that hands out packets one at a time, each valid until the next call.
protocol PacketReader: AnyObject, Sendable {
    var linkType: LinkType { get }
    /// Size of the file when it was opened (0 for live captures).
    var fileSize: Int64 { get }
    func next() -> NextPacket
    /// How far into the file reading has got, for progress (0 for live). Any thread.
    func filePosition() -> Int64
    /// Makes a blocked or the next `next()` return (live captures; files check `stop()` per packet).
    func breakLoop()
    func close()
}

/// How a file source reads classic pcap files. Internal: the tests compare them.
enum ClassicPcapReading: Sendable, Hashable {
    /// Our own reader (`PcapFileReader`), with a buffer of this many bytes to start with.
    case direct(bufferSize: Int)
    /// Our own reader, parsing in place what a thread of its own reads ahead into `bufferCount`
    /// buffers of `bufferSize` bytes (`ReadAheadRing`); memory: their product, plus at most
    /// `PcapFileReader.maximumBufferSize` for records that straddle two buffers.
    case readAhead(bufferSize: Int, bufferCount: Int)
    /// libpcap, as for pcapng files.
    case libpcap

    static let direct = ClassicPcapReading.direct(bufferSize: PcapFileReader.defaultBufferSize)
    /// 4 × 1 MiB: a handful of reads ahead of the parser, each large enough that a hand-over
    /// per buffer costs nothing next to the parsing of about a thousand packets.
    static let readAhead = ClassicPcapReading.readAhead(bufferSize: 1 << 20, bufferCount: 4)

    /// The same reader without its thread: for opening a file only to check it.
    var withoutReadAhead: ClassicPcapReading {
        guard case .readAhead(let size, _) = self else { return self }
        return .direct(bufferSize: size)
    }

    /// Read ahead when this machine has two CPUs or more to run the reads beside the parsing,
    /// else directly. The environment variable `CHANNEL_EXPORTER_READ_AHEAD` overrides it:
    /// `0` / `off` reads directly (the way before read-ahead, for tests and measurements),
    /// `1` / `on` reads ahead.
    /// `COUNTxKIB` (e.g. `16x1024`) sets the buffers, for measurements.
    static let automatic = automatic(besideBusyThreads: 0)

    /// `automatic`, when `threads` other threads are kept busy beside the parsing (a sharded replay's
    /// workers): read ahead only with a CPU left for the reads. Without one, the reading thread
    /// reads itself: measured with two threads on two CPUs, a thread reading ahead took more CPU
    /// than the reads it saved (the copy into buffers another CPU then parses) and ended no sooner.
    static func automatic(besideBusyThreads threads: Int) -> ClassicPcapReading {
        let setting = getenv("CHANNEL_EXPORTER_READ_AHEAD").map { String(cString: $0) }
        switch setting {
        case "0", "off": return .direct
        case "1", "on": return .readAhead
        default:
            let numbers = setting?.split(separator: "x").compactMap { Int($0) } ?? []
            if numbers.count == 2, numbers.allSatisfy({ $0 > 0 && $0 <= 1 << 16 }) {
                return .readAhead(bufferSize: numbers[1] << 10, bufferCount: numbers[0])
            }
            return sysconf(Int32(_SC_NPROCESSORS_ONLN)) >= 2 + threads ? .readAhead : .direct
        }
    }
}

/// A capture file opened for reading, by the reader that suits it.
enum CaptureFile {
    /// Classic pcap, version 2.4, standard magic: read by `PcapFileReader`.
    case classic(PcapFileReader)
    /// pcapng: read by `PcapngFileReader` (libpcap refuses interfaces of different link types).
    case pcapng(PcapngFileReader)
    /// Everything else (modified pcap formats, old versions): libpcap.
    case libpcap(PcapHandle)

    var reader: any PacketReader {
        switch self {
        case .classic(let reader): reader
        case .pcapng(let reader): reader
        case .libpcap(let handle): handle
        }
    }

    /// Opens `path`. libpcap checks every file's header and maps its link type (the same
    /// code for both readers, so the same errors); a classic pcap file is then read by
    /// `PcapFileReader` unless `reading` says libpcap.
    ///
    /// `-` is standard input. A stream (standard input, a FIFO, a pipe) is read by libpcap as it
    /// comes, and can be opened only once (`isStream`).
    static func open(_ path: String, reading: ClassicPcapReading = .automatic) throws(CaptureError) -> CaptureFile {
        let path = path == "-" ? standardInput : path
        // A stream must not be opened to look at it (a FIFO's writer would see its reader go away):
        // libpcap opens it once.
        if isStream(path) { return .libpcap(try openWithLibpcap(path)) }
        if let layout = CaptureFileSniffer.modifiedLayout(of: path) {
            throw .modifiedPcap(path: path, recordHeaderLength: layout.recordHeaderLength, writer: layout.writer)
        }
        let bufferSize: Int
        let readAhead: (size: Int, count: Int)?
        switch reading {
        case .direct(let size): (bufferSize, readAhead) = (size, nil)
        case .readAhead(let size, let count): (bufferSize, readAhead) = (size, (size, count))
        case .libpcap: return .libpcap(try openWithLibpcap(path))
        }
        if let pcapng = try openPcapng(path, bufferSize: bufferSize) { return pcapng }
        guard let header = ClassicPcapHeader.open(path) else { return .libpcap(try openWithLibpcap(path)) }
        let probe: PcapHandle
        do {
            probe = try PcapHandle.probe(descriptor: header.descriptor, path: path)
        } catch {
            header.close()
            throw error
        }
        defer { probe.close() }
        // libpcap rewrites the CAN ID of SocketCAN packets in SLL/SLL2 files of the other
        // byte order (pcap-util.c swap_pseudo_headers); such files are rare: let it read them.
        // (A snapshot length that is no positive Int32 cannot come from libpcap 1.10, but if
        // one did, libpcap would know what it means.)
        if header.isSwapped && (probe.linkType == .linuxSLL || probe.linkType == .linuxSLL2)
            || probe.snapshotLength <= 0
        {
            header.close()
            return .libpcap(try PcapHandle.openFile(path))
        }
        return .classic(
            PcapFileReader(
                header: header, linkType: probe.linkType, snapshotLength: probe.snapshotLength,
                bufferSize: bufferSize, readAhead: readAhead))
    }

    /// What `-` opens: the same file or pipe as descriptor 0 (Linux's /proc/self/fd/0).
    static let standardInput = "/dev/stdin"

    /// A file that is neither regular nor a directory (a FIFO, a pipe, a terminal, a character
    /// device such as /dev/null; `-` when standard input is one): its bytes can be read once, so
    /// it is opened once. `-` redirected from a regular file is that file.
    static func isStream(_ path: String) -> Bool {
        var status = stat()
        guard stat(path == "-" ? standardInput : path, &status) == 0 else { return false }
        let kind = status.st_mode & S_IFMT
        return kind != S_IFREG && kind != S_IFDIR
    }

    /// libpcap's `PcapHandle.openFile`, with a compressed file named as such instead of libpcap's
    /// "unknown file format", and an empty one instead of "tried to read 4 file header bytes, only got 0".
    private static func openWithLibpcap(_ path: String) throws(CaptureError) -> PcapHandle {
        do {
            return try PcapHandle.openFile(path)
        } catch .notACaptureFile(let path, let detail) {
            if let format = CaptureFileSniffer.compression(of: path) { throw .compressedFile(path: path, format: format) }
            let empty = detail.hasPrefix("truncated dump file;") && detail.hasSuffix("file header bytes, only got 0")
            throw .notACaptureFile(path: path, detail: empty ? "it is empty" : detail)
        }
    }

    /// A pcapng file (its first block a section header), after libpcap has checked its header and
    /// first interface and named any problem in its words; nil for other files.
    private static func openPcapng(_ path: String, bufferSize: Int) throws(CaptureError) -> CaptureFile? {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        var status = stat()
        var magic: UInt32 = 0
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG,
            pread(descriptor, &magic, 4, 0) == 4, magic == 0x0A0D_0D0A
        else {
            Glibc.close(descriptor)
            return nil
        }
        let linkType: LinkType
        do {
            let probe = try PcapHandle.probe(descriptor: descriptor, path: path)
            linkType = probe.linkType
            probe.close()
        } catch .notACaptureFile(_, let detail) where detail == "the capture file has no Interface Description Blocks" {
            // A section and no interface to its end (`tshark -w` of no packet, `editcap -r F O 0`):
            // a capture of nothing, as tshark reads it and as a pcap file header alone is. The
            // link type is a stand-in: no packet of this file can have one.
            linkType = .ethernet
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        return .pcapng(
            PcapngFileReader(
                descriptor: descriptor, fileSize: Int64(status.st_size), linkType: linkType,
                bufferSize: Swift.max(bufferSize, PcapngFileReader.defaultBufferSize)))
    }
}
