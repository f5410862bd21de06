// The statistics a reload carries over from the pipeline it replaces.
import AMQPObserver
import HTTP1Observer
import PacketDecoding
import TCPReassembly
import Testing

@testable import ChannelExporter

/// What a pipeline replaced by a reload hands on: its counters, not its gauges.
@Suite struct ReplacedPipelineStatisticsTests {
    /// Nothing counted, packets seen from `first` to `last` (seconds).
    static func empty(from first: Int64, to last: Int64) -> PipelineStatistics {
        PipelineStatistics(
            decode: DecodeCounters(), reassembly: ReassemblyStatistics(), http: HTTPObserverStatistics(),
            amqp: AMQPStatistics(), firstPacketTime: Timestamp(seconds: first, nanoseconds: 0),
            lastPacketTime: Timestamp(seconds: last, nanoseconds: 0))
    }

    @Test func countersAreCarriedOverAndGaugesAreNot() {
        var old = Self.empty(from: 10, to: 20)
        old.decode.packets = 100
        old.reassembly.connectionsOpened = 5
        old.reassembly.connectionsActive = 2
        old.reassembly.bufferedBytes = 4096
        old.http.exchangesComplete = 40
        old.httpKeptBytes = Level(now: 70_000, peak: 90_000)
        var next = Self.empty(from: 30, to: 40)
        next.decode.packets = 7
        next.reassembly.connectionsActive = 1
        next.http.exchangesComplete = 3
        next.httpKeptBytes = Level(now: 500, peak: 600)
        next.add(old.carriedOver)
        #expect(next.decode.packets == 107)
        #expect(next.reassembly.connectionsOpened == 5)
        #expect(next.reassembly.connectionsActive == 1)
        #expect(next.reassembly.bufferedBytes == 0)
        #expect(next.http.exchangesComplete == 43)
        #expect(next.httpKeptBytes == Level(now: 500, peak: 90_000))
        #expect(next.firstPacketTime == Timestamp(seconds: 10, nanoseconds: 0))
        #expect(next.lastPacketTime == Timestamp(seconds: 40, nanoseconds: 0))
    }
}
