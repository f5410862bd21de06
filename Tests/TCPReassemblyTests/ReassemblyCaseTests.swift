// Table-driven reassembly cases (after gopacket reassembly/tcpassembly_test.go).

import PacketDecoding
import Testing
@testable import TCPReassembly

struct ReassemblyCase: CustomTestStringConvertible, Sendable {
    var name: String
    var packets: [Packet]
    /// What the consumer saw per direction after `finish`; `|reason` marks the end.
    var client: String
    var server: String
    var serverPorts: Set<UInt16> = []
    var roleSource: RoleSource = .handshake
    var retransmittedBytes: UInt64 = 0
    var conflictingBytes: UInt64 = 0
    var gaps: UInt64 = 0

    var testDescription: String { name }
}

/// Closes cleanly from both sides after client data up to 1012 and server data up to 5001 + `serverBytes`.
func closing(serverBytes: UInt32 = 0) -> [Packet] {
    [
        c(1012, "", .fin, ack: 5001 + serverBytes),
        s(5001 + serverBytes, "", .fin, ack: 1013),
        c(1013, ack: 5002 + serverBytes),
    ]
}

let reassemblyCases: [ReassemblyCase] = [
    ReassemblyCase(
        name: "in order",
        packets: handshake + [c(1001, "hello ", ack: 5001), c(1007, "world", ack: 5001), s(5001, "ok", ack: 1012)]
            + closing(serverBytes: 2),
        client: "hello world|fin", server: "ok|fin"),
    // Found by fuzzing real fixtures: exactly 2^31 apart, the distance was -2^31 both ways, so the
    // segment was neither after the next expected byte nor before it, and a negative overlap trapped.
    ReassemblyCase(
        name: "a segment exactly half the sequence space ahead is out of window",
        packets: handshake + [c(1001, "hello "), c(1007 &+ 0x8000_0000, "evil"), c(1007, "world")],
        client: "hello world|captureEnded", server: "|captureEnded"),
    ReassemblyCase(
        name: "reordered",
        packets: handshake + [c(1007, "world", ack: 5001), c(1001, "hello ", ack: 5001)] + closing(),
        client: "hello world|fin", server: "|fin"),
    ReassemblyCase(
        name: "duplicated segments",
        packets: handshake + [
            c(1001, "hello ", ack: 5001), c(1001, "hello ", ack: 5001), c(1007, "world", ack: 5001),
            c(1007, "world", ack: 5001),
        ],
        client: "hello world|captureEnded", server: "|captureEnded", retransmittedBytes: 11),
    ReassemblyCase(
        name: "duplicated out-of-order segment",
        packets: handshake + [c(1007, "world"), c(1007, "world"), c(1001, "hello ")],
        client: "hello world|captureEnded", server: "|captureEnded", retransmittedBytes: 5),
    ReassemblyCase(
        name: "overlap with the same bytes",
        packets: handshake + [c(1001, "hello "), c(1004, "lo world")],
        client: "hello world|captureEnded", server: "|captureEnded", retransmittedBytes: 3),
    ReassemblyCase(
        name: "overlap of buffered segments with different bytes: first copy wins",
        packets: handshake + [c(1007, "world"), c(1009, "XYZ!"), c(1001, "hello ")],
        client: "hello world!|captureEnded", server: "|captureEnded", retransmittedBytes: 3, conflictingBytes: 3),
    ReassemblyCase(
        name: "in-order segment overtakes a buffered one with different bytes",
        packets: handshake + [c(1004, "QQQworld"), c(1001, "hello ")],
        client: "hello world|captureEnded", server: "|captureEnded", retransmittedBytes: 3, conflictingBytes: 3),
    ReassemblyCase(
        name: "segment covering several buffered pieces",
        packets: handshake + [c(1003, "l"), c(1008, "o"), c(1002, "ello wor"), c(1001, "h"), c(1010, "ld")],
        client: "hello world|captureEnded", server: "|captureEnded", retransmittedBytes: 2),
    ReassemblyCase(
        name: "sequence wrap-around, reordered",
        packets: [
            c(0xFFFF_FFF8, "", .syn), s(5000, "", .syn, ack: 0xFFFF_FFF9), c(0xFFFF_FFF9, ack: 5001),
            c(3, "abcdef", ack: 5001), c(0xFFFF_FFF9, "0123456789", ack: 5001), s(5001, "", ack: 9),
            c(9, "", .fin, ack: 5001), s(5001, "", .fin, ack: 10),
        ],
        client: "0123456789abcdef|fin", server: "|fin"),
    ReassemblyCase(
        name: "SYN and SYN+ACK retransmitted",
        packets: [c(1000, "", .syn), c(1000, "", .syn), s(5000, "", .syn, ack: 1001), s(5000, "", .syn, ack: 1001),
                  c(1001, "hi", ack: 5001)],
        client: "hi|captureEnded", server: "|captureEnded"),
    ReassemblyCase(
        name: "SYN+ACK first (SYN lost): its receiver is the client",
        packets: [s(5000, "", .syn, ack: 1001), c(1001, "hi", ack: 5001), s(5001, "yo", ack: 1003)],
        client: "hi|captureEnded", server: "yo|captureEnded"),
    ReassemblyCase(
        name: "SYN captured after its SYN+ACK",
        packets: [s(5000, "", .syn, ack: 1001), c(1000, "", .syn), c(1001, "hi", ack: 5001)],
        client: "hi|captureEnded", server: "|captureEnded"),
    ReassemblyCase(
        name: "simultaneous open",
        packets: [c(1000, "", .syn), s(5000, "", .syn), c(1000, "", .syn, ack: 5001), s(5000, "", .syn, ack: 1001),
                  c(1001, "hi", ack: 5001), s(5001, "yo", ack: 1003)],
        client: "hi|captureEnded", server: "yo|captureEnded"),
    ReassemblyCase(
        name: "hole before a FIN times out",
        packets: handshake + [c(1001, "a"), c(1010, "", .fin), s(5001, "x", ms: 2500)],
        client: "a[gap 8]|fin", server: "x|captureEnded", gaps: 1),
    ReassemblyCase(
        name: "mid-connection start without a configured port: the first sender is the client",
        packets: [s(7000, "HTTP/1.1 200 OK", ack: 3000), c(3000, "GET", ack: 7015)],
        client: "HTTP/1.1 200 OK|captureEnded", server: "GET|captureEnded", roleSource: .firstSender),
    ReassemblyCase(
        name: "mid-connection start with the server port configured",
        packets: [s(7000, "HTTP/1.1 200 OK", ack: 3000), c(3000, "GET", ack: 7015)],
        client: "GET|captureEnded", server: "HTTP/1.1 200 OK|captureEnded", serverPorts: [80],
        roleSource: .configuredPort),
    ReassemblyCase(
        name: "client closes first, server sends more, then closes",
        packets: handshake + [c(1001, "hello world", ack: 5001), c(1012, "", .fin, ack: 5001),
                              s(5001, "late", ack: 1013), s(5005, "", .fin, ack: 1013), c(1013, ack: 5006)],
        client: "hello world|fin", server: "late|fin"),
    ReassemblyCase(
        name: "simultaneous close",
        packets: handshake + [c(1001, "hello world", ack: 5001), c(1012, "", .fin, ack: 5001),
                              s(5001, "", .fin, ack: 1001), s(5002, ack: 1013), c(1013, ack: 5002)],
        client: "hello world|fin", server: "|fin"),
    ReassemblyCase(
        name: "FIN waits for the hole before it",
        packets: handshake + [c(1001, "hello "), c(1012, "", .fin), c(1007, "world")],
        client: "hello world|fin", server: "|captureEnded"),
    ReassemblyCase(
        name: "data after FIN is ignored",
        packets: handshake + [c(1001, "hello world", .fin), c(1013, "junk")],
        client: "hello world|fin", server: "|captureEnded"),
    ReassemblyCase(
        name: "response carrying its FIN, then the client's FIN (a closing server)",
        packets: handshake + [c(1001, "GET", ack: 5001), s(5001, "reply", .fin, ack: 1004),
                              c(1004, "", .fin, ack: 5007), s(5007, ack: 1005)],
        client: "GET|fin", server: "reply|fin"),
    ReassemblyCase(
        name: "FIN on a snaplen-cut segment: the cut tail is a gap before the end",
        packets: handshake + [c(1001, "hello", .fin, cut: 2), s(5001, "", .fin, ack: 1007)],
        client: "he[gap 3]|fin", server: "|fin", gaps: 1),
    ReassemblyCase(
        name: "SYN carrying data (TCP Fast Open)",
        packets: [c(1000, "early", .syn), s(5000, "", .syn, ack: 1006), c(1006, "!", ack: 5001)],
        client: "early!|captureEnded", server: "|captureEnded"),
    ReassemblyCase(
        name: "FIN retransmitted after the direction ended",
        packets: handshake + [c(1001, "hi", .fin, ack: 5001), c(1001, "hi", .fin, ack: 5001), s(5001, "", .fin, ack: 1004)],
        client: "hi|fin", server: "|fin"),
    ReassemblyCase(
        name: "RST mid-transfer flushes buffered data and ends both directions",
        packets: handshake + [c(1001, "hello "), c(1010, "xyz"), s(5001, "", .rst)],
        client: "hello [gap 3]xyz|reset", server: "|reset", gaps: 1),
    ReassemblyCase(
        name: "hole passed by the peer's ACK becomes a gap, delivery resumes",
        packets: handshake + [c(1001, "hello "), c(1010, "xyz"), s(5001, ack: 1013), c(1013, "!")],
        client: "hello [gap 3]xyz!|captureEnded", server: "|captureEnded", gaps: 1),
    ReassemblyCase(
        name: "ACK seen before the segment beyond the hole",
        packets: handshake + [c(1001, "ab"), s(5001, ack: 1010), c(1005, "zz")],
        client: "ab[gap 2]zz|captureEnded", server: "|captureEnded", gaps: 1),
    ReassemblyCase(
        name: "ACK of a FIN beyond a hole",
        packets: handshake + [c(1001, "hello "), c(1012, "", .fin), s(5001, ack: 1013)],
        client: "hello [gap 5]|fin", server: "|captureEnded", gaps: 1),
    ReassemblyCase(
        name: "hole older than holeTimeout becomes a gap at the next packet",
        packets: handshake + [c(1001, "hello "), c(1010, "xyz"), s(5001, "late", ms: 2500)],
        client: "hello [gap 3]xyz|captureEnded", server: "late|captureEnded", gaps: 1),
    ReassemblyCase(
        name: "snaplen-cut payload in order: the cut tail is a gap",
        packets: handshake + [c(1001, "hello ", cut: 3), c(1007, "world")],
        client: "hel[gap 3]world|captureEnded", server: "|captureEnded", gaps: 1),
    ReassemblyCase(
        name: "snaplen-cut payload filling a hole",
        packets: handshake + [c(1007, "world"), c(1001, "hello ", cut: 3)],
        client: "hel[gap 3]world|captureEnded", server: "|captureEnded", gaps: 1),
    ReassemblyCase(
        name: "snaplen-cut out-of-order payload",
        packets: handshake + [c(1004, "lo ", cut: 1), c(1007, "world"), c(1001, "hel")],
        client: "hell[gap 2]world|captureEnded", server: "|captureEnded", gaps: 1),
    ReassemblyCase(
        name: "snaplen-cut tail covered by buffered data: no gap",
        packets: handshake + [c(1004, "lo world"), c(1001, "hello ", cut: 3)],
        client: "hello world|captureEnded", server: "|captureEnded"),
    ReassemblyCase(
        name: "retransmission of bytes before a mid-connection start is dropped",
        packets: [c(3000, "GET", ack: 7000), c(2990, "old bytes!", ack: 7000), c(3003, " /", ack: 7000)],
        client: "GET /|captureEnded", server: "|captureEnded", roleSource: .firstSender, retransmittedBytes: 10),
    ReassemblyCase(
        // Seen in a real capture (tcpdump dropping packets under load): the SYN and the first request
        // were not captured, its response was, then the client's spurious retransmission of that
        // request. The server's ACK says the request was in before: the client's stream starts there.
        name: "bytes the peer acknowledged before a mid-connection start are a retransmission",
        packets: [s(7000, "200 one", ack: 3005), c(3000, "GET 1", ack: 7007), c(3005, "GET 2", ack: 7007),
                  s(7007, "200 two", ack: 3010)],
        client: "GET 2|captureEnded", server: "200 one200 two|captureEnded", serverPorts: [80],
        roleSource: .configuredPort, retransmittedBytes: 5),
    ReassemblyCase(
        // Seen in a real capture (tcpdump dropping packets under load): "GET 2" was not captured, its
        // response was (acknowledging it), then the client's spurious retransmission of "GET 2".
        // Delivered then, the request would follow its own response. It is a gap before "200 2".
        name: "peer data acknowledged by a data segment before the capture showed it is a gap before that data",
        packets: handshake + [c(1001, "GET 1", ack: 5001), s(5001, "200 1", ack: 1006), s(5006, "200 2", ack: 1011),
                              c(1006, "GET 2", ack: 5011), c(1011, "GET 3", ack: 5011), s(5011, "200 3", ack: 1016)],
        client: "GET 1[gap 5]GET 3|captureEnded", server: "200 1200 2200 3|captureEnded",
        retransmittedBytes: 5, gaps: 1),
    ReassemblyCase(
        name: "a pure ACK ahead declares nothing: the late data is still in time",
        packets: handshake + [c(1001, "GET 1", ack: 5001), s(5001, "", ack: 1011), c(1006, "GET 2", ack: 5001),
                              s(5001, "200 1", ack: 1011)],
        client: "GET 1GET 2|captureEnded", server: "200 1|captureEnded"),
]

