/// The one place that touches libpcap: opening files and interfaces, reading packets, stats.
private import CPcap
internal import Glibc
internal import PacketDecoding

/// An open libpcap handle (`pcap_t *`) with what we learned when opening it.
final class PcapHandle: PacketReader, @unchecked Sendable {  // used by one thread; stop() only breaks it under the source's lock
    /// libpcap's `pcap_t *`.
    let pointer: OpaquePointer
    let linkType: LinkType
    /// Turns the fractional-second field into nanoseconds: 1 for nanosecond precision, 1000 for microseconds.
    let fractionToNanoseconds: Int64
    /// The stdio buffer of a file opened with `pcap_fopen_offline` (freed after `pcap_close`).
    private let fileBuffer: UnsafeMutableRawPointer?
    /// Size of the file when it was opened (0 for live captures).
    let fileSize: Int64
    private var isClosed = false
    /// Live: libpcap's descriptor, polled while no packet waits (the handle is non-blocking: a
    /// blocking read in immediate mode never returns on an idle interface, so the loop
    /// could not wake to refresh statistics or end idle connections); -1 for files, or where
    /// libpcap has no such descriptor (then reads block as before).
    private let pollDescriptor: Int32
    /// Live with `pollDescriptor`: an eventfd `breakLoop` writes to, so a stop ends the wait at once.
    private let wakeDescriptor: Int32
    /// Live: milliseconds one wait may last before `next` reports `.timeout`.
    private let wakeupInterval: Int32

    /// 1 MiB: libpcap's own `fopen` reads in 4 KiB `read(2)` calls; a large stdio buffer
    /// reads files 18–30 % faster (shared/bench/README.md).
    static let fileBufferSize = 1 << 20

    private init(
        pointer: OpaquePointer, linkType: LinkType, fractionToNanoseconds: Int64,
        fileBuffer: UnsafeMutableRawPointer? = nil, fileSize: Int64 = 0,
        pollDescriptor: Int32 = -1, wakeDescriptor: Int32 = -1, wakeupInterval: Int32 = 0
    ) {
        self.fileSize = fileSize
        self.pollDescriptor = pollDescriptor
        self.wakeDescriptor = wakeDescriptor
        self.wakeupInterval = wakeupInterval
        self.pointer = pointer
        self.linkType = linkType
        self.fractionToNanoseconds = fractionToNanoseconds
        self.fileBuffer = fileBuffer
    }

