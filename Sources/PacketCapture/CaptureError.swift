/// Errors opening or reading a packet source: one line each, naming the thing.

/// Why a capture could not start or go on. `description` is a one-line message
/// for the user (no stack trace, no libpcap jargon where we can say it plainly).
public enum CaptureError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No file at this path.
    case fileNotFound(path: String)
    /// The file exists but cannot be read (permission, a directory, …).
    case cannotReadFile(path: String, reason: String)
    /// Not a pcap or pcapng file (libpcap's reason attached).
    case notACaptureFile(path: String, detail: String)
    /// A pcap file whose records carry longer headers than its magic number says (a 1999 Linux
    /// distribution's or Nokia's tcpdump): libpcap would read garbage after the first packet.
    case modifiedPcap(path: String, recordHeaderLength: Int, writer: String)
    /// A compressed file (`format`: gzip, zstd, xz, bzip2, lz4): libpcap reads none of them.
    case compressedFile(path: String, format: String)
    /// A link type we do not decode; `name` from `pcap_datalink_val_to_name` (nil when libpcap has none).
    case unsupportedLinkType(source: String, name: String?, number: Int32)
    /// An I/O error in the middle of a file (not a truncation: those go into the summary).
    case readFailed(path: String, packetsRead: Int, detail: String)
    /// No interface by this name.
    case noSuchInterface(String)
    /// Opening the interface needs privileges we lack.
    case permissionDenied(interface: String)
    /// The interface exists but is down.
    case interfaceNotUp(String)
    /// The BPF filter does not compile.
    case badFilter(filter: String, detail: String)
    /// Any other libpcap failure on a live interface.
    case liveCaptureFailed(interface: String, detail: String)
    /// `run` was called on a source that already ran (sources run once).
    case alreadyRun

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            "\(path): no such file"
        case .cannotReadFile(let path, let reason):
            "\(path): cannot read: \(reason)"
        case .notACaptureFile(let path, let detail):
            "\(path): not a pcap or pcapng capture file (\(detail))"
        case .modifiedPcap(let path, let length, let writer):
            "\(path): a modified pcap file with \(length)-byte record headers (\(writer)), which libpcap "
                + "cannot read; convert it first: editcap -F pcap \(path) OUT.pcap"
        case .compressedFile(let path, let format):
            "\(path): \(format)-compressed; decompress it on the way in: "
                + "\(format) -dc \(path) | channel-exporter replay - …"
        case .unsupportedLinkType(let source, let name, let number):
            "\(source): unsupported link type \(name.map { "\($0) (\(number))" } ?? "\(number)"); "
                + "supported: Ethernet, Linux cooked (SLL, SLL2), BSD loopback (NULL, LOOP), raw IPv4/IPv6"
        case .readFailed(let path, let packets, let detail):
            "\(path): read error after \(packets) packets: \(detail)"
        case .noSuchInterface(let name):
            "\(name): no such network interface"
        case .permissionDenied(let name):
            // How to grant it, for the three ways docs/deployment.md installs the exporter (CAP_NET_RAW is
            // all it needs: the ring's size and promiscuous mode were seen to work without CAP_NET_ADMIN).
            "capturing on \(name) needs root or CAP_NET_RAW: grant it with `setcap cap_net_raw+ep` on the binary, "
                + "AmbientCapabilities=CAP_NET_RAW in a systemd unit, or capabilities: {add: [NET_RAW]} in a pod"
        case .interfaceNotUp(let name):
            "\(name): interface is not up"
        case .badFilter(let filter, let detail):
            "bad capture filter \"\(filter)\": \(detail)"
        case .liveCaptureFailed(let name, let detail):
            "capturing on \(name) failed: \(detail)"
        case .alreadyRun:
            "this packet source has already run"
        }
    }
}
