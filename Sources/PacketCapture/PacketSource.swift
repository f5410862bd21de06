/// Where packets come from: capture files read in order, or a live interface.
public import PacketDecoding
import Synchronization

#if canImport(Glibc)
internal import Glibc
#endif

/// A source of captured packets: one or more capture files, or a live interface.
///
/// Opening validates everything up front (each file's format and link type; the
/// interface, permissions and filter), so configuration mistakes surface before
/// any packet is processed. `run` then hands each packet to a handler on the
/// calling thread. A source runs once.
///
/// ```swift
/// let source = try PacketSource.files(["a.pcap", "b.pcapng"])
/// let summary = try source.run { packet in
///     if let segment = decoder.decode(packet.bytes, originalLength: packet.originalLength,
///                                     linkType: packet.linkType, timestamp: packet.timestamp) { … }
/// }
/// for file in summary.truncatedFiles { print(file) }   // "b.pcapng: truncated after 12 packets"
/// ```
public final class PacketSource: @unchecked Sendable {
    /// What the source reads.
    public enum Kind: Sendable, Hashable {
        /// Capture files (pcap or pcapng), read in this order.
        case files([String])
        case live(LiveCaptureOptions)
    }

    public let kind: Kind

    /// Set by `stop()`; read once per packet (a relaxed load: one plain move on x86).
    let stopRequested = Atomic<Bool>(false)
    /// The handle `stop()` may break and the latest statistics. `stop()` takes the lock
    /// before `pcap_breakloop`, and `run` takes it before closing, so a stop never
    /// touches a closed handle.
    let shared = Mutex<Shared>(Shared())
    /// The handle a live source opened at creation, until `run` takes it.
    private var pendingLive: PcapHandle?
    /// Streams among the files (standard input, FIFOs), opened by the check, by index, until `run` takes them.
    private var pendingStreams: [Int: CaptureFile] = [:]
    /// Who reads classic pcap files (our reader, but for the tests that compare it with libpcap).
    private let classicReading: ClassicPcapReading
    /// Called with each file's reader as `run` opens it (tests: the read-ahead thread ends with it).
    private var readerOpened: ((any PacketReader) -> Void)?
    /// Called with the secrets of each pcapng Decryption Secrets Block read (its secrets type and
    /// bytes, valid during the call), on the thread of `run`, before the packets after it.
    public var decryptionSecrets: ((UInt32, UnsafeRawBufferPointer) -> Void)?
    /// Sizes of the files when they were checked.
    private var fileSizes: [Int64] = []
    /// Link type of the first file, or of the live interface.
    public let linkType: LinkType

    struct Shared: ~Copyable {
        var current: (any PacketReader)?
        /// Index into the file list of `current` (files only).
        var fileIndex = 0
        /// Bytes of the files already finished.
        var finishedBytes: Int64 = 0
        var hasRun = false
        var statistics = CaptureStatistics()
        var rawStatistics: (received: UInt32, dropped: UInt32, interfaceDropped: UInt32) = (0, 0, 0)
    }

    private init(
        kind: Kind, linkType: LinkType, pendingLive: PcapHandle?, classicReading: ClassicPcapReading = .automatic
    ) {
        self.kind = kind
        self.linkType = linkType
        self.pendingLive = pendingLive
        self.classicReading = classicReading
    }

    /// Checks that every file opens as a capture with a supported link type, in order,
    /// and throws the first problem (`fileNotFound`, `notACaptureFile`, `unsupportedLinkType`…).
    public static func files(_ paths: [String]) throws(CaptureError) -> PacketSource {
        try files(paths, reading: .automatic)
    }

    /// `files(_:)` for a reading thread beside `threads` busy ones (a sharded replay's workers):
    /// classic pcap files are read ahead only when a CPU is left for it.
    public static func files(_ paths: [String], besideBusyThreads threads: Int) throws(CaptureError) -> PacketSource {
        try files(paths, reading: .automatic(besideBusyThreads: threads))
    }

