/// IP fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5) by packet time, bounded in datagrams and bytes.
///
/// Fragments come off the layered path only (the plain IPv4 path declines them), so none of this
/// costs the common packet anything. A completed datagram is written into a buffer the
/// reassembler owns and decoded from there like any packet: an outer tunnel packet or an inner
/// one, IPv4 or IPv6.

/// One fragment as the IP layer found it: where its headers are in its frame, nothing read yet.
/// Small on purpose: it is a case of `LayerResult`, which every packet of the layered path builds
/// and copies, so its fields are read out of line, by the reassembler (`IPFragmentFields`).
@usableFromInline
internal struct IPFragment {
    @usableFromInline let isIPv6: Bool
    /// Where the IP header starts.
    @usableFromInline let header: Int
    /// IPv4: where its header ends (the data starts); IPv6: where the fragment header starts.
    @usableFromInline let headerEnd: Int
    /// Where the packet says it ends (possibly past the capture, never past the original packet).
    @usableFromInline let end: Int

    @inlinable
    init(isIPv6: Bool, header: Int, headerEnd: Int, end: Int) {
        self.isIPv6 = isIPv6
        self.header = header
        self.headerEnd = headerEnd
        self.end = end
    }
}

/// A fragment's fields, read from its headers (already checked to be inside the capture).
///
/// ```
/// IPv4 (RFC 791):  |         Identification        |Flags|      Fragment Offset    |   (bytes 4-7)
/// IPv6 (RFC 8200 §4.5), the fragment header:
///                  |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
///                  |                         Identification                        |
/// ```
struct IPFragmentFields {
    var source: IPAddress
    var destination: IPAddress
    var identification: UInt32
    /// IPv4: the header's protocol; IPv6: the fragment header's next header.
    var protocolNumber: UInt8
    /// The header the datagram is rebuilt with: IPv4's whole header (options too), IPv6's fixed 40
    /// bytes (the unfragmentable extension headers are left out: nothing after the IP layer reads them).
    var headerStart: Int
    var headerLength: Int
    /// Bytes before the fragmentable part that count towards the 65,535 bound: IPv4's header,
    /// IPv6's unfragmentable extension headers.
    var lengthBefore: Int
    /// The fragment's data: where it starts and where the packet says it ends.
    var dataStart: Int
    var dataEnd: Int
    /// Its place in the datagram's fragmentable part, in bytes.
    var offset: Int
    var moreFragments: Bool

    init(_ fragment: IPFragment, in frame: Frame) {
        let ip = fragment.header
        headerStart = ip
        dataEnd = fragment.end
        if fragment.isIPv6 {
            let header = fragment.headerEnd
            let field = frame.be16(header + 2)
            source = IPAddress(ipv6High: frame.be64(ip + 8), low: frame.be64(ip + 16))
            destination = IPAddress(ipv6High: frame.be64(ip + 24), low: frame.be64(ip + 32))
            identification = frame.be32(header + 4)
            protocolNumber = frame.u8(header)
            headerLength = 40
            lengthBefore = header - ip - 40
            dataStart = header + 8
            offset = Int(field & 0xFFF8)
            moreFragments = field & 1 != 0
        } else {
            let flags = frame.be16(ip + 6)
            source = IPAddress(ipv4: frame.be32(ip + 12))
            destination = IPAddress(ipv4: frame.be32(ip + 16))
            identification = UInt32(frame.be16(ip + 4))
            protocolNumber = frame.u8(ip + 9)
            headerLength = fragment.headerEnd - ip
            lengthBefore = headerLength
            dataStart = fragment.headerEnd
            offset = Int(flags & 0x1FFF) << 3
            moreFragments = flags & 0x2000 != 0
        }
    }
}

/// Reassembles IPv4 datagrams (keyed by source, destination, protocol and identification,
/// RFC 791) and IPv6 ones (source, destination and identification, RFC 8200 §4.5): holes are
/// tracked by the fragments held, and a datagram is complete when its last fragment (MF clear)
/// has come and the fragments held cover every byte before its end.
///
/// A value type (copy on write); its state is allocated at the first fragment, so a decoder that
/// never sees one carries a nil reference. The completed datagram lives in a buffer of the
/// reassembler's: it, and a segment decoded from it, are valid until the next datagram
/// completes (the next `decode` call at the earliest), as a captured packet's bytes are.
/// Fragments are copied (they must outlive their packet); only fragments pay for that.
public struct FragmentReassembler: @unchecked Sendable {
    // @unchecked: `table` is copied before any mutation when shared (`isKnownUniquelyReferenced`),
    // so a copy behaves as a value, as an Array does.
    public var limits: FragmentLimits
    @usableFromInline var table: FragmentTable?

