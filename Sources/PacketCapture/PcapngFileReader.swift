/// Reads pcapng files block by block with pread(2), every interface with its own link type.
internal import Glibc
internal import PacketDecoding
import Synchronization

/// A pcapng file (draft-ietf-opsawg-pcapng) read into one buffer that each block is parsed in
/// place from: no copy or allocation per packet.
///
/// libpcap reads pcapng too, but refuses a file as soon as an interface has another link type
/// than the first ("an interface has a type 113 different from the type of the first
/// interface"), and that is what Wireshark and dumpcap write when they capture on several
/// interfaces (`-i lo -i any`: Ethernet and Linux cooked headers). Here every interface keeps
/// its own link type, timestamp resolution (`if_tsresol`, a power of 10 or of 2) and offset
/// (`if_tsoffset`); a new section (SHB) starts a new list of interfaces and may change the
/// byte order.
///
/// - Enhanced, simple and (obsolete) packet blocks are handed out; every other block is skipped.
///   A simple packet block has no timestamp: it is given the previous packet's (libpcap gives 0,
///   which would take the replay's clock back to 1970).
/// - Packets of an interface whose link type we do not decode are skipped and counted
///   (`skippedPackets`); the first interface's link type is checked when the file is opened
///   (`CaptureFile.open`, by libpcap, in its words).
/// - A block cut short by the end of the file: libpcap's "truncated pcapng dump file; …" text.
/// - Damage (a block length below 12, not a multiple of 4, above `maximumBlockLength`, or not
///   repeated at the block's end; a packet longer than its block; an undescribed interface; a
///   section of another major version) is a read error that ends the run.
final class PcapngFileReader: PacketReader, @unchecked Sendable {  // one thread reads; progress reads an atomic
    static let defaultBufferSize = 1 << 20
    /// The largest block read: 16 MiB (libpcap allows about 262144 bytes of packet per block).
    static let maximumBlockLength = 16 << 20

    /// The first interface's: a file's packets may have others (`CapturedPacket.linkType`).
    let linkType: LinkType
    let fileSize: Int64
    /// Packets of interfaces with a link type we do not decode, skipped.
    private(set) var skippedPackets = 0
    /// Packets of a file of several interfaces that came after the time-order window had handed
    /// out a later one (see `InterleavedPackets`): still out of order.
    var packetsBackInTime: Int { interleaving?.lateAfterWindow ?? 0 }

    private struct Interface {
        /// nil: not one we decode.
        var linkType: LinkType?
        var snapshotLength: Int
        var resolution: Resolution
        var offsetNanoseconds: Int64
    }

    /// Timestamp units per second: 10^n or 2^n.
    enum Resolution: Equatable {
        case decimal(Int)
        case binary(Int)

        init(_ option: UInt8) {
            self = option & 0x80 == 0 ? .decimal(Int(option)) : .binary(Int(option & 0x7F))
        }

        /// `units` of this resolution in nanoseconds (exact for 10^0…10^9 and 2^n, truncated below).
        func nanoseconds(_ units: UInt64) -> Int64 {
            switch self {
            case .decimal(let digits) where digits <= 9:
                var scale: UInt64 = 1
                for _ in digits..<9 { scale &*= 10 }
                return Int64(truncatingIfNeeded: units &* scale)
            case .decimal(let digits):
                var scale: UInt64 = 1
                for _ in 9..<Swift.min(digits, 28) { scale = scale.multipliedReportingOverflow(by: 10).partialValue }
                return digits >= 29 ? 0 : Int64(truncatingIfNeeded: units / scale)
            case .binary(let bits):
                let product = units.multipliedFullWidth(by: 1_000_000_000)
                guard bits > 0 else { return Int64(truncatingIfNeeded: product.low) }
                guard bits < 64 else { return bits >= 128 ? 0 : Int64(truncatingIfNeeded: product.high >> (bits - 64)) }
                return Int64(truncatingIfNeeded: (product.high << (64 - bits)) | (product.low >> bits))
            }
        }
    }

