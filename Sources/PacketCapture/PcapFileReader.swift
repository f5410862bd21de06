/// Reads classic pcap files with pread(2) (itself or on a read-ahead thread) and hands out packets in place.
internal import Glibc
internal import PacketDecoding
import Synchronization

/// The file header of a classic pcap file (pcap-savefile(5); draft-ietf-opsawg-pcap §4), when it
/// is one `PcapFileReader` reads: magic 0xa1b2c3d4 (µs) or 0xa1b23c4d (ns) in either byte
/// order, version 2.4. The descriptor stays open for the reader.
struct ClassicPcapHeader {
    static let length = 24

    let descriptor: Int32
    /// Written in the other byte order than this machine's.
    let isSwapped: Bool
    let hasNanosecondTimestamps: Bool
    let fileSize: Int64

    /// nil when the file is not one we read ourselves: it does not open, is no regular file, is
    /// shorter than a header, or has another magic (pcapng, Kuznetzov's 0xa1b2cd34, …) or version
    /// (2.0–2.3 and 543.0 may have caplen and len swapped: libpcap guesses, so it reads those).
    /// The caller then opens the file with libpcap, which reports any problem in its words.
    static func open(_ path: String) -> ClassicPcapHeader? {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        var status = stat()
        let header = withUnsafeTemporaryAllocation(byteCount: length, alignment: 4) { bytes -> ClassicPcapHeader? in
            guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG,
                pread(descriptor, bytes.baseAddress, length, 0) == length
            else { return nil }
            let magic = bytes.load(as: UInt32.self)
            let isSwapped: Bool
            switch magic {
            case 0xA1B2_C3D4, 0xA1B2_3C4D: isSwapped = false
            case 0xD4C3_B2A1, 0x4D3C_B2A1: isSwapped = true
            default: return nil
            }
            let major = bytes.load(fromByteOffset: 4, as: UInt16.self)
            let minor = bytes.load(fromByteOffset: 6, as: UInt16.self)
            guard (isSwapped ? major.byteSwapped : major) == 2, (isSwapped ? minor.byteSwapped : minor) == 4 else {
                return nil
            }
            return ClassicPcapHeader(
                descriptor: descriptor, isSwapped: isSwapped,
                hasNanosecondTimestamps: magic == 0xA1B2_3C4D || magic == 0x4D3C_B2A1,
                fileSize: Int64(status.st_size))
        }
        if header == nil { Glibc.close(descriptor) }
        return header
    }

    func close() { Glibc.close(descriptor) }
}

/// A classic pcap file read with `pread(2)` into one buffer that each record is parsed in place
/// from and handed out of: no copy or allocation per packet.
///
/// With a `ReadAheadRing` the reads happen on a thread of their own and records are parsed in
/// place in the ring's buffers; only a record that straddles two of them is copied, into the
/// reader's own buffer (the "stitch"), so the parse and every answer below are the same.
///
/// It gives what libpcap 1.10's `pcap_next_ex` gives for the same file (sf-pcap.c
/// `pcap_next_packet`), the file opened with nanosecond precision:
/// - seconds and fraction are signed 32-bit fields in a file of this machine's byte order and
///   unsigned in one of the other (libpcap's `bpf_int32` and its `SWAPLONG`), the fraction
///   times 1000 in a µs file and not normalised;
/// - a caplen above 262144 (libpcap's `max_snaplen_for_dlt` for every link type we decode) is
///   damage: "invalid packet capture length N, bigger than snaplen of S" (or "maximum of 262144"
///   when the snaplen is larger still), a read error that ends the run;
/// - a caplen above the file's snaplen but not above 262144: the first snaplen bytes are handed
///   out and the rest skipped (libpcap's answer to a Solaris 2.3 bufmod bug);
/// - a record cut short by the end of the file: libpcap's "truncated dump file; …" text;
/// - a read error: "error reading dump file: <strerror>".
final class PcapFileReader: PacketReader, @unchecked Sendable {  // one thread reads; progress reads an atomic
    static let defaultBufferSize = 1 << 20
    static let recordHeaderLength = 16
    /// libpcap's `MAXIMUM_SNAPLEN`, the most it hands out per packet of our link types.
    static let maximumCapturedLength = 262_144
    /// The bound on the buffer: one whole record of the largest capture length. A smaller
    /// buffer grows (at most to this) when a record does not fit in it.
    static let maximumBufferSize = recordHeaderLength + maximumCapturedLength