    public init(limits: FragmentLimits = .standard) {
        self.limits = limits
    }

    /// Datagrams being reassembled now.
    public var heldDatagrams: Int { table?.datagrams.count ?? 0 }
    /// Bytes held for them (counted against `limits.maxBytes`).
    public var heldBytes: Int { table?.heldBytes ?? 0 }
    /// Fragments held for them.
    public var heldFragments: Int { table?.datagrams.values.reduce(0) { $0 + $1.pieces.count } ?? 0 }

    /// Takes `fragment` of `frame`: the completed datagram as a frame of its own (IPv4 or IPv6
    /// at offset 0, stamped with this fragment's time) when this fragment completes it; nil when
    /// it is held or dropped (counted in `counters`).
    @usableFromInline
    mutating func reassemble(_ fragment: IPFragment, of frame: Frame, counters: inout DecodeCounters) -> Frame? {
        guard limits.maxDatagrams > 0 else { return nil }
        if table == nil {
            table = FragmentTable()
        } else if !isKnownUniquelyReferenced(&table!) {
            table = table!.copy()
        }
        return table!.add(fragment, of: frame, limits: limits, counters: &counters)
    }

    /// Drops every datagram not complete within the timeout by `now` (counted as `timeout`).
    /// Fragments do this themselves; this is for time passing without them.
    public mutating func expire(now: Timestamp, counters: inout DecodeCounters) {
        guard table != nil else { return }
        if !isKnownUniquelyReferenced(&table!) { table = table!.copy() }
        table!.expire(now: now, limits: limits, counters: &counters)
    }
}

/// Identifies the datagram a fragment belongs to.
struct FragmentKey: Hashable {
    var source: IPAddress
    var destination: IPAddress
    var identification: UInt32
    /// IPv4's protocol; `ipv6ProtocolNumber`: IPv6 (its key has none), told apart from IPv4 by the addresses too.
    var protocolNumber: UInt16

    static let ipv6ProtocolNumber: UInt16 = 0x100
    var isIPv6: Bool { protocolNumber == Self.ipv6ProtocolNumber }
}

/// A datagram being reassembled.
struct PartialDatagram {
    /// The first fragment's time: the timeout runs from it (as Linux's timer starts with the queue).
    var firstSeen: Timestamp
    /// The header of the fragment at offset 0 (empty until it comes), and its protocol number.
    var header: [UInt8] = []
    var protocolNumber: UInt8 = 0
    /// The fragmentable part, as long as the highest end seen.
    var data: [UInt8] = []
    /// The fragments held, by their byte ranges in `data`: sorted, disjoint.
    var pieces: [Range<Int>] = []
    /// Their lengths, summed.
    var received = 0
    /// The end of the last fragment (MF clear), once it came.
    var end: Int?

    /// What holding it costs: its bytes, and what a datagram and each of its pieces cost besides
    /// (its table entry, three arrays' headers and allocation rounding: about 700 bytes of RSS for
    /// a datagram of 64 bytes), as Linux counts a fragment queue by its buffers' true size.
    /// Without it, `maxBytes` of 64 MiB let 800,000 datagrams of 64 bytes take 585 MB; with it, 101 MB.
    var heldBytes: Int { Self.cost(data: data.count, header: header.count, pieces: pieces.count) }

    static let overhead = 512
    static let pieceOverhead = 16

    static func cost(data: Int, header: Int, pieces: Int) -> Int { data + header + overhead + pieces * pieceOverhead }
}