@Suite struct ReassemblyCaseTests {
    @Test(arguments: reassemblyCases)
    func reassembles(_ testCase: ReassemblyCase) {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(
            configuration: ReassemblyConfiguration(serverPorts: testCase.serverPorts), factory: factory)
        feed(reassembler, testCase.packets)
        reassembler.finish(at: ms(10_000))

        #expect(factory.consumers.count == 1)
        let consumer = factory.only
        #expect(consumer.client == testCase.client)
        #expect(consumer.server == testCase.server)
        #expect(consumer.info.roleSource == testCase.roleSource)
        let stats = reassembler.statistics
        #expect(stats.retransmittedBytes == testCase.retransmittedBytes)
        #expect(stats.conflictingOverlapBytes == testCase.conflictingBytes)
        #expect(stats.gaps == testCase.gaps)
        #expect(stats.bufferedBytes == 0)
        #expect(stats.connectionsActive == 0)
        #expect(stats.connectionsOpened == 1)
    }

    @Test func handshakeDecidesRolesAndTimes() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, handshake + [c(1001, "hi", ack: 5001, ms: 7)])
        let info = factory.only.info
        #expect(info.client == Endpoint(address: clientAddress, port: 40000))
        #expect(info.server == Endpoint(address: serverAddress, port: 80))
        #expect(info.synTime == ms(0))
        #expect(info.firstSeen == ms(0))
        #expect(info.id == 1)
        #expect(factory.only.events == [.data(.clientToServer, Array("hi".utf8), time: 7_000_000)])
    }

    @Test func synAckFirstHasNoSynTime() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, [s(5000, "", .syn, ack: 1001, ms: 3)])
        #expect(factory.only.info.client == Endpoint(address: clientAddress, port: 40000))
        #expect(factory.only.info.synTime == nil)
        #expect(factory.only.info.firstSeen == ms(3))
    }

    @Test func synRetransmissionsAreCounted() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, [c(1000, "", .syn), c(1000, "", .syn), s(5000, "", .syn, ack: 1001),
                           s(5000, "", .syn, ack: 1001)])
        #expect(reassembler.statistics.synRetransmissions == 2)
        #expect(reassembler.statistics.connectionsOpened == 1)
    }

    @Test func bufferedPiecesKeepTheTimeOfTheirPacket() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, handshake + [c(1007, "world", ms: 10), c(1001, "hello ", ms: 20)])
        #expect(factory.only.events == [
            .data(.clientToServer, Array("hello ".utf8), time: 20_000_000),
            .data(.clientToServer, Array("world".utf8), time: 10_000_000),
        ])
        #expect(reassembler.statistics.outOfOrderSegments == 1)
    }

    @Test func holeTimeoutWithoutPacketsViaExpireIdle() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, handshake + [c(1001, "hello ", ms: 10), c(1010, "xyz", ms: 20)])
        #expect(reassembler.statistics.bufferedBytes == 3)
        reassembler.expireIdle(now: ms(2019))
        #expect(factory.only.client == "hello ")
        reassembler.expireIdle(now: ms(2020))
        #expect(factory.only.client == "hello [gap 3]xyz")
        #expect(factory.only.events.last == .data(.clientToServer, Array("xyz".utf8), time: 20_000_000))
        #expect(reassembler.statistics.bufferedBytes == 0)
        #expect(reassembler.statistics.gapBytes == 3)
    }

    /// The hole list follows both directions (`handleSegment` skips it only when neither has
    /// anything buffered or a FIN): a server-side hole times out, a filled client hole does not.
    @Test func holeListFollowsEitherDirection() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, handshake + [
            c(1007, "world", ms: 10), c(1001, "hello ", ms: 15), s(5001, "ok", ms: 20), s(5010, "late", ms: 30),
        ])
        reassembler.expireIdle(now: ms(2029))
        #expect(factory.only.server == "ok")
        reassembler.expireIdle(now: ms(2030))
        #expect(factory.only.server == "ok[gap 7]late")
        #expect(factory.only.client == "hello world")
        #expect(reassembler.statistics.gaps == 1)
        #expect(reassembler.statistics.bufferedBytes == 0)
    }

    @Test func payloadAfterFinIsCountedAsIgnored() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, handshake + [c(1001, "hello world", .fin), c(1013, "junk")])
        #expect(reassembler.statistics.ignoredSegments[.directionEnded] == 1)
    }
}
