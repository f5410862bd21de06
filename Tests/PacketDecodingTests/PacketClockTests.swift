import PacketDecoding
import Testing

@Suite struct PacketClockTests {
    static let second: Int64 = 1_000_000_000
    static let start: Int64 = 1_700_000_000 * second

    /// The times a clock gives a run of timestamps (seconds after `start`).
    static func times(_ clock: inout PacketClock, _ seconds: [Double]) -> [Double] {
        seconds.map { s in
            let t = clock.time(of: Timestamp(nanoseconds: start + Int64((s * 1e9).rounded())))
            return Double(t.nanoseconds - start) / 1e9
        }
    }

    @Test func timestampsInOrderAreTheTime() {
        var clock = PacketClock(forwardLimit: .seconds(300))
        #expect(Self.times(&clock, [0, 0, 0.5, 1, 299, 500]) == [0, 0, 0.5, 1, 299, 500])
        #expect(clock.counters == PacketClockCounters())
    }

    /// A few ms late (a multi-queue capture): the latest time, counted, no step.
    @Test func aLatePacketGetsTheLatestTime() {
        var clock = PacketClock(forwardLimit: .seconds(300))
        #expect(Self.times(&clock, [1, 1.004, 1.001, 1.005, 0.5]) == [1, 1.004, 1.004, 1.005, 1.005])
        #expect(clock.counters.packetsBackInTime == 2)
        #expect(clock.counters.stepsBack == 0 && clock.stepsTaken == 0)
    }

    /// An hour back (a clock stepped, recordings concatenated): time goes on from before the step;
    /// the later packets keep their spacing; a latency across the step is never negative.
    @Test func aStepBackIsTakenIntoTheOffset() {
        var clock = PacketClock(forwardLimit: .seconds(300))
        let times = Self.times(&clock, [10, 11, -3589, -3588.5, -3588])
        #expect(times == [10, 11, 11, 11.5, 12])
        #expect(clock.counters.packetsBackInTime == 1 && clock.counters.stepsBack == 1)
        #expect(clock.stepsTaken == 3600 * Self.second)
    }

    /// An hour forward between two packets: time goes on from the last one.
    @Test func aStepForwardIsTakenIntoTheOffset() {
        var clock = PacketClock(forwardLimit: .seconds(300))
        #expect(Self.times(&clock, [10, 11, 3611, 3611.25, 3612]) == [10, 11, 11, 11.25, 12])
        #expect(clock.counters.stepsForward == 1 && clock.counters.packetsBackInTime == 0)
        // Just under the limit is time passing.
        var other = PacketClock(forwardLimit: .seconds(300))
        #expect(Self.times(&other, [0, 299.9]) == [0, 299.9])
        #expect(other.counters.stepsForward == 0)
    }

    /// Live, idle ticks move time on while the interface is quiet: a packet long after the last
    /// packet but near the last tick is time passing, not a step.
    @Test func idleTicksMoveTimeOnWithoutPackets() {
        var clock = PacketClock(forwardLimit: .seconds(5))
        #expect(Self.times(&clock, [0]) == [0])
        for tick in stride(from: 0.25, through: 600, by: 0.25) {
            _ = clock.idleTime(of: Timestamp(nanoseconds: Self.start + Int64(tick * 1e9)))
        }
        #expect(Self.times(&clock, [600.1]) == [600.1])
        #expect(clock.counters == PacketClockCounters())
    }

    /// The host's clock stepped back an hour on a quiet interface: the ticks go on from where
    /// time was, so idle connections still end after the idle timeout (before, nothing ended until
    /// the wall clock came back to the last packet's time, an hour later).
    @Test func aTickStepBackKeepsTimeGoing() {
        var clock = PacketClock(forwardLimit: .seconds(5))
        _ = Self.times(&clock, [100])
        let back = Self.start + 100 * Self.second - 3600 * Self.second
        #expect(clock.idleTime(of: Timestamp(nanoseconds: back)) == nil)  // the step: not past the packet
        #expect(clock.counters.stepsBack == 1)
        var later: Timestamp?
        for tick in 1...120 { later = clock.idleTime(of: Timestamp(nanoseconds: back + Int64(tick) * Self.second / 4)) }
        #expect(later == Timestamp(nanoseconds: Self.start + 130 * Self.second))
        #expect(clock.counters.stepsBack == 1 && clock.counters.stepsForward == 0)
        // Packets stamped by the stepped clock follow on.
        #expect(Self.times(&clock, [100 - 3600 + 30.5]) == [130.5])
    }

    /// Stepped forward an hour on a quiet interface: no expiry an hour ahead.
    @Test func aTickStepForwardIsNotAnHourPassing() {
        var clock = PacketClock(forwardLimit: .seconds(5))
        _ = Self.times(&clock, [100])
        let tick = clock.idleTime(of: Timestamp(nanoseconds: Self.start + 3700 * Self.second))
        #expect(tick == nil)
        #expect(clock.counters.stepsForward == 1)
        #expect(Self.times(&clock, [3700.5]) == [100.5])
    }

    /// A tick a little ahead of the packets a capture block still holds (live): those packets are
    /// not late, and keep their own times.
    @Test func packetsBehindATickKeepTheirTimes() {
        var clock = PacketClock(forwardLimit: .seconds(5))
        _ = Self.times(&clock, [1])
        _ = clock.idleTime(of: Timestamp(nanoseconds: Self.start + 1_300_000_000))
        #expect(Self.times(&clock, [1.1, 1.2, 1.4]) == [1.1, 1.2, 1.4])
        #expect(clock.counters == PacketClockCounters())
    }

    /// Two clocks 10 s apart, interleaved (a pcapng file's interfaces): after the first step each keeps
    /// its offset; time does not run away by 10 s at every turn.
    @Test func interleavedClocksEachKeepTheirOffset() {
        var clock = PacketClock(forwardLimit: .seconds(600))
        let stamps: [Double] = [0, 0.1, -9.8, -9.7, 0.4, -9.5, 0.6, 0.7, -9.2, 1]
        // The step: -9.8 gets 0.1, so the second clock's offset is 9.9 s; every later turn goes back.
        #expect(Self.times(&clock, stamps) == [0, 0.1, 0.1, 0.2, 0.4, 0.4, 0.6, 0.7, 0.7, 1])
        #expect(clock.counters.stepsBack == 1 && clock.counters.returnsToPreviousClock == 5)
        #expect(clock.counters.packetsBackInTime == 1)
    }

    /// Timestamps all zero, or garbage: nothing negative, nothing leaps.
    @Test func garbageTimestampsGiveATimeThatNeverGoesBack() {
        var clock = PacketClock(forwardLimit: .seconds(300))
        var generator = SystemRandomNumberGenerator()
        var previous = Int64.min
        for _ in 0..<10_000 {
            let t = clock.time(of: Timestamp(nanoseconds: Int64.random(in: 0...(Int64(1) << 62), using: &generator)))
            #expect(t.nanoseconds >= previous)
            #expect(previous == .min || t.nanoseconds - previous <= 300 * Self.second)
            previous = t.nanoseconds
        }
        var zero = PacketClock(forwardLimit: .seconds(300))
        for _ in 0..<3 { #expect(zero.time(of: .zero) == .zero) }
    }
}