    deinit { close() }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        pcap_close(pointer)  // also fcloses a file opened with pcap_fopen_offline
        fileBuffer?.deallocate()
        if wakeDescriptor >= 0 { Glibc.close(wakeDescriptor) }
    }

    /// The libpcap error text of this handle.
    var lastError: String { String(cString: pcap_geterr(pointer)) }

    // MARK: Files

    /// Opens a pcap or pcapng file with nanosecond timestamps.
    static func openFile(_ path: String) throws(CaptureError) -> PcapHandle {
        guard let file = fopen(path, "rb") else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .fileNotFound(path: path) }
            throw .cannotReadFile(path: path, reason: String(cString: strerror(code)))
        }
        var status = stat()
        guard fstat(fileno(file), &status) == 0 else {
            let reason = String(cString: strerror(errno))
            fclose(file)
            throw .cannotReadFile(path: path, reason: reason)
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            fclose(file)
            throw .cannotReadFile(path: path, reason: "is a directory")
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: fileBufferSize, alignment: 64)
        // glibc ignores the size unless it is also given the buffer.
        setvbuf(file, buffer.assumingMemoryBound(to: CChar.self), _IOFBF, fileBufferSize)
        return try open(file, path: path, fileBuffer: buffer, fileSize: Int64(status.st_size))
    }

    /// Opens the file behind `descriptor` (a duplicate of it: the caller keeps its own) with
    /// libpcap's default stdio buffer, to check its header and learn its link type and snapshot
    /// length; `PcapFileReader` then reads the packets.
    static func probe(descriptor: Int32, path: String) throws(CaptureError) -> PcapHandle {
        let copy = dup(descriptor)
        guard copy >= 0, let file = fdopen(copy, "rb") else {
            let reason = String(cString: strerror(errno))
            if copy >= 0 { Glibc.close(copy) }
            throw .cannotReadFile(path: path, reason: reason)
        }
        return try open(file, path: path, fileBuffer: nil, fileSize: 0)
    }

    /// libpcap's part of opening a file: `file` and `fileBuffer` belong to the handle, or are
    /// released here when opening fails.
    private static func open(
        _ file: UnsafeMutablePointer<FILE>, path: String, fileBuffer buffer: UnsafeMutableRawPointer?, fileSize: Int64
    ) throws(CaptureError) -> PcapHandle {
        var message = ErrorBuffer()
        let opened = message.withPointer {
            pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), $0)
        }
        guard let pointer = opened else {
            fclose(file)
            buffer?.deallocate()
            throw .notACaptureFile(path: path, detail: message.text)
        }
        guard let linkType = LinkType(dlt: pcap_datalink(pointer)) else {
            let number = pcap_datalink(pointer)
            pcap_close(pointer)
            buffer?.deallocate()
            throw .unsupportedLinkType(source: path, name: linkTypeName(number), number: number)
        }
        return PcapHandle(
            pointer: pointer, linkType: linkType, fractionToNanoseconds: fractionScale(pointer), fileBuffer: buffer,
            fileSize: fileSize)
    }

    /// libpcap's snapshot length for the capture (for a file, libpcap 1.10 makes a header's 0 or
    /// value above Int32.max 262144 and keeps any other).
    var snapshotLength: Int { Int(pcap_snapshot(pointer)) }

    // MARK: Live

    /// Creates, configures and activates a live capture, then installs the filter.
    static func openLive(_ options: LiveCaptureOptions) throws(CaptureError) -> PcapHandle {
        let name = options.interface
        var message = ErrorBuffer()
        guard let pointer = message.withPointer({ pcap_create(name, $0) }) else {
            throw .liveCaptureFailed(interface: name, detail: message.text)
        }
        pcap_set_snaplen(pointer, options.snapshotLength)
        pcap_set_promisc(pointer, options.promiscuous ? 1 : 0)
        pcap_set_timeout(pointer, options.wakeupInterval)
        pcap_set_immediate_mode(pointer, options.immediateMode ? 1 : 0)
        if let size = options.bufferSize { pcap_set_buffer_size(pointer, size) }
        // Not every platform has nanosecond stamps; fractionScale reads what we got.
        _ = pcap_set_tstamp_precision(pointer, Int32(PCAP_TSTAMP_PRECISION_NANO))
        let status = pcap_activate(pointer)
        if status < 0 {
            let detail = String(cString: pcap_geterr(pointer))
            pcap_close(pointer)
            switch status {
            case PCAP_ERROR_NO_SUCH_DEVICE: throw .noSuchInterface(name)
            case PCAP_ERROR_PERM_DENIED, PCAP_ERROR_PROMISC_PERM_DENIED: throw .permissionDenied(interface: name)
            case PCAP_ERROR_IFACE_NOT_UP: throw .interfaceNotUp(name)
            default:
                throw .liveCaptureFailed(
                    interface: name, detail: detail.isEmpty ? String(cString: pcap_statustostr(status)) : detail)
            }
        }
        let number = pcap_datalink(pointer)
        guard let linkType = LinkType(dlt: number) else {
            pcap_close(pointer)
            throw .unsupportedLinkType(source: name, name: linkTypeName(number), number: number)
        }
        // An error names the expression as configured, not as widened for tagged frames.
        if let configured = options.filter, let filter = options.filterExpression(for: linkType) {
            var program = bpf_program()
            guard pcap_compile(pointer, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                let detail = String(cString: pcap_geterr(pointer))
                pcap_close(pointer)
                throw .badFilter(filter: configured, detail: detail)
            }
            defer { pcap_freecode(&program) }
            guard pcap_setfilter(pointer, &program) == 0 else {
                let detail = String(cString: pcap_geterr(pointer))
                pcap_close(pointer)
                throw .badFilter(filter: configured, detail: detail)
            }
        }
        let (poll, wake) = makeWaitable(pointer)
        return PcapHandle(
            pointer: pointer, linkType: linkType, fractionToNanoseconds: fractionScale(pointer),
            pollDescriptor: poll, wakeDescriptor: wake, wakeupInterval: max(options.wakeupInterval, 1))
    }

    /// Puts a live handle in non-blocking mode with a descriptor to poll and an eventfd to wake the
    /// poll: (-1, -1), and the handle left blocking, where either is missing.
    private static func makeWaitable(_ pointer: OpaquePointer) -> (poll: Int32, wake: Int32) {
        let descriptor = pcap_get_selectable_fd(pointer)
        guard descriptor >= 0 else { return (-1, -1) }
        let wake = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wake >= 0 else { return (-1, -1) }
        var message = ErrorBuffer()
        guard message.withPointer({ pcap_setnonblock(pointer, 1, $0) }) == 0 else {
            Glibc.close(wake)
            return (-1, -1)
        }
        return (descriptor, wake)
    }

    // MARK: Reading

    /// The next packet of a file: one `pcap_next_ex` call. (Live handles are read with
    /// `dispatchLive`, which hands packets over in place.)
    @inline(__always)
    func next() -> NextPacket {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let status = pcap_next_ex(pointer, &header, &data)
        switch status {
        case 1:
            let record = header.unsafelyUnwrapped.pointee
            return .packet(
                Self.packet(record, data, linkType: linkType, fractionToNanoseconds: fractionToNanoseconds))
        case 0: return .timeout
        case PCAP_ERROR_BREAK: return .end
        default: return .error(lastError)
        }
    }

    /// What one `dispatchLive` call did.
    enum LiveRead: Equatable {
        /// Packets were handed over (at least one).
        case packets
        /// The wake-up interval passed without a packet.
        case timeout
        /// `breakLoop` was called.
        case end
        /// libpcap's (or `poll`'s) words.
        case error(String)
    }

    /// Live: hands `body` every packet waiting in the kernel's ring, each in place in the ring
    /// (`pcap_dispatch`); when none waits, waits for some, at most `wakeupInterval` (then
    /// `.timeout`), or until `breakLoop` (then `.end`). An error `body` throws ends the call
    /// (libpcap's loop is broken, the packets after it stay unread) and is rethrown.
    ///
    /// Not `pcap_next_ex`: on Linux its packet's frame goes back to the kernel before the call
    /// returns, so libpcap copies every packet, whole, into a buffer of the snapshot length
    /// first (pcap-linux.c `pcap_oneshot_linux`). With offloads a packet is a super-packet of up
    /// to 64 KB or more: under a mix with answers of 58 KB on average that copy was a fifth of
    /// the capture thread's user time (Benchmarks/README.md, "Live CPU").
    func dispatchLive(_ body: (CapturedPacket) throws -> Void) throws -> LiveRead {
        while true {
            let status = try dispatchOnce(body)
            if status > 0 { return .packets }
            if status == PCAP_ERROR_BREAK { return .end }
            if status < 0 { return .error(lastError) }
            // 0: a blocking handle's block timeout passed; a non-blocking one has nothing waiting.
            if pollDescriptor < 0 { return .timeout }
            var descriptors = (
                pollfd(fd: pollDescriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)
            )
            let ready = withUnsafeMutableBytes(of: &descriptors) {
                poll($0.baseAddress!.assumingMemoryBound(to: pollfd.self), 2, wakeupInterval)
            }
            if ready == 0 { return .timeout }
            if ready < 0 {
                if errno == EINTR { continue }
                return .error("poll: " + String(cString: strerror(errno)))
            }
            if descriptors.1.revents != 0 {
                var count: UInt64 = 0
                _ = read(wakeDescriptor, &count, 8)
                return .end
            }
            // Readable (or an error libpcap reports on the next read): read again.
        }
    }

    /// Live, after `dispatchLive` reported an error (the interface went away): hands `body` the
    /// packets still in the ring. The kernel hands a TPACKET_V3 block over when it is full or
    /// its timeout (the wake-up interval) passes, and libpcap reports the loss before reading
    /// the block then in progress: the last packets before a pod's veth went were dropped with
    /// the handle. Waits for that block's timeout, then reads whatever is ready (libpcap looks
    /// at the ring before it looks at the socket's error). Returns the packets handed over.
    func drainAfterLoss(_ body: (CapturedPacket) throws -> Void) throws -> Int {
        usleep(UInt32(wakeupInterval) * 2 * 1000)
        var total = 0
        while true {
            let status = try dispatchOnce(body)
            guard status > 0 else { return total }
            total += Int(status)
        }
    }

    /// What `pcap_dispatch`'s callback needs: `user` points to one of these.
    private struct DispatchContext {
        let pointer: OpaquePointer
        let linkType: LinkType
        let fractionToNanoseconds: Int64
        let body: (CapturedPacket) throws -> Void
        var error: (any Error)?
    }

    /// One `pcap_dispatch` call over all the packets waiting (-1: every block the kernel has
    /// handed over); its status, or `body`'s error.
    private func dispatchOnce(_ body: (CapturedPacket) throws -> Void) throws -> Int32 {
        try withoutActuallyEscaping(body) { body in
            var context = DispatchContext(
                pointer: pointer, linkType: linkType, fractionToNanoseconds: fractionToNanoseconds, body: body)
            let status = withUnsafeMutablePointer(to: &context) { context in
                pcap_dispatch(pointer, -1, { user, header, data in
                    let context = UnsafeMutableRawPointer(user.unsafelyUnwrapped).assumingMemoryBound(
                        to: DispatchContext.self)
                    guard context.pointee.error == nil else { return }
                    let packet = PcapHandle.packet(
                        header.unsafelyUnwrapped.pointee, data, linkType: context.pointee.linkType,
                        fractionToNanoseconds: context.pointee.fractionToNanoseconds)
                    do {
                        try context.pointee.body(packet)
                    } catch {
                        context.pointee.error = error
                        pcap_breakloop(context.pointee.pointer)
                    }
                }, UnsafeMutableRawPointer(context).assumingMemoryBound(to: UInt8.self))
            }
            if let error = context.error { throw error }
            return status
        }
    }

    /// The packet a libpcap header and data pointer describe (the data borrowed, not copied).
    @inline(__always)
    private static func packet(
        _ record: pcap_pkthdr, _ data: UnsafePointer<UInt8>?, linkType: LinkType, fractionToNanoseconds: Int64
    ) -> CapturedPacket {
        CapturedPacket(
            timestamp: Timestamp(
                seconds: Int64(record.ts.tv_sec), nanoseconds: Int64(record.ts.tv_usec) &* fractionToNanoseconds),
            linkType: linkType, bytes: UnsafeRawBufferPointer(start: data, count: Int(record.caplen)),
            originalLength: Int(record.len))
    }

    /// How far libpcap has read into a capture file (the stdio stream position), 0 for live.
    func filePosition() -> Int64 {
        guard fileBuffer != nil, let file = pcap_file(pointer) else { return 0 }
        return Int64(ftello(file))
    }

    /// `pcap_breakloop`: makes a blocked or the next `pcap_next_ex` return, and a `pcap_dispatch`
    /// stop before its next packet (thread-safe in libpcap ≥ 1.10); ends a live handle's wait for packets.
    func breakLoop() {
        pcap_breakloop(pointer)
        if wakeDescriptor >= 0 {
            var one: UInt64 = 1
            _ = write(wakeDescriptor, &one, 8)
        }
    }

    /// Raw `pcap_stats` counters (32-bit, wrapping), or nil when unsupported.
    func rawStatistics() -> (received: UInt32, dropped: UInt32, interfaceDropped: UInt32)? {
        var stats = pcap_stat()
        guard pcap_stats(pointer, &stats) == 0 else { return nil }
        return (UInt32(stats.ps_recv), UInt32(stats.ps_drop), UInt32(stats.ps_ifdrop))
    }

    private static func fractionScale(_ pointer: OpaquePointer) -> Int64 {
        pcap_get_tstamp_precision(pointer) == Int32(PCAP_TSTAMP_PRECISION_NANO) ? 1 : 1000
    }

    private static func linkTypeName(_ number: Int32) -> String? {
        pcap_datalink_val_to_name(number).map { String(cString: $0) }
    }
}

/// A `PCAP_ERRBUF_SIZE` buffer for libpcap's error messages.
struct ErrorBuffer {
    private var storage = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))

    mutating func withPointer<R>(_ body: (UnsafeMutablePointer<CChar>) -> R) -> R {
        storage.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    var text: String {
        storage.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
