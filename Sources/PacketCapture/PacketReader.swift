/// What `PacketSource` needs of an open capture, whoever reads it: libpcap or our classic pcap reader.
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

/// How a file source reads classic pcap files. Internal: the tests compare the two.
enum ClassicPcapReading: Sendable, Hashable {
    /// Our own reader (`PcapFileReader`), with a buffer of this many bytes to start with.
    case direct(bufferSize: Int)
    /// libpcap, as for pcapng files.
    case libpcap

    static let automatic = ClassicPcapReading.direct(bufferSize: PcapFileReader.defaultBufferSize)
}

/// A capture file opened for reading, by the reader that suits it.
enum CaptureFile {
    /// Classic pcap, version 2.4, standard magic: read by `PcapFileReader`.
    case classic(PcapFileReader)
    /// Everything else (pcapng, modified pcap formats, old versions): libpcap.
    case libpcap(PcapHandle)

    var reader: any PacketReader {
        switch self {
        case .classic(let reader): reader
        case .libpcap(let handle): handle
        }
    }

    /// Opens `path`. libpcap checks every file's header and maps its link type (the same
    /// code for both readers, so the same errors); a classic pcap file is then read by
    /// `PcapFileReader` unless `reading` says libpcap.
    static func open(_ path: String, reading: ClassicPcapReading = .automatic) throws(CaptureError) -> CaptureFile {
        guard case .direct(let bufferSize) = reading, let header = ClassicPcapHeader.open(path) else {
            return .libpcap(try PcapHandle.openFile(path))
        }
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
                bufferSize: bufferSize))
    }
}
