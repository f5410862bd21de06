// Connection lifecycle: port reuse, limits, eviction, idle expiry, finish, declined connections.

import PacketDecoding
import Testing
@testable import TCPReassembly

@Suite struct LifecycleTests {
    @Test func portReuseAfterCloseStartsANewConnection() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, handshake + [c(1001, "hello world", ack: 5001)] + closing())
        feed(reassembler, [c(77_000, "", .syn, ms: 10), s(88_000, "", .syn, ack: 77_001, ms: 11),
                           c(77_001, "again", ack: 88_001, ms: 12)])
        reassembler.finish(at: ms(20))
        #expect(factory.consumers.map(\.info.id) == [1, 2])
        #expect(factory.consumers.map(\.client) == ["hello world|fin", "again|captureEnded"])
        #expect(factory.consumers[1].info.synTime == ms(10))
        let stats = reassembler.statistics
        #expect(stats.connectionsClosedByFin == 1)
        #expect(stats.connectionsEndedByCapture == 1)
    }

    @Test func portReuseWhileClosingEndsTheOldConnection() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        // The server's FIN was not captured; the client reuses the pair.
        feed(reassembler, handshake + [c(1001, "a", ack: 5001), c(1002, "", .fin, ack: 5001),
                                       c(9000, "", .syn), c(9001, "b")])
        #expect(factory.consumers.count == 2)
        #expect(factory.consumers[0].client == "a|fin")
        #expect(factory.consumers[0].server == "|reset")
        #expect(factory.consumers[1].client == "b")
        #expect(reassembler.statistics.connectionsClosedByReset == 1)
    }

    @Test func newSynOnAnOpenConnectionReplacesIt() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        // The old connection's end was not captured; a SYN with another ISN starts a new one.
        feed(reassembler, handshake + [c(1001, "old", ack: 5001), c(9000, "", .syn), c(9001, "new")])
        #expect(factory.consumers.map(\.client) == ["old|reset", "new"])
        #expect(factory.consumers.map(\.info.id) == [1, 2])
        #expect(reassembler.statistics.synRetransmissions == 0)
    }

    /// The client's first segment after its SYN ends the handshake: its ACK, told once, before
    /// any data; the client's data when that ACK was not captured; never without a SYN, and not
    /// for the server's segments or a retransmitted SYN.
    @Test func handshakeEndIsTheClientsFirstSegmentAfterItsSyn() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, [c(1000, "", .syn, ms: 0), c(1000, "", .syn, ms: 3), s(5000, "", .syn, ack: 1001, ms: 4),
                           s(5000, "", .syn, ack: 1001, ms: 5), c(1001, ack: 5001, ms: 6),
                           c(1001, "GET", ack: 5001, ms: 900), c(1004, "x", ack: 5001, ms: 901)])
        // the ACK lost from the capture: the data ends the handshake
        feed(reassembler, [c(7000, "", .syn, ms: 1000, port: 40001), s(9000, "", .syn, ack: 7001, ms: 1001, port: 40001),
                           c(7001, "GET", ack: 9001, ms: 1002, port: 40001)])
        // picked up mid-stream: no SYN, no handshake
        feed(reassembler, [c(3001, "GET", ack: 6001, ms: 2000, port: 40002), s(6001, "OK", ack: 3004, ms: 2001, port: 40002)])
        #expect(factory.consumers.map(\.handshakeEnds) == [[ms(6).nanoseconds], [ms(1002).nanoseconds], []])
        #expect(factory.consumers.map(\.client) == ["GETx", "GET", "GET"])
    }

    @Test func resetEndsBothDirections() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, handshake + [c(1001, "GET", ack: 5001), s(5001, "", .rst, ack: 1004), c(1004, ack: 5001)])
        #expect(factory.only.client == "GET|reset")
        #expect(factory.only.server == "|reset")
        let stats = reassembler.statistics
        #expect(stats.connectionsClosedByReset == 1)
        #expect(stats.connectionsActive == 0)
        #expect(stats.ignoredSegments[.noConnection] == 1)
    }

    @Test func connectionLimitEvictsTheLeastRecentlyActive() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(configuration: ReassemblyConfiguration(maxConnections: 2), factory: factory)
        feed(reassembler, [c(1, "a", ms: 0, port: 1), c(1, "b", ms: 1, port: 2), c(2, "A", ms: 2, port: 1),
                           c(1, "c", ms: 3, port: 3)])
        #expect(factory.consumers.map(\.client) == ["aA", "b|evicted", "c"])
        #expect(factory.consumers[1].server == "|evicted")
        let stats = reassembler.statistics
        #expect(stats.connectionsEvicted == 1)
        #expect(stats.limitHits[.connections] == 1)
        #expect(stats.globalBudgetHits == 1)
        #expect(stats.connectionsActive == 2)
    }

    @Test func idleConnectionsExpireByPacketTime() {
        let factory = RecordingFactory()
        let configuration = ReassemblyConfiguration(idleTimeout: .seconds(10))
        let reassembler = TCPReassembler(configuration: configuration, factory: factory)
        feed(reassembler, [c(1, "a", ms: 0, port: 1), c(1, "b", ms: 5000, port: 2), c(1, "c", ms: 12_000, port: 3)])
        #expect(factory.consumers.map(\.client) == ["a|idleExpired", "b", "c"])
        #expect(factory.consumers[0].events.last == .end(.serverToClient, .idleExpired, time: 12_000_000_000))
        reassembler.expireIdle(now: ms(15_000))
        #expect(factory.consumers[1].client == "b|idleExpired")
        let stats = reassembler.statistics
        #expect(stats.connectionsExpired == 2)
        #expect(stats.connectionsActive == 1)
    }

    @Test func recentActivityProtectsAConnectionListedEarlier() {
        let factory = RecordingFactory()
        let configuration = ReassemblyConfiguration(idleTimeout: .seconds(10))
        let reassembler = TCPReassembler(configuration: configuration, factory: factory)
        // A is listed first; its second packet comes within the relist interval.
        feed(reassembler, [c(1, "a", ms: 0, port: 1), c(1, "b", ms: 100, port: 2), c(2, "A", ms: 200, port: 1)])
        reassembler.expireIdle(now: ms(10_150))
        #expect(factory.consumers.map(\.client) == ["aA", "b|idleExpired"])
        reassembler.expireIdle(now: ms(10_200))
        #expect(factory.consumers.map(\.client) == ["aA|idleExpired", "b|idleExpired"])
    }

    @Test func finishFlushesBufferedDataAndEndsEveryStream() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, handshake + [c(1001, "hello "), c(1010, "xyz"), c(1, "other", port: 2)])
        reassembler.finish(at: ms(50))
        #expect(factory.consumers.map(\.client) == ["hello [gap 3]xyz|captureEnded", "other|captureEnded"])
        #expect(factory.consumers.map(\.server) == ["|captureEnded", "|captureEnded"])
        #expect(factory.consumers[0].events.last == .end(.serverToClient, .captureEnded, time: 50_000_000))
        let stats = reassembler.statistics
        #expect(stats.connectionsEndedByCapture == 2)
        #expect(stats.connectionsActive == 0)
        #expect(stats.bufferedBytes == 0)
    }

    @Test func perConnectionByteLimitGapsAndDeliversDirectly() {
        let factory = RecordingFactory()
        let configuration = ReassemblyConfiguration(maxBufferedBytesPerConnection: 100)
        let reassembler = TCPReassembler(configuration: configuration, factory: factory)
        feed(reassembler, handshake + [c(1001, "a"), c(1005, "bbbbb"), c(1012, "cccccc"), c(1018, "d")])
        #expect(factory.only.client == "a[gap 3]bbbbb[gap 2]ccccccd")
        let stats = reassembler.statistics
        #expect(stats.limitHits[.bufferedBytesPerConnection] == 1)
        #expect(stats.bufferedBytes == 0)
        #expect(stats.gapBytes == 5)
        #expect(stats.globalBudgetHits == 0)  // a limit of one connection
    }

    @Test func perConnectionByteLimitCountsBothDirections() {
        let factory = RecordingFactory()
        let configuration = ReassemblyConfiguration(maxBufferedBytesPerConnection: 100)
        let reassembler = TCPReassembler(configuration: configuration, factory: factory)
        feed(reassembler, handshake + [s(5003, "server"), c(1001, "a"), c(1005, "bbb")])
        #expect(factory.only.client == "a[gap 3]bbb")
        #expect(reassembler.statistics.limitHits[.bufferedBytesPerConnection] == 1)
        #expect(reassembler.statistics.bufferedBytes == 6)
    }

    @Test func segmentLimitGapsAndDeliversDirectly() {
        let factory = RecordingFactory()
        let configuration = ReassemblyConfiguration(maxSegmentsPerConnection: 2)
        let reassembler = TCPReassembler(configuration: configuration, factory: factory)
        feed(reassembler, handshake + [c(1001, "a"), c(1003, "b"), c(1005, "c"), c(1007, "d")])
        #expect(factory.only.client == "a[gap 1]b[gap 1]c[gap 1]d")
        #expect(reassembler.statistics.limitHits[.segmentsPerConnection] == 1)
        #expect(reassembler.statistics.outOfOrderSegments == 2)
        #expect(reassembler.statistics.globalBudgetHits == 0)
    }

    @Test func totalByteLimitSpansConnections() {
        let factory = RecordingFactory()
        let configuration = ReassemblyConfiguration(maxBufferedBytesTotal: 100)
        let reassembler = TCPReassembler(configuration: configuration, factory: factory)
        feed(reassembler, [c(1, "a", port: 1), c(3, "xyz", port: 1), c(1, "b", port: 2), c(3, "uv", port: 2)])
        #expect(factory.consumers.map(\.client) == ["a", "b[gap 1]uv"])
        #expect(reassembler.statistics.limitHits[.bufferedBytesTotal] == 1)
        #expect(reassembler.statistics.bufferedBytes == 3)
        #expect(reassembler.statistics.globalBudgetHits == 1)
    }

    @Test func segmentFarAheadIsIgnoredUnlessAnAckVouchesForIt() {
        let factory = RecordingFactory()
        let configuration = ReassemblyConfiguration(maxSequenceAdvance: 1000)
        let reassembler = TCPReassembler(configuration: configuration, factory: factory)
        feed(reassembler, handshake + [
            c(1001, "a", ms: 3), c(9_000_000, "garbage", .fin, ms: 4), c(1002, "b", ms: 5000),
            s(5001, ack: 3003, ms: 5001), c(3003, "far", ms: 5002),
        ])
        #expect(factory.only.client == "ab[gap 2000]far")
        let stats = reassembler.statistics
        #expect(stats.ignoredSegments[.outOfWindow] == 1)
        #expect(stats.gapBytes == 2000)
    }

    @Test func declinedConnectionIsTrackedButNotDelivered() {
        let factory = RecordingFactory()
        factory.declined = [1]
        let reassembler = TCPReassembler(factory: factory)
        feed(reassembler, handshake + [c(1001, "hello", ack: 5001), s(5001, "hi", ack: 1006),
                                       c(1006, "", .fin, ack: 5003), s(5003, "", .fin, ack: 1007)])
        #expect(factory.consumers.isEmpty)
        let stats = reassembler.statistics
        #expect(stats.ignoredSegments[.noConsumer] == 2)
        #expect(stats.connectionsClosedByFin == 1)
        #expect(stats.connectionsActive == 0)
    }

    /// The reassembler holds each consumer with one manual retain (`ConsumerReference`):
    /// it must let go when the connection ends, and of open ones when it goes itself.
    @Test func consumersAreReleasedWhenTheirConnectionEndsAndWithTheReassembler() {
        final class Weak { weak var consumer: RecordingConsumer? }
        final class WeakFactory: StreamConsumerFactory {
            var references: [Weak] = []
            func makeConsumer(for connection: ConnectionInfo) -> (any StreamConsumer)? {
                let consumer = RecordingConsumer(info: connection)
                let reference = Weak()
                reference.consumer = consumer
                references.append(reference)
                return consumer
            }
        }
        let factory = WeakFactory()
        var reassembler: TCPReassembler? = TCPReassembler(factory: factory)
        feed(reassembler!, handshake + [c(1001, "hello world", ack: 5001)] + closing())
        feed(reassembler!, [c(77_000, "", .syn, ms: 10), c(77_001, "still open", ms: 11)])
        #expect(factory.references.count == 2)
        #expect(factory.references[0].consumer == nil)  // ended by FIN: released
        #expect(factory.references[1].consumer != nil)  // open: held
        reassembler = nil
        #expect(factory.references[1].consumer == nil)
    }

    /// Consumers of several classes (subclasses among them), opened in turns: each
    /// connection's calls reach its own consumer, as its own class.
    @Test func consumersOfSeveralClassesEachGetTheirOwnCalls() {
        class Counting: StreamConsumer {
            var bytes: [UInt8] = []
            var ends = 0
            var label: String { "base" }
            func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
                self.bytes += bytes
            }
            func streamGap(length: Int, direction: StreamDirection, time: Timestamp) {}
            func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) { ends += 1 }
        }
        final class First: Counting { override var label: String { "first" } }
        final class Second: Counting {
            override var label: String { "second" }
            // An override is what the reassembler calls, through the class it was given as.
            override func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) { ends += 10 }
        }
        final class Third: StreamConsumer {
            var bytes: [UInt8] = []
            func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
                self.bytes += bytes
            }
            func streamGap(length: Int, direction: StreamDirection, time: Timestamp) {}
            func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) {}
        }
        final class Factory: StreamConsumerFactory {
            var made: [AnyObject] = []
            func makeConsumer(for connection: ConnectionInfo) -> (any StreamConsumer)? {
                let consumer: any StreamConsumer
                switch connection.id % 4 {
                case 0: consumer = First()
                case 1: consumer = Second()
                case 2: consumer = Third()
                default: consumer = Counting()
                }
                made.append(consumer)
                return consumer
            }
        }
        let factory = Factory()
        let reassembler = TCPReassembler(factory: factory)
        for n in 0..<12 {
            let client = Endpoint(address: clientAddress, port: UInt16(40_000 + n))
            let segment = TCPSegment(
                source: client, destination: Endpoint(address: serverAddress, port: serverPort), sequenceNumber: 1,
                acknowledgmentNumber: 0, flags: .ack, window: 0, payload: UnsafeRawBufferPointer(start: nil, count: 0),
                payloadLength: 0, timestamp: ms(Int64(n)))
            [UInt8(n), UInt8(n)].withUnsafeBytes { payload in
                var withData = segment
                withData.payload = payload
                withData.payloadLength = 2
                reassembler.process(withData)
            }
        }
        reassembler.finish(at: ms(100))
        #expect(factory.made.count == 12)
        for (n, consumer) in factory.made.enumerated() {
            let id = n + 1
            switch consumer {
            case let counting as Counting:
                #expect(counting.bytes == [UInt8(n), UInt8(n)])
                #expect(counting.ends == (id % 4 == 1 ? 20 : 2))
                #expect(counting.label == ["first", "second", "", "base"][id % 4])
            case let third as Third:
                #expect(id % 4 == 2)
                #expect(third.bytes == [UInt8(n), UInt8(n)])
            default:
                Issue.record("unexpected consumer \(consumer)")
            }
        }
    }

    @Test func idleConnectionStateIsSmall() {
        let slot = MemoryLayout<ConnectionSlot>.stride
        let half = MemoryLayout<HalfStream>.stride
        print("ConnectionSlot stride \(slot) bytes, HalfStream stride \(half) bytes")
        #expect(slot <= 256)
        #expect(slot % 64 == 0)  // whole cache lines (SlotStorage aligns the first slot)
        #expect(half == 32)
        #expect(MemoryLayout<ConnectionKey>.size == 40)
    }

    @Test func hundredThousandConnectionsOpenAtOnce() {
        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        let count = 100_000
        for n in 0..<count {
            let source = Endpoint(address: IPAddress(ipv4: 0x0A00_0000 | UInt32(n >> 16)), port: UInt16(n & 0xFFFF))
            let destination = Endpoint(address: serverAddress, port: 80)
            let segment = TCPSegment(
                source: source, destination: destination, sequenceNumber: 1, acknowledgmentNumber: 0, flags: .syn,
                window: 0, payload: UnsafeRawBufferPointer(start: nil, count: 0), payloadLength: 0,
                timestamp: Timestamp(nanoseconds: Int64(n)))
            reassembler.process(segment)
        }
        #expect(reassembler.activeConnections == count)
        #expect(reassembler.statistics.connectionsOpened == UInt64(count))
        reassembler.finish(at: ms(1))
        #expect(reassembler.statistics.connectionsEndedByCapture == UInt64(count))
        #expect(reassembler.activeConnections == 0)
    }
}