    let linkType: LinkType
    let fileSize: Int64
    private let descriptor: Int32
    private let isSwapped: Bool
    private let fractionToNanoseconds: Int64
    /// libpcap's snapshot length for the file (`pcap_snapshot`), 1…Int32.max.
    private let snapshotLength: Int
    /// The most a record may hold to be handed out whole: the snapshot length, at most 262144.
    private let wholeRecordLimit: Int
    /// Where records are parsed: `storage`, or (read ahead) the ring's chunk lent at the moment.
    private var buffer: UnsafeMutableRawPointer
    /// The reader's own buffer: all of the file read so far but not parsed (read directly), or
    /// the record being stitched from two or more chunks (read ahead).
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    /// Offset of the next record in `buffer`.
    private var start = 0
    /// Bytes of the file held in `buffer`.
    private var end = 0
    /// Where the next `pread` reads.
    private var fileOffset = Int64(ClassicPcapHeader.length)
    private var atEndOfFile = false
    /// errno of a failed read, 0 when none failed.
    private var readError: Int32 = 0
    /// `fileOffset` for `progress()` on other threads.
    private let bytesRead = Atomic<Int64>(Int64(ClassicPcapHeader.length))
    private var isClosed = false
    /// The reading thread and its buffers, when reading ahead.
    let readAhead: ReadAheadRing?
    /// The chunk lent by `readAhead` (nil when none is), its length, and how much of it is in
    /// the window (`buffer` is the chunk) or was copied to `storage`.
    private var chunk: UnsafeMutableRawPointer?
    private var chunkLength = 0
    private var chunkOffset = 0

    /// Reads directly with a buffer of `bufferSize` bytes to start with, or ahead on a thread
    /// through `readAhead.count` buffers of `readAhead.size` bytes (the direct way if no thread
    /// can be started).
    init(
        header: ClassicPcapHeader, linkType: LinkType, snapshotLength: Int, bufferSize: Int,
        readAhead: (size: Int, count: Int)? = nil
    ) {
        descriptor = header.descriptor
        isSwapped = header.isSwapped
        fractionToNanoseconds = header.hasNanosecondTimestamps ? 1 : 1000
        fileSize = header.fileSize
        self.linkType = linkType
        self.snapshotLength = snapshotLength
        wholeRecordLimit = Swift.min(snapshotLength, Self.maximumCapturedLength)
        self.readAhead = readAhead.flatMap { size, count in
            ReadAheadRing.start(
                descriptor: header.descriptor, from: Int64(ClassicPcapHeader.length), bufferSize: size,
                bufferCount: count)
        }
        // Read ahead, `storage` only holds stitched records: it starts small and grows as needed.
        let initial = self.readAhead == nil ? bufferSize : Swift.min(bufferSize, Self.stitchBufferSize)
        capacity = Swift.max(initial, Self.recordHeaderLength)
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        buffer = storage
    }

    /// The first size of the stitch buffer when reading ahead (it grows to `maximumBufferSize`).
    static let stitchBufferSize = 1 << 16

