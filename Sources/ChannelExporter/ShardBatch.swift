/// The records a sharded replay's reading thread writes into a shard's batches, and their reading.
import PacketDecoding

/// What one record asks a shard's worker to do. Every record starts with a `ShardRecordHeader` and
/// takes a multiple of 16 bytes.
enum ShardRecord {
    /// A TCP segment: the header, the `TCPSegment` (its payload pointer meaningless), its payload bytes.
    static let segment: UInt32 = 0
    /// An idle sweep before the segment `ordinal` (its time after the header): every shard gets it.
    static let sweep: UInt32 = 1
    /// TLS secrets a pcapng Decryption Secrets Block carried (a count, then the key log text).
    static let secrets: UInt32 = 2
    /// The end of input, at the time after the header: the worker finishes and stops.
    static let end: UInt32 = 3

    static let headerSize = (MemoryLayout<ShardRecordHeader>.size + 15) & ~15
    static let segmentSize = (MemoryLayout<TCPSegment>.size + 15) & ~15
    static let timeSize = 16

    /// Bytes of a record whose body (after the header) has `body` bytes.
    @inline(__always)
    static func size(body: Int) -> Int { headerSize + ((body + 15) & ~15) }
}

struct ShardRecordHeader {
    var kind: UInt32
    /// Bytes of the whole record.
    var size: UInt32
    /// The segment's ordinal (from 1, over every segment of the replay): `EventOrder.packet`.
    var ordinal: UInt64
}

/// The reading thread's end of one shard's ring: appends records to the buffer being filled and
/// publishes it when the next record does not fit (and at the end).
struct ShardWriter {
    let ring: ShardRing
    /// Called while every buffer of the ring is full, instead of waiting (the floating shard's: the
    /// reading thread handles a batch itself); whether it did anything.
    private let help: (() -> Bool)?
    private var slot: Int
    private var bytes: UnsafeMutableRawPointer
    private var capacity: Int
    private var used = 0

    init(ring: ShardRing, helpingWith help: (() -> Bool)? = nil) {
        self.ring = ring
        self.help = help
        slot = Self.fillable(ring, helping: help)
        let buffer = ring.buffer(slot)
        bytes = buffer.bytes
        capacity = buffer.capacity
    }

    /// The ring's next buffer to fill, handed over by `help` or waited for.
    private static func fillable(_ ring: ShardRing, helping help: (() -> Bool)?) -> Int {
        help.map { ring.fillable(helping: $0) } ?? ring.fillable()
    }

    /// Copies `segment` and its payload into the batch.
    @inline(__always)
    mutating func append(_ segment: TCPSegment, ordinal: UInt64) {
        let count = segment.payload.count
        let size = ShardRecord.size(body: ShardRecord.segmentSize + count)
        if used + size > capacity { makeRoom(size) }
        let at = bytes + used
        at.storeBytes(of: ShardRecordHeader(kind: ShardRecord.segment, size: UInt32(size), ordinal: ordinal), as: ShardRecordHeader.self)
        (at + ShardRecord.headerSize).storeBytes(of: segment, as: TCPSegment.self)
        if count > 0 {
            (at + ShardRecord.headerSize + ShardRecord.segmentSize).copyMemory(from: segment.payload.baseAddress!, byteCount: count)
        }
        used += size
    }

    /// A record with a time after its header: a sweep or the end.
    mutating func append(_ kind: UInt32, ordinal: UInt64, time: Timestamp) {
        let size = ShardRecord.size(body: ShardRecord.timeSize)
        if used + size > capacity { makeRoom(size) }
        let at = bytes + used
        at.storeBytes(of: ShardRecordHeader(kind: kind, size: UInt32(size), ordinal: ordinal), as: ShardRecordHeader.self)
        (at + ShardRecord.headerSize).storeBytes(of: time.nanoseconds, as: Int64.self)
        used += size
    }

    /// Secrets in NSS key log form.
    mutating func appendSecrets(_ text: UnsafeRawBufferPointer, ordinal: UInt64) {
        let size = ShardRecord.size(body: 16 + text.count)
        if used + size > capacity { makeRoom(size) }
        let at = bytes + used
        at.storeBytes(of: ShardRecordHeader(kind: ShardRecord.secrets, size: UInt32(size), ordinal: ordinal), as: ShardRecordHeader.self)
        (at + ShardRecord.headerSize).storeBytes(of: text.count, as: Int.self)
        if let base = text.baseAddress { (at + ShardRecord.headerSize + 16).copyMemory(from: base, byteCount: text.count) }
        used += size
    }

    /// Publishes the batch being filled, if anything is in it.
    mutating func flush() {
        guard used > 0 else { return }
        ring.setCount(used, of: slot)
        ring.publish(slot)
        slot = Self.fillable(ring, helping: help)
        let buffer = ring.buffer(slot)
        bytes = buffer.bytes
        capacity = buffer.capacity
        used = 0
    }

    /// Publishes the batch, and grows the next one when the record is larger than it.
    @inline(never)
    private mutating func makeRoom(_ size: Int) {
        flush()
        if size > capacity {
            ring.grow(slot, to: size)
            bytes = ring.buffer(slot).bytes
            capacity = size
        }
    }
}

/// What a worker reads from one batch, record by record.
struct ShardBatchReader {
    private let bytes: UnsafeRawPointer
    private let count: Int
    private var offset = 0

    init(_ buffer: ShardRing.Buffer) {
        bytes = UnsafeRawPointer(buffer.bytes)
        count = buffer.count
    }

    /// The next record's header and the address of its body; nil after the last.
    @inline(__always)
    mutating func next() -> (header: ShardRecordHeader, body: UnsafeRawPointer)? {
        guard offset < count else { return nil }
        let at = bytes + offset
        let header = at.load(as: ShardRecordHeader.self)
        offset += Int(header.size)
        return (header, at + ShardRecord.headerSize)
    }

    /// A segment record's segment, its payload in the batch.
    @inline(__always)
    static func segment(at body: UnsafeRawPointer) -> TCPSegment {
        var segment = body.load(as: TCPSegment.self)
        segment.payload = UnsafeRawBufferPointer(start: body + ShardRecord.segmentSize, count: segment.payload.count)
        return segment
    }

    static func time(at body: UnsafeRawPointer) -> Timestamp {
        Timestamp(nanoseconds: body.load(as: Int64.self))
    }

    static func secrets(at body: UnsafeRawPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: body + 16, count: body.load(as: Int.self))
    }
}