/// The reassembler's state: a class so the completed datagram's buffer has a fixed address.
@usableFromInline
final class FragmentTable {
    var datagrams: [FragmentKey: PartialDatagram] = [:]
    var heldBytes = 0
    /// The earliest time a datagram held can time out (`Int64.max`: none held).
    var nextExpiry = Int64.max
    /// The completed datagram: the largest is a 40-byte IPv6 header and 65,535 bytes.
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 40 + 65_535, alignment: 8)

    init() {}

    deinit { output.deallocate() }

    func copy() -> FragmentTable {
        let copy = FragmentTable()
        copy.datagrams = datagrams
        copy.heldBytes = heldBytes
        copy.nextExpiry = nextExpiry
        return copy
    }

    func add(_ found: IPFragment, of frame: Frame, limits: FragmentLimits, counters: inout DecodeCounters) -> Frame? {
        let fragment = IPFragmentFields(found, in: frame)
        let isIPv6 = found.isIPv6
        let now = frame.timestamp
        if now.nanoseconds >= nextExpiry { expire(now: now, limits: limits, counters: &counters) }
        counters.fragments &+= 1
        let length = fragment.dataEnd - fragment.dataStart
        guard fragment.dataEnd <= frame.bytes.count else {
            counters[droppedFragments: .truncated] &+= 1
            return nil
        }
        // RFC 8200 §4.5: a fragment other than the last must be a multiple of 8 bytes long.
        guard length > 0, !fragment.moreFragments || length & 7 == 0 else {
            counters[droppedFragments: .malformed] &+= 1
            return nil
        }
        let start = fragment.offset
        let end = start + length
        let key = FragmentKey(
            source: fragment.source, destination: fragment.destination, identification: fragment.identification,
            protocolNumber: isIPv6 ? FragmentKey.ipv6ProtocolNumber : UInt16(fragment.protocolNumber))
        guard fragment.lengthBefore + end <= 65_535 else {
            drop(key, reason: .tooLarge, counters: &counters)
            return nil
        }
        var datagram: PartialDatagram
        if let held = datagrams[key] {
            datagram = held
        } else {
            guard datagrams.count < limits.maxDatagrams else {
                counters[droppedFragments: .datagramLimit] &+= 1
                return nil
            }
            datagram = PartialDatagram(firstSeen: now)
            nextExpiry = Swift.min(nextExpiry, now.nanoseconds &+ limits.timeoutNanoseconds(ipv6: isIPv6))
        }
        // The last fragment fixes the end; nothing may lie past it, nor may another last fragment move it.
        let highest = datagram.pieces.last?.upperBound ?? 0
        if let known = datagram.end {
            guard end <= known, fragment.moreFragments || end == known else {
                drop(key, datagram, adding: 1, reason: .malformed, counters: &counters)
                return nil
            }
        } else if !fragment.moreFragments, end < highest {
            drop(key, datagram, adding: 1, reason: .malformed, counters: &counters)
            return nil
        }
        // Its place among the fragments held: the first that starts at or after it.
        var low = 0
        var high = datagram.pieces.count
        while low < high {
            let middle = (low + high) / 2
            if datagram.pieces[middle].lowerBound < start { low = middle + 1 } else { high = middle }
        }
        if low < datagram.pieces.count, datagram.pieces[low] == start..<end {
            counters[droppedFragments: .duplicate] &+= 1
            // Held with its datagram unchanged: a new entry would have been stored below.
            return nil
        }
        if (low > 0 && datagram.pieces[low - 1].upperBound > start)
            || (low < datagram.pieces.count && datagram.pieces[low].lowerBound < end)
        {
            drop(key, datagram, adding: 1, reason: .overlap, counters: &counters)
            return nil
        }
        guard datagram.pieces.count < limits.maxFragmentsPerDatagram else {
            drop(key, datagram, adding: 1, reason: .fragmentLimit, counters: &counters)
            return nil
        }
        let before = datagrams[key] == nil ? 0 : datagram.heldBytes
        let after = PartialDatagram.cost(
            data: Swift.max(datagram.data.count, end), header: start == 0 ? fragment.headerLength : datagram.header.count,
            pieces: datagram.pieces.count + 1)
        guard heldBytes - before + after <= limits.maxBytes else {
            drop(key, datagram, adding: 1, reason: .byteLimit, counters: &counters)
            return nil
        }
        // Held: copy the data (and the header of the first fragment) out of the packet.
        datagrams[key] = nil  // keeps `datagram`'s arrays uniquely referenced while they grow
        if datagram.data.count < end { datagram.data.append(contentsOf: repeatElement(0, count: end - datagram.data.count)) }
        datagram.data.withUnsafeMutableBytes { data in
            data.baseAddress!.advanced(by: start).copyMemory(
                from: frame.bytes.baseAddress!.advanced(by: fragment.dataStart), byteCount: length)
        }
        if start == 0 {
            datagram.header = Array(frame.bytes[fragment.headerStart..<fragment.headerStart + fragment.headerLength])
            datagram.protocolNumber = fragment.protocolNumber
        }
        datagram.pieces.insert(start..<end, at: low)
        datagram.received += length
        if !fragment.moreFragments { datagram.end = end }
        heldBytes += datagram.heldBytes - before
        guard let total = datagram.end, datagram.received == total, !datagram.header.isEmpty else {
            datagrams[key] = datagram
            return nil
        }
        // Complete: the pieces are disjoint, inside 0..<total and add up to it, so they cover it.
        heldBytes -= datagram.heldBytes
        // The bound was checked against each fragment's own header; the first fragment's, which
        // the datagram gets, may be longer (IPv4 options): a total length past 65,535 again.
        guard isIPv6 || datagram.header.count + total <= 65_535 else {
            counters[droppedFragments: .tooLarge] &+= UInt64(datagram.pieces.count)
            return nil
        }
        counters.reassembledDatagrams &+= 1
        return write(datagram, total: total, isIPv6: isIPv6, timestamp: now)
    }

    /// The datagram in `output`: its first fragment's header, told it is whole, then the data.
    private func write(_ datagram: PartialDatagram, total: Int, isIPv6: Bool, timestamp: Timestamp) -> Frame {
        let headerLength = datagram.header.count
        datagram.header.withUnsafeBytes { output.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: headerLength) }
        datagram.data.withUnsafeBytes {
            output.baseAddress!.advanced(by: headerLength).copyMemory(from: $0.baseAddress!, byteCount: total)
        }
        if isIPv6 {
            // Payload length, next header: the fragment header and the extension headers before it are gone.
            output.storeBytes(of: UInt16(total).bigEndian, toByteOffset: 4, as: UInt16.self)
            output[6] = datagram.protocolNumber
        } else {
            output.storeBytes(of: UInt16(headerLength + total).bigEndian, toByteOffset: 2, as: UInt16.self)
            // Flags and offset: no more fragments, offset 0 (DF kept as it was).
            output[6] &= 0x40
            output[7] = 0
        }
        let bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(output)[0..<headerLength + total])
        return Frame(bytes: bytes, wireLength: bytes.count, timestamp: timestamp)
    }

    /// Drops the datagram of `key`, if held, counting its fragments (and `adding` more, the one
    /// that brought it down) as dropped for `reason`.
    private func drop(_ key: FragmentKey, reason: FragmentDrop, counters: inout DecodeCounters) {
        if let datagram = datagrams[key] {
            drop(key, datagram, adding: 1, reason: reason, counters: &counters)
        } else {
            counters[droppedFragments: reason] &+= 1
        }
    }

    private func drop(
        _ key: FragmentKey, _ datagram: PartialDatagram, adding: Int, reason: FragmentDrop, counters: inout DecodeCounters
    ) {
        if datagrams.removeValue(forKey: key) != nil { heldBytes -= datagram.heldBytes }
        counters[droppedFragments: reason] &+= UInt64(datagram.pieces.count + adding)
    }

    func expire(now: Timestamp, limits: FragmentLimits, counters: inout DecodeCounters) {
        guard now.nanoseconds >= nextExpiry else { return }
        let ipv4Timeout = limits.timeoutNanoseconds(ipv6: false)
        let ipv6Timeout = limits.timeoutNanoseconds(ipv6: true)
        var next = Int64.max
        for (key, datagram) in datagrams {
            let expiry = datagram.firstSeen.nanoseconds &+ (key.isIPv6 ? ipv6Timeout : ipv4Timeout)
            if expiry <= now.nanoseconds {
                drop(key, datagram, adding: 0, reason: .timeout, counters: &counters)
            } else {
                next = Swift.min(next, expiry)
            }
        }
        nextExpiry = next
    }
}