    private let descriptor: Int32
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    /// Offset in `buffer` of the next block, and the end of what is read.
    private var start = 0
    private var end = 0
    /// Where the next `pread` reads.
    private var fileOffset: Int64 = 0
    private var atEndOfFile = false
    private var readError: Int32 = 0
    private let bytesRead = Atomic<Int64>(0)
    private var isClosed = false
    /// The current section's byte order and interfaces.
    private var isSwapped = false
    private var interfaces: [Interface] = []
    private var lastTimestamp = Timestamp(nanoseconds: 0)

    /// Takes `descriptor` (closed by `close()`); `linkType` is the first interface's.
    init(descriptor: Int32, fileSize: Int64, linkType: LinkType, bufferSize: Int = defaultBufferSize) {
        self.descriptor = descriptor
        self.fileSize = fileSize
        self.linkType = linkType
        capacity = Swift.max(bufferSize, 64)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
    }

    deinit { close() }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(descriptor)
        buffer.deallocate()
        sortedBuffer?.deallocate()
    }

    func filePosition() -> Int64 { bytesRead.load(ordering: .relaxed) }

    /// Nothing to break: a file read never blocks for long, and `PacketSource` checks `stop()` per packet.
    func breakLoop() {}

    func next() -> NextPacket {
        // One interface (the common file): packets as they lie, in place.
        if interleaving == nil {
            let outcome = nextInFile()
            guard case .packet(let packet) = outcome, interfaces.count > 1 else { return outcome }
            interleaving = InterleavedPackets()
            interleaving!.hold(packet)
        }
        return nextInTimeOrder()
    }

    /// The next packet block's packet in file order (or the end, or an error).
    private func nextInFile() -> NextPacket {
        while true {
            if end &- start < 12, !fill(12) {
                return end == start ? readEnd() : truncated(tried: 12)
            }
            let type = load32(start)
            if type == 0x0A0D_0D0A {
                // A section header: its byte-order magic says how to read everything up to the next one.
                switch buffer.loadUnaligned(fromByteOffset: start &+ 8, as: UInt32.self) {
                case 0x1A2B_3C4D: isSwapped = false
                case 0x4D3C_2B1A: isSwapped = true
                default: return .error("pcapng: a section header with an unknown byte-order magic")
                }
            }
            let length = Int(load32(start &+ 4))
            guard length >= 12, length & 3 == 0, length <= Self.maximumBlockLength else {
                return .error("pcapng: a block of \(length) bytes (at least 12, a multiple of 4, at most \(Self.maximumBlockLength))")
            }
            if end &- start < length, !fill(length) { return truncated(tried: length) }
            guard Int(load32(start &+ length &- 4)) == length else {
                return .error("pcapng: a block's total length is not repeated at its end")
            }
            let body = start &+ 8
            let bodyLength = length &- 12
            start &+= length
            switch type {
            case 6: if let outcome = timestampedPacket(at: body, length: bodyLength, shortInterface: false) { return outcome }
            case 3: if let outcome = simplePacket(at: body, length: bodyLength) { return outcome }
            case 2: if let outcome = timestampedPacket(at: body, length: bodyLength, shortInterface: true) { return outcome }
            case 1: if let failure = describeInterface(at: body, length: bodyLength) { return failure }
            case 0x0A0D_0D0A: if let failure = startSection(at: body, length: bodyLength) { return failure }
            case 10: decryptionSecrets(at: body, length: bodyLength)
            default: continue  // name resolution, statistics, custom blocks: not needed
            }
        }
    }

    // MARK: Several interfaces

    /// Set once a section describes a second interface: from then on packets are handed out in
    /// time order through a window, as a capture on several interfaces does not write them so.
    private var interleaving: InterleavedPackets?

    /// Fills the window until its oldest packet is `InterleavedPackets.span` older than the newest
    /// read (or it holds its most), then hands out the oldest.
    private func nextInTimeOrder() -> NextPacket {
        while interleaving!.wantsMore, interleaving!.fileOutcome == nil {
            let outcome = nextInFile()
            if case .packet(let packet) = outcome {
                interleaving!.hold(packet)
            } else {
                interleaving!.fileOutcome = outcome
            }
        }
        guard let oldest = interleaving!.takeOldest() else { return interleaving!.fileOutcome ?? .end }
        // Copied out of the window: valid until the next packet, as every packet handed out.
        if oldest.bytes.count > sortedCapacity {
            sortedBuffer?.deallocate()
            sortedCapacity = oldest.bytes.count
            sortedBuffer = UnsafeMutableRawPointer.allocate(byteCount: sortedCapacity, alignment: 16)
        }
        oldest.bytes.withUnsafeBytes { sortedBuffer?.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return .packet(
            CapturedPacket(
                timestamp: Timestamp(nanoseconds: oldest.timestamp), linkType: oldest.linkType,
                bytes: UnsafeRawBufferPointer(start: sortedBuffer, count: oldest.bytes.count),
                originalLength: oldest.originalLength))
    }

    private var sortedBuffer: UnsafeMutableRawPointer?
    private var sortedCapacity = 0

    // MARK: Decryption secrets

    /// Called with each Decryption Secrets Block's type (`0x544C534B` "TLSK": an NSS key log) and
    /// secrets, in file order, before the packets that follow the block. Nil: the blocks are skipped.
    var secretsHandler: ((UInt32, UnsafeRawBufferPointer) -> Void)?

    /// A Decryption Secrets Block (pcapng §4.7: secrets type, secrets length, secrets, options);
    /// one whose length does not fit its block is skipped.
    private func decryptionSecrets(at body: Int, length: Int) {
        guard let secretsHandler, length >= 8 else { return }
        let type = load32(body)
        let count = Int(load32(body &+ 4))
        guard count <= length &- 8 else { return }
        secretsHandler(type, UnsafeRawBufferPointer(start: buffer.advanced(by: body &+ 8), count: count))
    }

    // MARK: Blocks

    private func startSection(at body: Int, length: Int) -> NextPacket? {
        guard length >= 16 else { return .error("pcapng: a section header of \(length + 12) bytes") }
        let major = load16(body &+ 4)
        guard major == 1 else { return .error("pcapng: unsupported section version \(major).\(load16(body &+ 6))") }
        interfaces.removeAll(keepingCapacity: true)
        return nil
    }

    private func describeInterface(at body: Int, length: Int) -> NextPacket? {
        guard length >= 8 else { return .error("pcapng: an interface description of \(length + 12) bytes") }
        var interface = Interface(
            linkType: LinkType(dlt: Int32(load16(body))), snapshotLength: Int(load32(body &+ 4)),
            resolution: .decimal(6), offsetNanoseconds: 0)
        // Options: code, length, value padded to 4 bytes; code 0 ends them.
        var option = body &+ 8
        let optionsEnd = body &+ length
        while optionsEnd &- option >= 4 {
            let code = load16(option)
            let valueLength = Int(load16(option &+ 2))
            let value = option &+ 4
            guard code != 0, optionsEnd &- value >= valueLength else { break }
            if code == 9, valueLength == 1 {
                interface.resolution = Resolution(buffer.load(fromByteOffset: value, as: UInt8.self))
            } else if code == 14, valueLength == 8 {
                // A 64-bit value in the section's byte order: its first word is the high one when swapped.
                let (first, second) = (UInt64(load32(value)), UInt64(load32(value &+ 4)))
                let seconds = Int64(bitPattern: isSwapped ? first << 32 | second : second << 32 | first)
                interface.offsetNanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue
            }
            option = value &+ (valueLength &+ 3) & ~3
        }
        interfaces.append(interface)
        return nil
    }

    /// An enhanced packet block (6), or an obsolete packet block (2: the interface in 16 bits, then
    /// a drop count): an interface, a timestamp, the captured and original lengths, the data.
    private func timestampedPacket(at body: Int, length: Int, shortInterface: Bool) -> NextPacket? {
        guard length >= 20 else { return .error("pcapng: a packet block of \(length + 12) bytes") }
        let index = shortInterface ? Int(load16(body)) : Int(load32(body))
        let units = UInt64(load32(body &+ 4)) << 32 | UInt64(load32(body &+ 8))
        return packet(
            interface: index, units: units, captured: Int(load32(body &+ 12)), original: Int(load32(body &+ 16)),
            data: body &+ 20, room: length &- 20)
    }

    private func simplePacket(at body: Int, length: Int) -> NextPacket? {
        guard length >= 4 else { return .error("pcapng: a simple packet block of \(length + 12) bytes") }
        guard let interface = interfaces.first else { return undescribed(0) }
        let original = Int(load32(body))
        var captured = Swift.min(original, length &- 4)
        if interface.snapshotLength > 0 { captured = Swift.min(captured, interface.snapshotLength) }
        guard let linkType = interface.linkType else {
            skippedPackets &+= 1
            return nil
        }
        return .packet(
            CapturedPacket(
                timestamp: lastTimestamp, linkType: linkType,
                bytes: UnsafeRawBufferPointer(start: buffer + (body &+ 4), count: captured), originalLength: original))
    }

    @inline(__always)
    private func packet(interface index: Int, units: UInt64, captured: Int, original: Int, data: Int, room: Int) -> NextPacket? {
        guard index < interfaces.count else { return undescribed(index) }
        guard captured <= room else {
            return .error("pcapng: a packet's captured length \(captured) exceeds its block (\(room) bytes)")
        }
        let interface = interfaces[index]
        guard let linkType = interface.linkType else {
            skippedPackets &+= 1
            return nil
        }
        let nanoseconds = interface.resolution.nanoseconds(units) &+ interface.offsetNanoseconds
        lastTimestamp = Timestamp(nanoseconds: nanoseconds)
        return .packet(
            CapturedPacket(
                timestamp: lastTimestamp, linkType: linkType,
                bytes: UnsafeRawBufferPointer(start: buffer + data, count: captured), originalLength: original))
    }

    private func undescribed(_ index: Int) -> NextPacket {
        .error("pcapng: a packet on interface \(index), which the section does not describe (\(interfaces.count) interfaces)")
    }

    // MARK: Reading

    @inline(__always)
    private func load32(_ offset: Int) -> UInt32 {
        let value = buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return isSwapped ? value.byteSwapped : value
    }

    @inline(__always)
    private func load16(_ offset: Int) -> UInt16 {
        let value = buffer.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
        return isSwapped ? value.byteSwapped : value
    }

    /// Makes at least `count` bytes from `start` available in `buffer` (moving what is left to
    /// its front and growing it as needed); false at the end of the file or on a read error.
    private func fill(_ count: Int) -> Bool {
        if start > 0 {
            let left = end &- start
            if left > 0 { buffer.copyMemory(from: buffer + start, byteCount: left) }
            start = 0
            end = left
        }
        if count > capacity {
            let grown = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64)
            grown.copyMemory(from: buffer, byteCount: end)
            buffer.deallocate()
            buffer = grown
            capacity = count
        }
        while end < count && !atEndOfFile && readError == 0 {
            let got = pread(descriptor, buffer + end, capacity &- end, off_t(fileOffset))
            if got > 0 {
                end &+= got
                fileOffset &+= Int64(got)
                bytesRead.store(fileOffset, ordering: .relaxed)
            } else if got == 0 {
                atEndOfFile = true
            } else if errno != EINTR {
                readError = errno
            }
        }
        return end >= count
    }

    private func readEnd() -> NextPacket {
        readError == 0 ? .end : .error("error reading dump file: \(String(cString: strerror(readError)))")
    }

    private func truncated(tried count: Int) -> NextPacket {
        if readError != 0 { return readEnd() }
        return .error("truncated pcapng dump file; tried to read \(count) bytes, only got \(end - start)")
    }
}
