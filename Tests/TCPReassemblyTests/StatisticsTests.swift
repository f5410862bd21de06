// Adding reassembly statistics (shards, a pipeline replaced by a reload): every field.
import Testing
@testable import TCPReassembly

@Suite struct StatisticsTests {
    @Test func addSumsEveryField() {
        var a = ReassemblyStatistics()
        a.connectionsOpened = 1; a.connectionsActive = 2; a.connectionsClosedByFin = 3; a.connectionsClosedByReset = 4
        a.connectionsExpired = 5; a.connectionsEvicted = 6; a.connectionsEndedByCapture = 7; a.synRetransmissions = 8
        a.retransmittedBytes = 9; a.conflictingOverlapBytes = 10; a.outOfOrderSegments = 11; a.bufferedBytes = 12
        a.gaps = 13; a.gapBytes = 14
        a.limitHits[.connections] = 15; a.limitHits[.segmentsPerConnection] = 16
        a.ignoredSegments[.outOfWindow] = 17
        a.natCopyConnections = 18; a.natCopySegments = 19; a.natCandidatesDropped = 20
        var sum = a
        sum.add(a)
        #expect(sum.connectionsOpened == 2 && sum.connectionsActive == 4 && sum.connectionsClosedByFin == 6)
        #expect(sum.connectionsClosedByReset == 8 && sum.connectionsExpired == 10 && sum.connectionsEvicted == 12)
        #expect(sum.connectionsEndedByCapture == 14 && sum.synRetransmissions == 16 && sum.retransmittedBytes == 18)
        #expect(sum.conflictingOverlapBytes == 20 && sum.outOfOrderSegments == 22 && sum.bufferedBytes == 24)
        #expect(sum.gaps == 26 && sum.gapBytes == 28)
        #expect(sum.limitHits[.connections] == 30 && sum.limitHits[.segmentsPerConnection] == 32)
        #expect(sum.ignoredSegments[.outOfWindow] == 34 && sum.ignoredSegments[.noConnection] == 0)
        #expect(sum.natCopyConnections == 36 && sum.natCopySegments == 38 && sum.natCandidatesDropped == 40)
        // A field added to the type must be added to `add(_:)` (and here).
        #expect(Mirror(reflecting: a).children.count == 19)
    }
}
