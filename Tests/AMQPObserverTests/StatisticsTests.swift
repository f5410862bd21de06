// Adding AMQP observer statistics (shards, a pipeline replaced by a reload): every field.
import Testing
@testable import AMQPObserver

@Suite struct StatisticsTests {
    @Test func addSumsEveryField() {
        var a = AMQPStatistics()
        a.connections = 1; a.connectionsGivenUp = 2; a.methodFrames = 3; a.contentHeaderFrames = 4
        a.contentBodyFrames = 5; a.heartbeatFrames = 6; a.methodCounts[7] = 7; a.acks = 8; a.nacks = 9; a.rejects = 10
        a.routingKeyQueueDeliveries = 11; a.unknownQueueDeliveries = 12; a.noAckDeliveries = 13; a.unmatchedAnswers = 14
        a.answeredWhileQueued = 15; a.lostDeliveries = 16; a.answersForLostDeliveries = 17
        a.droppedDeliveries[.streamEnd] = 18; a.limitHits[.consumersPerChannel] = 19; a.anomalies[.badProtocolHeader] = 20
        a.gapBytes = 21; a.unsynchronizedBytes = 22; a.ignoredBytes = 23
        var b = AMQPStatistics()
        b.droppedDeliveries[.channelClose] = 1
        var sum = a
        sum.add(a)
        sum.add(b)
        #expect(sum.connections == 2 && sum.connectionsGivenUp == 4 && sum.methodFrames == 6 && sum.contentHeaderFrames == 8)
        #expect(sum.contentBodyFrames == 10 && sum.heartbeatFrames == 12 && sum.methodCounts[7] == 14 && sum.acks == 16)
        #expect(sum.nacks == 18 && sum.rejects == 20 && sum.routingKeyQueueDeliveries == 22 && sum.unknownQueueDeliveries == 24)
        #expect(sum.noAckDeliveries == 26 && sum.unmatchedAnswers == 28 && sum.answeredWhileQueued == 30)
        #expect(sum.lostDeliveries == 32 && sum.answersForLostDeliveries == 34)
        #expect(sum.droppedDeliveries == [.streamEnd: 36, .channelClose: 1] && sum.limitHits == [.consumersPerChannel: 38])
        #expect(sum.anomalies == [.badProtocolHeader: 40])
        #expect(sum.gapBytes == 42 && sum.unsynchronizedBytes == 44 && sum.ignoredBytes == 46)
        // A field added to the type must be added to `add(_:)` (and here).
        #expect(Mirror(reflecting: a).children.count == 23)
    }
}
