/// The values a `PacketSource` hands out: packets, the run summary, capture statistics.
public import PacketDecoding

/// One packet as read from a capture file or interface.
///
/// `bytes` borrows the reader's buffer: it is valid only during the handler call
/// that receives the packet. Copy anything you keep.
public struct CapturedPacket {
    /// Capture time, nanosecond precision when the source provides it.
    public var timestamp: Timestamp
    public var linkType: LinkType
    /// The captured bytes (at most the snapshot length).
    public var bytes: UnsafeRawBufferPointer
    /// The packet's length on the wire; larger than `bytes.count` when the snaplen cut it.
    public var originalLength: Int

    @inlinable
    public init(timestamp: Timestamp, linkType: LinkType, bytes: UnsafeRawBufferPointer, originalLength: Int) {
        self.timestamp = timestamp
        self.linkType = linkType
        self.bytes = bytes
        self.originalLength = originalLength
    }
}

extension PacketDecoder {
    /// Decodes a captured packet (see `decode(_:originalLength:linkType:timestamp:)`).
    @inlinable
    public mutating func decode(_ packet: CapturedPacket) -> TCPSegment? {
        decode(
            packet.bytes, originalLength: packet.originalLength, linkType: packet.linkType, timestamp: packet.timestamp)
    }
}

/// How far a file source has read.
public struct ReadProgress: Sendable, Hashable {
    /// Bytes consumed so far across all files (in the current one: what our reader has read of it,
    /// or libpcap's stream position).
    public var bytesRead: Int64
    /// The files' sizes, summed, as they were when the source was created.
    public var totalBytes: Int64
    /// Index of the file being read (the last one once the run is over).
    public var fileIndex: Int

    public init(bytesRead: Int64, totalBytes: Int64, fileIndex: Int) {
        self.bytesRead = bytesRead
        self.totalBytes = totalBytes
        self.fileIndex = fileIndex
    }

    /// 0…1.
    public var fraction: Double { totalBytes > 0 ? Double(bytesRead) / Double(totalBytes) : 1 }
}

/// A capture file that ended in the middle of a packet record.
public struct TruncatedFile: Sendable, Hashable, CustomStringConvertible {
    public var path: String
    /// Complete packets read from this file (all were handed to the handler).
    public var packets: Int
    /// libpcap's own words, e.g. "truncated dump file; tried to read 1514 captured bytes, only got 700".
    public var detail: String

    public init(path: String, packets: Int, detail: String) {
        self.path = path
        self.packets = packets
        self.detail = detail
    }

    /// `file.pcap: truncated after 12 packets`
    public var description: String { "\(path): truncated after \(packets) packets" }
}

/// libpcap's counters for a live capture (`pcap_stats`), widened to 64 bits
/// (libpcap's are 32-bit and wrap; deltas are accumulated across wraps).
public struct CaptureStatistics: Sendable, Hashable {
    /// Packets the filter accepted (on `lo` the kernel counts each packet twice).
    public var received: UInt64
    /// Packets dropped because the kernel buffer was full: the figure that matters.
    public var droppedByKernel: UInt64
    /// Packets the interface or its driver dropped (not supported everywhere; 0 then).
    public var droppedByInterface: UInt64
    /// Whether the capture is open now: false from the moment a running capture is lost (its
    /// interface deleted or renamed) until it is opened again (`LiveCaptureOptions.reopenDelays`).
    public var isCapturing: Bool
    /// Times a running capture was lost.
    public var interruptions: UInt64

    public init(
        received: UInt64 = 0, droppedByKernel: UInt64 = 0, droppedByInterface: UInt64 = 0, isCapturing: Bool = true,
        interruptions: UInt64 = 0
    ) {
        self.received = received
        self.droppedByKernel = droppedByKernel
        self.droppedByInterface = droppedByInterface
        self.isCapturing = isCapturing
        self.interruptions = interruptions
    }
}

/// What `PacketSource.run` saw.
public struct CaptureSummary: Sendable, Hashable {
    /// Packets handed to the handler.
    public var packets: Int = 0
    /// Their captured bytes, summed.
    public var bytes: Int = 0
    /// Packets of pcapng interfaces whose link type is not decoded, skipped (not in `packets`).
    public var skippedPackets = 0
    /// In pcapng files of several interfaces, put back in time order through a window, packets
    /// still out of order: they came after a later one had been handed out
    /// (`PcapngFileReader.packetsBackInTime`).
    public var packetsBackInTime = 0
    /// Each file's first and latest packet times, in the order they were read.
    public var fileSpans: [FileSpan] = []
    /// Files that ended inside a packet record, in the order they were read. Reading
    /// goes on with the next file; a caller should report each and exit non-zero.
    public var truncatedFiles: [TruncatedFile] = []
    /// Final `pcap_stats` of a live source; nil for files.
    public var statistics: CaptureStatistics?
    /// True when `stop()` ended the run before the input did.
    public var stopped = false

    public init() {}

    public var isTruncated: Bool { !truncatedFiles.isEmpty }
}

/// The time of a file's first packet and its latest (nil: it had none).
public struct FileSpan: Sendable, Hashable {
    public var path: String
    public var first: Timestamp?
    public var last: Timestamp?

    public init(path: String, first: Timestamp? = nil, last: Timestamp? = nil) {
        self.path = path
        self.first = first
        self.last = last
    }
}
