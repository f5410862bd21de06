// Sweeps and the end of input close connections in opening order, and what a sweep does to a
// connection does not depend on the other connections in the table (a replay split over several
// reassemblers must do what one does).

import PacketDecoding
import Testing
@testable import TCPReassembly

/// Every call of every connection in one list, with the order's state at the call.
final class OrderLog: StreamConsumerFactory {
    struct Entry: Equatable {
        var id: UInt64
        var call: String
        var phase: EventOrder.Phase?
        var connection: UInt64?
    }

    private(set) var entries: [Entry] = []
    let order: EventOrder?

    init(order: EventOrder? = nil) { self.order = order }

    func makeConsumer(for connection: ConnectionInfo) -> (any StreamConsumer)? { Consumer(id: connection.id, log: self) }

    /// Each entry's key in the single-pipeline order (with an order).
    private(set) var keys: [EventOrderKey] = []

    func note(_ id: UInt64, _ call: String) {
        entries.append(Entry(id: id, call: call, phase: order?.phase, connection: order?.connection))
        if let order { keys.append(order.next()) }
    }

    /// The connections' ends, once a connection (its client direction's end), in the order they came.
    var ends: [String] { entries.filter { $0.call.hasPrefix("end c") }.map { "\($0.id) \($0.call.dropFirst(6))" } }

    final class Consumer: StreamConsumer {
        let id: UInt64
        unowned let log: OrderLog
        init(id: UInt64, log: OrderLog) {
            self.id = id
            self.log = log
        }
        func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
            log.note(id, "data \(direction == .clientToServer ? "c" : "s") \(String(decoding: bytes, as: UTF8.self))")
        }
        func streamGap(length: Int, direction: StreamDirection, time: Timestamp) {
            log.note(id, "gap \(direction == .clientToServer ? "c" : "s") \(length)")
        }
        func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) {
            log.note(id, "end \(direction == .clientToServer ? "c" : "s") \(reason) \(time.nanoseconds / 1_000_000)")
        }
    }
}

@Suite struct SweepOrderTests {
    @Test func finishClosesConnectionsInOpeningOrderWhateverTheirActivity() {
        let log = OrderLog()
        let reassembler = TCPReassembler(factory: log)
        // 1 opens first, 2 and 3 after; 1 is active again later, so the activity list is 2, 3, 1.
        feed(reassembler, [c(1, "a", ms: 0, port: 1), c(1, "b", ms: 10, port: 2), c(1, "c", ms: 20, port: 3),
                           c(2, "A", ms: 1500, port: 1)])
        reassembler.finish(at: ms(2000))
        #expect(log.ends == ["1 captureEnded 2000", "2 captureEnded 2000", "3 captureEnded 2000"])
    }

    @Test func aSweepClosesIdleConnectionsInOpeningOrder() {
        let log = OrderLog()
        let reassembler = TCPReassembler(configuration: ReassemblyConfiguration(idleTimeout: .seconds(10)), factory: log)
        feed(reassembler, [c(1, "a", ms: 0, port: 1), c(1, "b", ms: 10, port: 2), c(2, "A", ms: 1500, port: 1)])
        reassembler.expireIdle(now: ms(20_000))
        #expect(log.ends == ["1 idleExpired 20000", "2 idleExpired 20000"])
    }

    /// Connection 1 is seen again within a second of its listing (not relisted), and 2 opens after that:
    /// a sweep once walked past 1, listed it again behind 2, and later stopped at 2 (not idle yet),
    /// leaving 1 open a sweep longer than it would have stayed without 2.
    @Test func whetherASweepExpiresAConnectionDoesNotDependOnTheOthers() {
        func run(withOther: Bool) -> [String] {
            let log = OrderLog()
            let reassembler = TCPReassembler(configuration: ReassemblyConfiguration(idleTimeout: .seconds(10)), factory: log)
            var packets = [c(1, "a", ms: 0, port: 1), c(2, "A", ms: 500, port: 1)]
            if withOther { packets.append(c(1, "b", ms: 800, port: 2)) }
            feed(reassembler, packets)
            reassembler.expireIdle(now: ms(1000))
            reassembler.expireIdle(now: ms(10_600))
            return log.ends.filter { $0.hasPrefix("1 ") }
        }
        #expect(run(withOther: false) == ["1 idleExpired 10600"])
        #expect(run(withOther: true) == ["1 idleExpired 10600"])
    }

    /// Packet time going back (captures merged from several interfaces) lists a connection after one
    /// listed later: the walk cannot stop at the first connection listed too recently to be idle.
    @Test func aConnectionListedOutOfOrderIsExpiredAtItsTime() {
        let log = OrderLog()
        let reassembler = TCPReassembler(configuration: ReassemblyConfiguration(idleTimeout: .seconds(10)), factory: log)
        feed(reassembler, [c(1, "a", ms: 5000, port: 1), c(1, "b", ms: 1000, port: 2)])
        reassembler.expireIdle(now: ms(11_500))
        #expect(log.ends == ["2 idleExpired 11500"])
        reassembler.expireIdle(now: ms(15_000))
        #expect(log.ends == ["2 idleExpired 11500", "1 idleExpired 15000"])
    }

    @Test func aSweepGapsHolesAndClosesIdleConnectionsOneConnectionAfterAnotherInOpeningOrder() {
        let log = OrderLog()
        let configuration = ReassemblyConfiguration(idleTimeout: .seconds(10), holeTimeout: .seconds(2))
        let reassembler = TCPReassembler(configuration: configuration, factory: log)
        // 1 opens first and gets a hole at 9.5 s; 2 opens at 0.1 s and is idle from then on.
        feed(reassembler, handshake + [c(1, "b", ms: 100, port: 2), c(1001, "x", ack: 5001, ms: 9500), c(1005, "y", ack: 5001, ms: 9600)])
        reassembler.expireIdle(now: ms(12_000))
        let sweep = log.entries.filter { $0.call.hasPrefix("gap") || $0.call.hasPrefix("end c") }
        #expect(sweep.map { "\($0.id) \($0.call)" } == ["1 gap c 3", "2 end c idleExpired 12000"])
    }

    @Test func withAnOrderSweepsAndTheEndSetTheConnectionBeingClosed() {
        let order = EventOrder()
        let log = OrderLog(order: order)
        let reassembler = TCPReassembler(configuration: ReassemblyConfiguration(idleTimeout: .seconds(10)), factory: log,
                                         order: order)
        let packets = [c(1, "a", ms: 0, port: 1), c(1, "b", ms: 10, port: 2), c(1, "c", ms: 20_000, port: 3)]
        for (position, packet) in packets.enumerated() {
            order.packet = [5, 8, 30][position]
            feed(reassembler, packet, millisecond: packet.millisecond!)
        }
        // The packet at 20 s swept 5 and 8 before it was handled.
        #expect(log.entries.filter { $0.call.hasPrefix("end") }.map { [$0.id, $0.connection!] }
                == [[5, 5], [5, 5], [8, 8], [8, 8]])
        #expect(log.entries.filter { $0.call.hasPrefix("end") }.allSatisfy { $0.phase == .sweep })
        #expect(log.entries.last == .init(id: 30, call: "data c c", phase: .packet, connection: 0))
        order.packet = .max
        reassembler.finish(at: ms(21_000))
        #expect(log.entries.suffix(2).map { [$0.id, $0.connection!] } == [[30, 30], [30, 30]])
        #expect(order.phase == .packet && order.connection == 0)
    }
}