    deinit { close() }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        // The reading thread ends (joined) before its descriptor closes.
        readAhead?.close()
        Glibc.close(descriptor)
        storage.deallocate()
    }

    func filePosition() -> Int64 { bytesRead.load(ordering: .relaxed) }

    /// Nothing to break: a file read never blocks for long, and `PacketSource` checks `stop()` per packet.
    func breakLoop() {}

    @inline(__always)
    func next() -> NextPacket {
        if end &- start < Self.recordHeaderLength, !fill(Self.recordHeaderLength) {
            return endOfFile()
        }
        let header = RecordHeader(buffer + start, swapped: isSwapped)
        let captured = Int(header.capturedLength)
        if captured > wholeRecordLimit { return oversized(header) }
        let recordLength = Self.recordHeaderLength &+ captured
        if end &- start < recordLength, !fill(recordLength) { return truncated(tried: captured) }
        let data = buffer + (start &+ Self.recordHeaderLength)
        start &+= recordLength
        return .packet(packet(header, data: data, count: captured))
    }

    @inline(__always)
    private func packet(_ header: RecordHeader, data: UnsafeMutableRawPointer, count: Int) -> CapturedPacket {
        CapturedPacket(
            timestamp: Timestamp(seconds: header.seconds, nanoseconds: header.fraction &* fractionToNanoseconds),
            linkType: linkType, bytes: UnsafeRawBufferPointer(start: data, count: count),
            originalLength: Int(header.originalLength))
    }

    /// A caplen above the snapshot length or 262144: damage above 262144, else cut to the snapshot length.
    @inline(never)
    private func oversized(_ header: RecordHeader) -> NextPacket {
        let captured = Int(header.capturedLength)
        guard captured <= Self.maximumCapturedLength else {
            let limit =
                captured > snapshotLength
                ? "snaplen of \(snapshotLength)" : "maximum of \(Self.maximumCapturedLength)"
            return .error("invalid packet capture length \(captured), bigger than \(limit)")
        }
        let head = Self.recordHeaderLength
        if end - start < head + snapshotLength, !fill(head + snapshotLength) { return truncated(tried: snapshotLength) }
        if end - start < head + captured, !fill(head + captured) { return truncated(tried: captured) }
        let data = buffer + start + head
        start += head + captured
        return .packet(packet(header, data: data, count: snapshotLength))
    }

    /// No whole record header is left: the end, a cut header, or a read error.
    @inline(never)
    private func endOfFile() -> NextPacket {
        if let failure = readFailure() { return failure }
        let left = end - start
        guard left > 0 else { return .end }
        return .error("truncated dump file; tried to read \(Self.recordHeaderLength) header bytes, only got \(left)")
    }

    /// The file ended (or a read failed) inside a record's data.
    @inline(never)
    private func truncated(tried count: Int) -> NextPacket {
        if let failure = readFailure() { return failure }
        let got = end - start - Self.recordHeaderLength
        return .error("truncated dump file; tried to read \(count) captured bytes, only got \(got)")
    }

    private func readFailure() -> NextPacket? {
        guard readError != 0 else { return nil }
        return .error("error reading dump file: \(String(cString: strerror(readError)))")
    }

    /// Makes `count` bytes from `start` available: moves the rest of the buffer to its front, grows
    /// the buffer if one record needs more than it holds (never past `maximumBufferSize`) and reads
    /// as much as fits. False when the file ends first or a read fails (`readError`).
    @inline(never)
    private func fill(_ count: Int) -> Bool {
        precondition(count <= Self.maximumBufferSize, "a record is never longer than maximumBufferSize")
        if let readAhead { return fill(count, from: readAhead) }
        let held = end - start
        if start > 0 {
            if held > 0 { buffer.copyMemory(from: buffer + start, byteCount: held) }
            start = 0
            end = held
        }
        if count > capacity {
            let grown = Swift.min(Swift.max(count, capacity * 2), Self.maximumBufferSize)
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 64)
            bigger.copyMemory(from: buffer, byteCount: held)
            storage.deallocate()
            storage = bigger
            buffer = bigger
            capacity = grown
        }
        while end < count {
            guard !atEndOfFile, readError == 0 else { return false }
            let got = pread(descriptor, buffer + end, capacity - end, off_t(fileOffset))
            if got > 0 {
                end += got
                fileOffset += Int64(got)
                bytesRead.store(fileOffset, ordering: .relaxed)
            } else if got == 0 {
                atEndOfFile = true
            } else if errno != EINTR {
                readError = errno
            }
        }
        return true
    }

    /// `fill(_:)` from the ring's chunks. With nothing held, the window moves on in place to
    /// the rest of the chunk or to the next chunk; a record the window does not hold whole is
    /// copied to `storage` from as many chunks as it spans. False as `fill(_:)`.
    private func fill(_ count: Int, from ring: ReadAheadRing) -> Bool {
        if end == start {
            if chunkOffset == chunkLength, !takeChunk(from: ring) {
                buffer = storage
                start = 0
                end = 0
                return false
            }
            buffer = chunk!
            start = chunkOffset
            end = chunkLength
            chunkOffset = chunkLength
            if end - start >= count { return true }
        }
        let held = end - start
        if count > capacity {
            let grown = Swift.min(Swift.max(count, capacity * 2), Self.maximumBufferSize)
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 64)
            bigger.copyMemory(from: buffer + start, byteCount: held)
            storage.deallocate()
            storage = bigger
            capacity = grown
        } else if buffer != storage || start > 0 {
            storage.copyMemory(from: buffer + start, byteCount: held)
        }
        buffer = storage
        start = 0
        end = held
        while end < count {
            if chunkOffset == chunkLength, !takeChunk(from: ring) { return false }
            let part = Swift.min(count - end, chunkLength - chunkOffset)
            (storage + end).copyMemory(from: chunk! + chunkOffset, byteCount: part)
            end += part
            chunkOffset += part
        }
        return true
    }

    /// Gives the chunk held back and takes the next; false at the end of the file or on a read
    /// error (`readError`), as `pread` would have said.
    private func takeChunk(from ring: ReadAheadRing) -> Bool {
        if chunk != nil {
            ring.release()
            chunk = nil
            chunkLength = 0
            chunkOffset = 0
        }
        guard !atEndOfFile, readError == 0 else { return false }
        switch ring.take() {
        case .chunk(let bytes, let count):
            chunk = bytes
            chunkLength = count
            chunkOffset = 0
            fileOffset += Int64(count)
            bytesRead.store(fileOffset, ordering: .relaxed)
            return true
        case .end:
            atEndOfFile = true
        case .failed(let error):
            readError = error
        }
        return false
    }
}

/// A classic pcap record header (draft-ietf-opsawg-pcap §5): four 32-bit fields in the file's byte order.
private struct RecordHeader {
    var seconds: Int64
    var fraction: Int64
    var capturedLength: UInt32
    var originalLength: UInt32

    /// libpcap 1.10 reads the time fields as signed 32-bit (`bpf_int32`), but its `SWAPLONG`
    /// gives an unsigned value: 0xffffffff is -1 in a file of this machine's byte order and
    /// 4294967295 in one of the other. We give the same.
    @inline(__always)
    init(_ bytes: UnsafeMutableRawPointer, swapped: Bool) {
        let seconds = bytes.loadUnaligned(as: UInt32.self)
        let fraction = bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        capturedLength = bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        originalLength = bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
        if swapped {
            self.seconds = Int64(seconds.byteSwapped)
            self.fraction = Int64(fraction.byteSwapped)
            capturedLength = capturedLength.byteSwapped
            originalLength = originalLength.byteSwapped
        } else {
            self.seconds = Int64(Int32(bitPattern: seconds))
            self.fraction = Int64(Int32(bitPattern: fraction))
        }
    }
}
