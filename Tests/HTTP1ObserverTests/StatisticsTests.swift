// Adding HTTP observer statistics (shards, a pipeline replaced by a reload): every field.
import Testing
@testable import HTTP1Observer

@Suite struct StatisticsTests {
    @Test func addSumsEveryField() {
        var a = HTTPObserverStatistics()
        a.exchangesComplete = 1; a.responsesWithoutRequest = 2; a.requestsWithoutResponse = 3; a.responsesIncomplete = 4
        a.upgrades = 5; a.interimResponses = 6; a.rolesSwapped = 7; a.http2Connections = 9; a.tlsConnections = 10
        a.otherProtocolConnections = 11; a.proxyProtocolHeaders = 12; a.connectTunnels = 13
        a.record(.badRequestLine, times: 8)
        a.record(.truncatedMessage)
        var sum = a
        sum.add(a)
        #expect(sum.exchangesComplete == 2 && sum.responsesWithoutRequest == 4 && sum.requestsWithoutResponse == 6)
        #expect(sum.responsesIncomplete == 8 && sum.upgrades == 10 && sum.interimResponses == 12 && sum.rolesSwapped == 14)
        #expect(sum.http2Connections == 18 && sum.tlsConnections == 20 && sum.otherProtocolConnections == 22)
        #expect(sum.proxyProtocolHeaders == 24 && sum.connectTunnels == 26)
        #expect(sum.anomalies == [.badRequestLine: 16, .truncatedMessage: 2])
        // A field added to the type must be added to `add(_:)` (and here).
        #expect(Mirror(reflecting: a).children.count == 13)
    }
}
