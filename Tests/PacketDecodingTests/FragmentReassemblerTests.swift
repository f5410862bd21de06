// IP fragment reassembly: in order, out of order, duplicates, overlaps, the timeout, every bound,
// IPv6 (and its atomic fragments), outer tunnel packets and inner ones; fragments are counted.
import Testing

@testable import PacketDecoding

@Suite struct FragmentReassemblerTests {
    typealias B = PacketBytes

    /// A TCP segment whose payload is `size` bytes of a pattern: the datagram's payload.
    static func segmentBytes(_ size: Int) -> [UInt8] {
        B.tcp(payload: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) })
    }

    /// `data` cut into pieces of `sizes` (the last takes the rest; each but the last a multiple of 8).
    static func pieces(_ data: [UInt8], sizes: [Int]) -> [(offset: Int, bytes: [UInt8], more: Bool)] {
        var result: [(Int, [UInt8], Bool)] = []
        var start = 0
        for size in sizes where start < data.count {
            let end = min(start + size, data.count)
            result.append((start, Array(data[start..<end]), end < data.count))
            start = end
        }
        if start < data.count { result.append((start, Array(data[start...]), false)) }
        return result
    }

    /// Ethernet + IPv4 fragments of a datagram carrying `data` as `proto`, identification `id`.
    static func ipv4Fragments(
        _ data: [UInt8], sizes: [Int], proto: UInt8 = 6, id: Int = 0x1234, source: [UInt8] = B.clientV4,
        destination: [UInt8] = B.serverV4
    ) -> [[UInt8]] {
        pieces(data, sizes: sizes).map { piece in
            var ip = B.ipv4(
                protocol: proto, source: source, destination: destination,
                flagsAndOffset: (piece.more ? 0x2000 : 0) | piece.offset >> 3, payload: piece.bytes)
            ip[4] = UInt8(id >> 8)
            ip[5] = UInt8(id & 0xFF)
            return B.ethernet(type: 0x0800, payload: ip)
        }
    }

    /// Ethernet + IPv6 fragments (a fragment header right after the fixed header, `extensions` before it).
    static func ipv6Fragments(_ data: [UInt8], sizes: [Int], next: UInt8 = 6, extensions: [UInt8] = []) -> [[UInt8]] {
        pieces(data, sizes: sizes).map { piece in
            let first: UInt8 = extensions.isEmpty ? 44 : 0
            var ext = extensions
            if !ext.isEmpty { ext[0] = 44 }
            return B.ethernet(
                type: 0x86DD,
                payload: B.ipv6(
                    nextHeader: first,
                    extensions: ext + B.fragmentHeader(next: next, offset: piece.offset >> 3, more: piece.more),
                    payload: piece.bytes))
        }
    }

    /// Decodes `packets` in order (at `times`, in seconds, when given) with `decoder`: the
    /// payloads of the segments that came out, copied.
    static func run(
        _ packets: [[UInt8]], _ decoder: inout PacketDecoder, times: [Int64]? = nil, linkType: LinkType = .ethernet
    ) -> [[UInt8]] {
        var payloads: [[UInt8]] = []
        for (index, packet) in packets.enumerated() {
            let time = Timestamp(seconds: 1_700_000_000 + (times?[index] ?? 0), nanoseconds: 0)
            packet.withUnsafeBytes { raw in
                if let segment = decoder.decode(raw, originalLength: raw.count, linkType: linkType, timestamp: time) {
                    payloads.append(Array(segment.payload))
                    #expect(segment.payload.count == segment.payloadLength)
                    #expect(segment.timestamp == time)
                }
            }
        }
        return payloads
    }

    static let data = segmentBytes(4000)
    static let expected = Array(data[20...])

    @Test(arguments: [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]])
    func ipv4InAnyOrder(order: [Int]) {
        let fragments = Self.ipv4Fragments(Self.data, sizes: [1480, 1480, 512])
        #expect(fragments.count == 4)
        var decoder = PacketDecoder()
        let payloads = Self.run(order.map { fragments[$0] }, &decoder)
        #expect(payloads == [Self.expected])
        #expect(decoder.counters.fragments == 4)
        #expect(decoder.counters.reassembledDatagrams == 1)
        #expect(decoder.counters[.ipv4Fragment] == 3)
        #expect(decoder.counters.tcpSegments == 1)
        #expect(decoder.counters.tcpPayloadBytes == UInt64(Self.expected.count))
        #expect(decoder.counters.droppedFragments == 0)
        #expect(decoder.fragments.heldDatagrams == 0 && decoder.fragments.heldBytes == 0)
    }

    @Test(arguments: [[0, 1, 2, 3], [3, 1, 2, 0]])
    func ipv6InAnyOrder(order: [Int]) {
        // A hop-by-hop header before the fragment header: unfragmentable, left out of the datagram.
        for extensions in [[], B.extensionHeader(next: 44)] {
            let fragments = Self.ipv6Fragments(Self.data, sizes: [1232, 1232, 1232], extensions: extensions)
            var decoder = PacketDecoder()
            let payloads = Self.run(order.map { fragments[$0] }, &decoder)
            #expect(payloads == [Self.expected])
            #expect(decoder.counters.fragments == 4 && decoder.counters.reassembledDatagrams == 1)
            #expect(decoder.counters[.ipv6Fragment] == 3)
        }
    }

    /// RFC 8200 §4.5 / RFC 6946: an atomic fragment (offset 0, M clear) is the whole packet, decoded as it is.
    @Test func ipv6AtomicFragmentPassesThrough() {
        let packet = Self.ipv6Fragments(Self.segmentBytes(100), sizes: [])
        #expect(packet.count == 1)
        var decoder = PacketDecoder()
        let payloads = Self.run(packet, &decoder)
        #expect(payloads == [Array(Self.segmentBytes(100)[20...])])
        #expect(decoder.counters.fragments == 0 && decoder.counters.reassembledDatagrams == 0)
    }

    @Test func duplicateIsIgnored() {
        let f = Self.ipv4Fragments(Self.data, sizes: [1480, 1480])
        var decoder = PacketDecoder()
        let payloads = Self.run([f[0], f[1], f[1], f[0], f[2]], &decoder)
        #expect(payloads == [Self.expected])
        #expect(decoder.counters[droppedFragments: .duplicate] == 2)
        #expect(decoder.counters.fragments == 5 && decoder.counters.reassembledDatagrams == 1)
    }

    /// An overlap that is not a duplicate drops the whole datagram, IPv4 and IPv6 alike (RFC 5722, Linux).
    @Test func overlapDropsTheDatagram() {
        let whole = Self.ipv4Fragments(Self.data, sizes: [1480, 1480])
        let shifted = Self.ipv4Fragments(Self.data, sizes: [1472, 1480])  // its second fragment starts 8 bytes early
        var decoder = PacketDecoder()
        var payloads = Self.run([whole[0], whole[1], shifted[1], whole[2]], &decoder)
        #expect(payloads.isEmpty)
        #expect(decoder.counters[droppedFragments: .overlap] == 3)
        // What came after the drop began a datagram of its own, which cannot complete.
        #expect(decoder.fragments.heldDatagrams == 1 && decoder.fragments.heldFragments == 1)

        let v6 = Self.ipv6Fragments(Self.data, sizes: [1232, 1232, 1232])
        let v6Shifted = Self.ipv6Fragments(Self.data, sizes: [1224, 1232])
        decoder = PacketDecoder()
        payloads = Self.run([v6[0], v6[1], v6Shifted[1], v6[2], v6[3]], &decoder)
        #expect(payloads.isEmpty)
        #expect(decoder.counters[droppedFragments: .overlap] == 3)
    }

    /// Fragments of one datagram with a second last fragment elsewhere, or data past the last one.
    @Test func conflictingEndsAreMalformed() {
        let f = Self.ipv4Fragments(Self.data, sizes: [1480, 1480])
        let shorter = Self.ipv4Fragments(Array(Self.data[..<3000]), sizes: [1480, 1480])
        var decoder = PacketDecoder()
        _ = Self.run([f[2], shorter[2]], &decoder)
        #expect(decoder.counters[droppedFragments: .malformed] == 2)
        #expect(decoder.fragments.heldDatagrams == 0)
        // A fragment other than the last whose length is not a multiple of 8: itself only.
        decoder = PacketDecoder()
        let odd = Self.ipv4Fragments(Self.data, sizes: [1479])
        _ = Self.run([odd[0]], &decoder)
        #expect(decoder.counters[droppedFragments: .malformed] == 1)
    }

    /// By packet time: 30 s after its first fragment an IPv4 datagram is given up.
    @Test func timeout() {
        let f = Self.ipv4Fragments(Self.data, sizes: [1480, 1480])
        var decoder = PacketDecoder()
        #expect(Self.run(f, &decoder, times: [0, 10, 29]) == [Self.expected])
        decoder = PacketDecoder()
        #expect(Self.run(f, &decoder, times: [0, 10, 30]).isEmpty)
        #expect(decoder.counters[droppedFragments: .timeout] == 2)
        #expect(decoder.fragments.heldFragments == 1)
        // Time passing without fragments: the idle tick.
        decoder.expireFragments(now: Timestamp(seconds: 1_700_000_060, nanoseconds: 0))
        #expect(decoder.counters[droppedFragments: .timeout] == 3)
        #expect(decoder.fragments.heldDatagrams == 0 && decoder.fragments.heldBytes == 0)
    }

    /// IPv6 datagrams get 60 s, as Linux gives them (`net.ipv6.ip6frag_time`; IPv4's `ipfrag_time`
    /// is 30 s). Seen fail with one timeout for both: the datagram completed at 45 s was given up at 30.
    @Test func ipv6Timeout() {
        let f = Self.ipv6Fragments(Self.data, sizes: [1232, 1232, 1232])
        var decoder = PacketDecoder()
        #expect(Self.run(f, &decoder, times: [0, 10, 45, 59]) == [Self.expected])
        #expect(decoder.counters[droppedFragments: .timeout] == 0)
        decoder = PacketDecoder()
        #expect(Self.run(f, &decoder, times: [0, 10, 45, 60]).isEmpty)
        #expect(decoder.counters[droppedFragments: .timeout] == 3)
        // An IPv4 and an IPv6 datagram held together: each by its own timeout.
        decoder = PacketDecoder()
        let v4 = Self.ipv4Fragments(Self.data, sizes: [1480, 1480])
        _ = Self.run([v4[0], f[0]], &decoder)
        decoder.expireFragments(now: Timestamp(seconds: 1_700_000_030, nanoseconds: 0))
        #expect(decoder.counters[droppedFragments: .timeout] == 1 && decoder.fragments.heldDatagrams == 1)
        #expect(Self.run(Array(f[1...]), &decoder, times: [59, 59, 59]) == [Self.expected])
    }

    @Test func datagramLimit() {
        var decoder = PacketDecoder(fragmentLimits: FragmentLimits(maxDatagrams: 2))
        let firsts = (0..<3).map { Self.ipv4Fragments(Self.data, sizes: [1480, 1480], id: $0)[0] }
        _ = Self.run(firsts, &decoder)
        #expect(decoder.counters[droppedFragments: .datagramLimit] == 1)
        #expect(decoder.fragments.heldDatagrams == 2)
        // The datagrams held still complete.
        let rest = Array(Self.ipv4Fragments(Self.data, sizes: [1480, 1480], id: 0)[1...])
        #expect(Self.run(rest, &decoder) == [Self.expected])
    }

    @Test func byteLimit() {
        // What a datagram of two pieces costs besides its bytes.
        let overhead = PartialDatagram.overhead + 2 * PartialDatagram.pieceOverhead
        var decoder = PacketDecoder(fragmentLimits: FragmentLimits(maxBytes: 3000 + overhead))
        let f = Self.ipv4Fragments(Self.data, sizes: [1480, 1480])
        #expect(Self.run(f, &decoder).isEmpty)
        // 1,480 + 20 bytes held, the second fragment takes it to 2,960 + 20, the third would take it past 3,000.
        #expect(decoder.counters[droppedFragments: .byteLimit] == 3)
        #expect(decoder.fragments.heldBytes == 0)
        // A lone fragment far out holds its datagram's bytes up to its end.
        decoder = PacketDecoder(fragmentLimits: FragmentLimits(maxBytes: 3000 + overhead))
        _ = Self.run([f[2]], &decoder)
        #expect(decoder.counters[droppedFragments: .byteLimit] == 1)
    }

    /// Many small datagrams are held to `maxBytes` by what each costs, not by their few bytes.
    /// Seen fail: with `maxBytes` 64 KiB, 780 datagrams of 64 bytes (84 with their header) were
    /// held where 107 cost it; in a replay with 64 MiB, 800,000 such datagrams took 585 MB of RSS.
    @Test func smallDatagramsCountWhatHoldingThemCosts() {
        var decoder = PacketDecoder(fragmentLimits: FragmentLimits(maxDatagrams: 100_000, maxBytes: 64 << 10))
        var frames: [[UInt8]] = []
        for id in 0..<1000 { frames.append(Self.ipv4Fragments(Self.data, sizes: [64], id: id)[0]) }
        #expect(Self.run(frames, &decoder).isEmpty)
        let cost = 64 + 20 + PartialDatagram.overhead + PartialDatagram.pieceOverhead
        #expect(decoder.fragments.heldDatagrams == (64 << 10) / cost)
        #expect(decoder.fragments.heldBytes <= 64 << 10)
        #expect(decoder.counters[droppedFragments: .byteLimit] == UInt64(1000 - decoder.fragments.heldDatagrams))
    }

    @Test func fragmentLimit() {
        var decoder = PacketDecoder(fragmentLimits: FragmentLimits(maxFragmentsPerDatagram: 3))
        #expect(Self.run(Self.ipv4Fragments(Self.data, sizes: [1480, 1480]), &decoder) == [Self.expected])
        #expect(Self.run(Self.ipv4Fragments(Self.data, sizes: [1000, 1000, 1000]), &decoder).isEmpty)
        #expect(decoder.counters[droppedFragments: .fragmentLimit] == 4)
    }

    /// Past 65,535 bytes (the "ping of death"): the whole datagram goes.
    @Test func tooLarge() {
        var decoder = PacketDecoder()
        let first = Self.ipv4Fragments(Self.data, sizes: [1480, 1480])[0]
        var last = Self.ipv4Fragments(Array(repeating: 0, count: 1000), sizes: [])[0]
        // Offset 65,000 (8,125 units), MF clear: 20 + 65,000 + 1,000 > 65,535.
        last[14 + 6] = UInt8(8125 >> 8)
        last[14 + 7] = UInt8(8125 & 0xFF)
        _ = Self.run([first, last], &decoder)
        #expect(decoder.counters[droppedFragments: .tooLarge] == 2)
        #expect(decoder.fragments.heldDatagrams == 0)
    }

    /// Each fragment within 65,535 bytes with its own header, but the first fragment's header
    /// (40 bytes of options), which the datagram gets, takes it past: dropped, not trapped on.
    @Test func tooLargeWithTheFirstFragmentsHeader() {
        var decoder = PacketDecoder()
        var first = B.ethernet(
            type: 0x0800,
            payload: B.ipv4(options: Array(repeating: 1, count: 40), flagsAndOffset: 0x2000, payload: Array(repeating: 0, count: 8)))
        first[14 + 5] = 9
        var rest: [[UInt8]] = []
        // 8 bytes, then 1,000-byte pieces up to an end of 65,512 (20 + 65,512 fits, 60 + 65,512 does not).
        var offset = 8
        while offset < 65_512 {
            let length = min(1000, 65_512 - offset)
            var packet = B.ethernet(
                type: 0x0800,
                payload: B.ipv4(
                    flagsAndOffset: (offset + length < 65_512 ? 0x2000 : 0) | offset >> 3,
                    payload: Array(repeating: 0, count: length)))
            packet[14 + 5] = 9
            rest.append(packet)
            offset += length
        }
        #expect(Self.run([first] + rest, &decoder).isEmpty)
        #expect(decoder.counters.reassembledDatagrams == 0)
        #expect(decoder.counters[droppedFragments: .tooLarge] == UInt64(1 + rest.count))
        #expect(decoder.fragments.heldDatagrams == 0 && decoder.fragments.heldBytes == 0)
    }

    @Test func truncatedFragment() {
        var decoder = PacketDecoder()
        let f = Self.ipv4Fragments(Self.data, sizes: [1480, 1480])
        f[1].withUnsafeBytes { raw in
            let cut = UnsafeRawBufferPointer(rebasing: raw[..<200])
            #expect(decoder.decode(cut, originalLength: raw.count, linkType: .ethernet, timestamp: .zero) == nil)
        }
        #expect(decoder.counters[droppedFragments: .truncated] == 1)
        #expect(decoder.counters[.ipv4Fragment] == 1)
    }

    /// With reassembly off, fragments are dropped as before it existed.
    @Test func off() {
        var decoder = PacketDecoder(fragmentLimits: .off)
        #expect(Self.run(Self.ipv4Fragments(Self.data, sizes: [1480, 1480]), &decoder).isEmpty)
        #expect(decoder.counters[.ipv4Fragment] == 3 && decoder.counters.fragments == 0)
    }

    /// Datagrams of different identifications, protocols or addresses do not mix.
    @Test func keysKeepDatagramsApart() {
        let a = Self.ipv4Fragments(Self.data, sizes: [1480, 1480], id: 1)
        let b = Self.ipv4Fragments(Self.data, sizes: [1480, 1480], id: 2)
        let otherHost = Self.ipv4Fragments(Self.data, sizes: [1480, 1480], id: 1, source: [10, 0, 0, 9])
        var decoder = PacketDecoder()
        let payloads = Self.run([a[0], b[1], otherHost[2], a[1], b[0], otherHost[0], a[2], otherHost[1], b[2]], &decoder)
        #expect(payloads == [Self.expected, Self.expected, Self.expected])
        #expect(decoder.counters.droppedFragments == 0)
    }

    /// Linux's vxlan device sets no DF: the kernel fragments the outer UDP packet. The datagram
    /// reassembled is opened like any tunnel packet.
    @Test func outerTunnelPacket() {
        let inner = B.ethernet(type: 0x0800, payload: B.ipv4(payload: Self.segmentBytes(1400)))
        let udp = B.udp(destinationPort: 4789, payload: B.vxlan(payload: inner))
        let fragments = Self.ipv4Fragments(udp, sizes: [1000], proto: 17, source: TunnelTests.nodeA, destination: TunnelTests.nodeB)
        var decoder = PacketDecoder()
        #expect(Self.run(fragments.reversed(), &decoder) == [Array(Self.segmentBytes(1400)[20...])])
        #expect(decoder.counters[decapsulated: .vxlan] == 1 && decoder.counters.reassembledDatagrams == 1)
        // IPv6 underlay.
        let v6 = Self.ipv6Fragments(udp, sizes: [1000], next: 17)
        decoder = PacketDecoder()
        #expect(Self.run(v6, &decoder) == [Array(Self.segmentBytes(1400)[20...])])
    }

    /// Inner packets fragmented before they went into the tunnel (GRE, each fragment its own outer packet).
    @Test func innerPacketInsideTunnel() {
        let fragments = Self.ipv4Fragments(Self.data, sizes: [1480, 1480]).map {
            TunnelTests.overIPv4(47, B.gre(payload: Array($0[14...])))
        }
        var decoder = PacketDecoder()
        #expect(Self.run([fragments[1], fragments[2], fragments[0]], &decoder) == [Self.expected])
        #expect(decoder.counters[decapsulated: .gre] == 3 && decoder.counters.reassembledDatagrams == 1)
    }

    /// A copy of a decoder keeps its own fragments (copy on write).
    @Test func copiesAreIndependent() {
        let f = Self.ipv4Fragments(Self.data, sizes: [1480, 1480])
        var decoder = PacketDecoder()
        _ = Self.run([f[0], f[1]], &decoder)
        var copy = decoder
        #expect(Self.run([f[2]], &copy) == [Self.expected])
        #expect(copy.fragments.heldDatagrams == 0 && decoder.fragments.heldDatagrams == 1)
        #expect(Self.run([f[2]], &decoder) == [Self.expected])
    }

    /// Random fragments (random ids, offsets, lengths, flags, times) never take the reassembler past
    /// its bounds, and every fragment is accounted for: in a datagram, held, or dropped by reason.
    @Test func boundsHoldUnderRandomFragments() {
        var random = SeededGenerator(seed: 18)
        let limits = FragmentLimits(maxDatagrams: 16, maxBytes: 64 << 10, maxFragmentsPerDatagram: 32)
        var decoder = PacketDecoder(fragmentLimits: limits)
        var used: UInt64 = 0
        for round in 0..<20_000 {
            // Half of them fragments of a few well-formed datagrams (three of 64 bytes each), the
            // other half anything: ids, offsets, lengths and flags at random.
            let id: Int, length: Int, offsetUnits: Int, more: Bool
            if Bool.random(using: &random) {
                id = Int.random(in: 0..<8, using: &random)
                let piece = Int.random(in: 0..<3, using: &random)
                (length, offsetUnits, more) = (64, piece * 8, piece < 2)
            } else {
                id = Int.random(in: 8..<256, using: &random)
                length = Int.random(in: 0...3, using: &random) * 8 + Int.random(in: 0...1, using: &random) * 8 * 64
                offsetUnits = Int.random(in: 0..<12, using: &random) * (Bool.random(using: &random) ? 1 : 700)
                // Never offset 0 with MF clear: that is a whole packet, not a fragment.
                more = offsetUnits == 0 || Int.random(in: 0..<3, using: &random) > 0
            }
            var ip = B.ipv4(
                protocol: 6, flagsAndOffset: (more ? 0x2000 : 0) | (offsetUnits & 0x1FFF),
                payload: Array(repeating: UInt8(truncatingIfNeeded: round), count: length))
            ip[5] = UInt8(id)
            let packet = B.ethernet(type: 0x0800, payload: ip)
            let before = decoder.fragments.heldFragments
            let dropped = decoder.counters.droppedFragments
            let reassembled = decoder.counters.reassembledDatagrams
            packet.withUnsafeBytes { raw in
                _ = decoder.decode(
                    raw, originalLength: raw.count, linkType: .ethernet,
                    timestamp: Timestamp(seconds: Int64(round / 20), nanoseconds: 0))
            }
            if decoder.counters.reassembledDatagrams > reassembled {
                used += UInt64(before + 1) - UInt64(decoder.fragments.heldFragments)
                    - (decoder.counters.droppedFragments - dropped)
            }
            #expect(decoder.fragments.heldDatagrams <= limits.maxDatagrams)
            #expect(decoder.fragments.heldBytes <= limits.maxBytes)
        }
        let c = decoder.counters
        #expect(c.fragments == 20_000)
        #expect(c.fragments == used + UInt64(decoder.fragments.heldFragments) + c.droppedFragments)
        #expect(c.reassembledDatagrams > 0)
        for reason in [FragmentDrop.overlap, .duplicate, .malformed, .timeout, .datagramLimit, .byteLimit] {
            #expect(c[droppedFragments: reason] > 0, "\(reason): \((FragmentDrop.allCases.map { ($0.label, c[droppedFragments: $0]) }))")
        }
    }
}
