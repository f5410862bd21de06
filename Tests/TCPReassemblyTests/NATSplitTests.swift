// A NAT's two copies of one connection have other addresses: a replay split by connection puts them in
// different reassemblers, where neither finds the other. `NATTableUse.splitMayDiffer` finds every such
// case (and those where unrelated connections on the same table entry change what one reassembler finds).

import PacketDecoding
import Testing
@testable import TCPReassembly

@Suite struct NATSplitTests {
    struct Segment {
        var from: Endpoint, to: Endpoint, seq: UInt32, ack: UInt32?, flags: TCPFlags, text: String, microsecond: Int64
    }

    static let client = NATCopyTests.client, published = NATCopyTests.published, container = NATCopyTests.container
    static let other = Endpoint(address: IPAddress(ipv4: 0x0A4D_0009), port: 50001)

    /// A connection from `client` through a DNAT, both copies seen (`fromSYN`: from the SYN; else mid-stream).
    static func throughDNAT(fromSYN: Bool, isn: UInt32 = 1000, at start: Int64 = 0) -> [Segment] {
        let c = client, p = published, k = container
        var s: [Segment] = []
        var t = start
        if fromSYN {
            s += [.init(from: c, to: p, seq: isn, ack: nil, flags: .syn, text: "", microsecond: t),
                  .init(from: c, to: k, seq: isn, ack: nil, flags: .syn, text: "", microsecond: t + 5)]
            t += 100
            s += [.init(from: k, to: c, seq: 9000, ack: isn + 1, flags: .syn, text: "", microsecond: t),
                  .init(from: p, to: c, seq: 9000, ack: isn + 1, flags: .syn, text: "", microsecond: t + 5)]
        }
        t += 100
        let request = "GET /hello HTTP/1.1\r\nHost: 10.77.0.1:8080\r\n\r\n"
        s += [.init(from: c, to: p, seq: isn + 1, ack: 9001, flags: .psh, text: request, microsecond: t),
              .init(from: c, to: k, seq: isn + 1, ack: 9001, flags: .psh, text: request, microsecond: t + 5)]
        return s
    }

    /// Feeds `segments` (packet ordinals from 1) to `workers` reassemblers by `shard`; their table uses.
    static func uses(_ segments: [Segment], workers: Int, shard: (Segment) -> Int) -> [[NATTableUse]] {
        let orders = (0..<workers).map { _ in EventOrder() }
        let parts = orders.map {
            TCPReassembler(factory: RecordingFactory(), order: $0, sweepsOnItsOwn: false, recordsNATTableUses: true)
        }
        for (ordinal, s) in segments.enumerated() {
            let w = shard(s)
            orders[w].packet = UInt64(ordinal + 1)
            NATCopyTests.send(parts[w], s.from, s.to, seq: s.seq, ack: s.ack, s.flags, s.text, at: s.microsecond)
        }
        return parts.map { $0.natTableUses! }
    }

    /// The copy before the NAT in pipeline 0, the one after it in pipeline 1.
    static func byCopy(_ s: Segment) -> Int { s.from == published || s.to == published ? 0 : 1 }

    @Test(arguments: [true, false]) func copiesSplitOverTwoPipelinesAreFound(fromSYN: Bool) {
        let uses = Self.uses(Self.throughDNAT(fromSYN: fromSYN), workers: 2, shard: Self.byCopy)
        #expect(NATTableUse.splitMayDiffer(uses))
    }

    @Test(arguments: [true, false]) func copiesInOnePipelineAreLeftToIt(fromSYN: Bool) {
        let uses = Self.uses(Self.throughDNAT(fromSYN: fromSYN), workers: 2) { _ in 1 }
        #expect(!NATTableUse.splitMayDiffer(uses))
    }

    @Test func unrelatedConnectionsSplitOverPipelinesAreNoCase() {
        var segments: [Segment] = []
        for i in 0..<50 {
            let client = Endpoint(address: IPAddress(ipv4: 0x0A00_0100 + UInt32(i)), port: 40000 + UInt16(i))
            let t = Int64(i) * 10
            segments += [.init(from: client, to: Self.container, seq: 7000 + UInt32(i) * 77_777, ack: nil, flags: .syn, text: "", microsecond: t),
                         .init(from: Self.container, to: client, seq: 900 + UInt32(i) * 55_555, ack: 7001 + UInt32(i) * 77_777, flags: .syn, text: "", microsecond: t + 1)]
        }
        let uses = Self.uses(segments, workers: 3) { Int($0.from.address == Self.container.address ? $0.to.port : $0.from.port) % 3 }
        #expect(uses.allSatisfy { !$0.isEmpty })
        #expect(!NATTableUse.splitMayDiffer(uses))
    }

    /// Between the two copies' SYNs (both in pipeline 0), another connection's SYN on the same table
    /// entry (in pipeline 1): one reassembler lost the first copy's entry to it, pipeline 0 did not.
    @Test func anotherPipelinesOpeningOnTheSameEntryIsFound() {
        func entry(_ isn: UInt32) -> Int {
            NATCopyDetector.slotIndex(UInt64(isn) << 32 | UInt64(64240) << 16 | 1)
        }
        let isn: UInt32 = 1000
        let clash = ((isn + 1)...).first { entry($0) == entry(isn) }!
        var segments = Self.throughDNAT(fromSYN: true, isn: isn)
        segments.insert(.init(from: Self.other, to: Self.container, seq: clash, ack: nil, flags: .syn, text: "", microsecond: 2), at: 1)
        let split = Self.uses(segments, workers: 2) { $0.from == Self.other ? 1 : 0 }
        #expect(NATTableUse.splitMayDiffer(split))
        // All in one pipeline, what one reassembler does.
        let together = Self.uses(segments, workers: 2) { _ in 0 }
        #expect(!NATTableUse.splitMayDiffer(together))
    }
}