    /// `files(_:)`, with classic pcap files read as `reading` says; `readerOpened` sees each reader `run` opens.
    static func files(
        _ paths: [String], reading: ClassicPcapReading, readerOpened: ((any PacketReader) -> Void)? = nil
    ) throws(CaptureError) -> PacketSource {
        precondition(!paths.isEmpty, "PacketSource.files needs at least one path")
        var first: LinkType?
        var sizes = [Int64]()
        var streams = [Int: CaptureFile]()
        for (index, path) in paths.enumerated() {
            // The check reads no packet: no read-ahead thread for it.
            let file = try CaptureFile.open(path, reading: reading.withoutReadAhead)
            first = first ?? file.reader.linkType
            sizes.append(file.reader.fileSize)
            // A stream's header is read: it stays open for `run`, which could not open it again.
            if CaptureFile.isStream(path) {
                streams[index] = file
            } else {
                file.reader.close()
            }
        }
        let source = PacketSource(kind: .files(paths), linkType: first!, pendingLive: nil, classicReading: reading)
        source.fileSizes = sizes
        source.pendingStreams = streams
        source.readerOpened = readerOpened
        return source
    }

    /// `paths` sorted by the time of each file's first packet (stable; files without a packet
    /// last). Rotated captures (`tcpdump -C`: `cap`, `cap1`, …, `cap10`) come out of a shell glob
    /// in name order (`cap1`, `cap10`, `cap2`), and a replay in that order sends time backwards
    /// between files: connections are cut and parsed again mid-stream. Throws what `files` throws.
    /// With a stream among them (`-`, a FIFO), whose first packet cannot be read twice, the order
    /// is the one given.
    public static func inTimeOrder(_ paths: [String]) throws(CaptureError) -> [String] {
        guard paths.count > 1, !paths.contains(where: CaptureFile.isStream) else { return paths }
        var firsts = [Int64]()
        for path in paths {
            let reader = try CaptureFile.open(path, reading: ClassicPcapReading.automatic.withoutReadAhead).reader
            defer { reader.close() }
            if case .packet(let packet) = reader.next() {
                firsts.append(packet.timestamp.nanoseconds)
            } else {
                firsts.append(.max)
            }
        }
        return paths.indices.sorted { (firsts[$0], $0) < (firsts[$1], $1) }.map { paths[$0] }
    }

    /// Opens and activates a live capture now (packets are buffered by the kernel from
    /// here on) and installs the filter. Throws `noSuchInterface`, `permissionDenied`,
    /// `badFilter`, `unsupportedLinkType`, …
    public static func live(_ options: LiveCaptureOptions = LiveCaptureOptions()) throws(CaptureError) -> PacketSource {
        let handle = try PcapHandle.openLive(options)
        return PacketSource(kind: .live(options), linkType: handle.linkType, pendingLive: handle)
    }

    /// Hands every packet to `handler`, on the calling thread, until the files end or
    /// `stop()` is called. A truncated file does not throw: its complete packets are
    /// handed over, it is listed in `CaptureSummary.truncatedFiles`, and reading goes on
    /// with the next file. Errors thrown by `handler` end the run and are rethrown.
    ///
    /// Live, `whenIdle` is called on the same thread with the wall-clock time (the clock packets
    /// are stamped with) whenever the wake-up interval passes without a packet: time goes on while
    /// the interface is quiet, and the caller can act on it (end idle connections, publish).
    ///
    /// A live capture lost while running (its interface deleted or renamed) ends `run` with
    /// `liveCaptureFailed`, or, with `LiveCaptureOptions.reopenDelays`, is opened again when the
    /// interface is back; `whenCaptureChanges` hears of both, on the same thread.
    public func run(
        whenIdle: (Timestamp) throws -> Void = { _ in }, whenCaptureChanges: (LiveCaptureEvent) -> Void = { _ in },
        _ handler: (CapturedPacket) throws -> Void
    ) throws -> CaptureSummary {
        let firstRun = shared.withLock { state in
            defer { state.hasRun = true }
            return !state.hasRun
        }
        guard firstRun else { throw CaptureError.alreadyRun }
        var summary = CaptureSummary()
        switch kind {
        case .files(let paths):
            for (index, path) in paths.enumerated() {
                guard !stopRequested.load(ordering: .relaxed) else { break }
                let file = try pendingStreams.removeValue(forKey: index) ?? CaptureFile.open(path, reading: classicReading)
                shared.withLock { $0.fileIndex = index }
                readerOpened?(file.reader)
                // One specialised loop per reader: no dynamic dispatch per packet.
                switch file {
                case .classic(let reader): try readFile(reader, path: path, into: &summary, handler)
                case .pcapng(let reader):
                    reader.secretsHandler = decryptionSecrets
                    defer {
                        summary.skippedPackets += reader.skippedPackets
                        summary.packetsBackInTime += reader.packetsBackInTime
                    }
                    try readFile(reader, path: path, into: &summary, handler)
                case .libpcap(let handle): try readFile(handle, path: path, into: &summary, handler)
                }
            }
        case .live(let options):
            guard let handle = pendingLive else { throw CaptureError.alreadyRun }
            pendingLive = nil
            try readLive(
                handle, options: options, into: &summary, whenIdle: whenIdle, whenCaptureChanges: whenCaptureChanges, handler)
            summary.statistics = statistics()
        }
        summary.stopped = stopRequested.load(ordering: .relaxed)
        return summary
    }

