// A replay split over several reassemblers by connection, each swept by its driver at the segments where
// one reassembler sweeps itself (`SweepSchedule`), gives what one reassembler gives, in the same order
// once merged by `EventOrderKey`.

import PacketDecoding
import Testing
@testable import TCPReassembly

@Suite struct SplitReplayTests {
    @Test func theScheduleSweepsAtTheFirstSegmentThenASecondAfterTheLastSweep() {
        var schedule = SweepSchedule()
        let due = [0, 400, 999, 1000, 1500, 2100, 2200, 3100].map { schedule.isDue(at: ms($0)) }
        #expect(due == [true, false, false, true, false, true, false, true])
        #expect(schedule.next == 4_100_000_000)
    }

    @Test func aReassemblerThatDoesNotSweepOnItsOwnLeavesIdleConnectionsToItsDriver() {
        let log = OrderLog()
        let configuration = ReassemblyConfiguration(idleTimeout: .seconds(10))
        let reassembler = TCPReassembler(configuration: configuration, factory: log, sweepsOnItsOwn: false)
        feed(reassembler, [c(1, "a", ms: 0, port: 1), c(1, "b", ms: 30_000, port: 2)])
        #expect(log.ends.isEmpty)
        reassembler.expireIdle(now: ms(30_000))
        #expect(log.ends == ["1 idleExpired 30000"])
    }

    /// Connections on many ports, some idle past the timeout, some with holes given up by time, some
    /// closed, the rest open at the end; split by client port over `workers` reassemblers.
    @Test(arguments: [2, 3]) func splitReassemblersGiveWhatOneGivesInTheSameOrder(workers: Int) {
        var random = SplitMix64(seed: 20)
        var packets: [Packet] = []
        var time: Int64 = 0
        var next: [UInt16: UInt32] = [:]
        for _ in 0..<600 {
            time += Int64.random(in: 0...400, using: &random)
            let port = UInt16.random(in: 1...40, using: &random)
            let sequence = next[port, default: 1]
            switch Int.random(in: 0..<10, using: &random) {
            case 0:  // a hole: this segment skips two bytes
                packets.append(c(sequence + 2, "h", ms: time, port: port))
                next[port] = sequence + 3
            case 1:
                packets.append(c(sequence, "f", .fin, ms: time, port: port))
                packets.append(s(9, "", .fin, ms: time, port: port))
                next[port] = nil
            default:
                packets.append(c(sequence, "d", ms: time, port: port))
                next[port] = sequence + 1
            }
        }
        let configuration = ReassemblyConfiguration(idleTimeout: .seconds(5), holeTimeout: .seconds(2))

        let order = EventOrder()
        let whole = OrderLog(order: order)
        let one = TCPReassembler(configuration: configuration, factory: whole, order: order)
        for (ordinal, packet) in packets.enumerated() {
            order.packet = UInt64(ordinal + 1)
            feed(one, packet, millisecond: packet.millisecond!)
        }
        order.packet = .max
        one.finish(at: ms(time + 1))

        let orders = (0..<workers).map { _ in EventOrder() }
        let logs = orders.map { OrderLog(order: $0) }
        let parts = (0..<workers).map {
            TCPReassembler(configuration: configuration, factory: logs[$0], order: orders[$0], sweepsOnItsOwn: false)
        }
        var schedule = SweepSchedule()
        for (ordinal, packet) in packets.enumerated() {
            let at = ms(packet.millisecond!)
            if schedule.isDue(at: at) {
                for w in 0..<workers {
                    orders[w].packet = UInt64(ordinal + 1)
                    parts[w].expireIdle(now: at)
                }
            }
            let w = Int(packet.clientPort) % workers
            orders[w].packet = UInt64(ordinal + 1)
            feed(parts[w], packet, millisecond: packet.millisecond!)
        }
        for w in 0..<workers {
            orders[w].packet = .max
            parts[w].finish(at: ms(time + 1))
        }

        let merged = logs.flatMap { log in zip(log.keys, log.entries) }.sorted { $0.0 < $1.0 }.map(\.1)
        #expect(whole.entries.contains { $0.call.contains("idleExpired") })
        #expect(whole.entries.contains { $0.call.hasPrefix("gap") && $0.phase == .sweep })
        #expect(merged.map { "\($0.id) \($0.call)" } == whole.entries.map { "\($0.id) \($0.call)" })
    }
}