    /// Ends `run` soon: the current wait for packets returns (`pcap_breakloop`) and no
    /// further packet is handed over. Call it from any thread, e.g. the one that handles
    /// SIGINT/SIGTERM; it takes a lock, so it is not for use inside a signal handler itself.
    public func stop() {
        stopRequested.store(true, ordering: .relaxed)
        shared.withLock { state in state.current?.breakLoop() }
    }

    /// Kernel and interface counters of a live source, as of the loop's last refresh
    /// (about every second of packet time, at each idle wake-up, and at the end of the
    /// run); nil for files. Safe to call from any thread.
    public func statistics() -> CaptureStatistics? {
        guard case .live = kind else { return nil }
        return shared.withLock { $0.statistics }
    }

    /// How far a file source has read, for progress bars; nil for live sources.
    /// Safe to call from any thread (and cheap enough for every few thousand packets).
    public func progress() -> ReadProgress? {
        guard case .files = kind else { return nil }
        let total = fileSizes.reduce(0, +)
        return shared.withLock { state in
            let read = state.finishedBytes + (state.current?.filePosition() ?? 0)
            return ReadProgress(bytesRead: Swift.min(read, total), totalBytes: total, fileIndex: state.fileIndex)
        }
    }

    // MARK: Loops

    private func readFile(
        _ handle: some PacketReader, path: String, into summary: inout CaptureSummary,
        _ handler: (CapturedPacket) throws -> Void
    ) throws {
        shared.withLock { $0.current = handle }
        defer { release(handle) }
        var packets = 0
        // The file's bytes, added to the summary once, with its packets, when the file ends (or the
        // handler throws): the summary is the caller's, and its two counts kept up to date on every
        // packet cost a load, an overflow check and a store each.
        var bytes = 0
        // Each packet's time, kept as a plain integer on this loop: the first, and the latest.
        var first = Int64.min
        var latest = Int64.min
        defer {
            summary.packets += packets
            summary.bytes += bytes
            summary.fileSpans.append(
                packets == 0
                    ? FileSpan(path: path)
                    : FileSpan(path: path, first: Timestamp(nanoseconds: first), last: Timestamp(nanoseconds: latest)))
        }
        while !stopRequested.load(ordering: .relaxed) {
            switch handle.next() {
            case .packet(let packet):
                packets &+= 1
                bytes &+= packet.bytes.count
                let time = packet.timestamp.nanoseconds
                if packets == 1 { first = time }
                if time > latest { latest = time }
                try handler(packet)
            case .end, .timeout:
                return
            case .error(let detail):
                // libpcap (and PcapFileReader in its words): "truncated dump file; tried to read …"
                // (pcap) or "truncated pcapng dump file; …": a record cut short by the end of the file.
                guard detail.contains("truncated") else {
                    throw CaptureError.readFailed(path: path, packetsRead: packets, detail: detail)
                }
                summary.truncatedFiles.append(TruncatedFile(path: path, packets: packets, detail: detail))
                return
            }
        }
    }

    func release(_ handle: some PacketReader) {
        shared.withLock { state in
            state.current = nil
            state.finishedBytes += handle.fileSize
            handle.close()
        }
    }
}
