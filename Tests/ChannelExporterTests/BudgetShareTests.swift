// One pipeline's share of every bound over all connections, for a replay split over several pipelines.

import Testing
@testable import ChannelExporter

@Suite struct BudgetShareTests {
    @Test func everyBoundOverAllConnectionsIsDividedAndNothingElse() throws {
        let whole = ExporterConfiguration(syscode: "A123010101")
        let share = try #require(whole.budgetShare(1, of: 3))
        let (a, b) = (whole.limits, share.limits)
        #expect(b.maxConnections == a.maxConnections / 3)
        #expect(b.maxBufferedBytesTotal == a.maxBufferedBytesTotal / 3)
        #expect(b.maxNATCandidates == a.maxNATCandidates / 3)
        #expect(b.maxHTTPKeptBytesTotal == a.maxHTTPKeptBytesTotal / 3)
        #expect(b.maxAMQPKeptBytesTotal == a.maxAMQPKeptBytesTotal / 3)
        #expect(b.maxAMQPOutstandingDeliveries == a.maxAMQPOutstandingDeliveries / 3)
        #expect(b.maxAMQPSplitFrameBytesTotal == a.maxAMQPSplitFrameBytesTotal / 3)
        #expect(b.maxSeriesPerFamily == a.maxSeriesPerFamily / 3)
        #expect(b.maxLabelBytesPerFamily == a.maxLabelBytesPerFamily / 3)
        #expect(share.tls.maxBufferedBytesTotal == whole.tls.maxBufferedBytesTotal / 3)
        // The rest is the same: the limits of one connection, the fragments (reassembled once), the keys.
        var undivided = share
        undivided.limits = a
        undivided.tls = whole.tls
        #expect(undivided == whole)
        #expect(b.maxPendingRequests == a.maxPendingRequests && b.maxFragmentBytesTotal == a.maxFragmentBytesTotal)
        #expect(whole.budgetShare(1, of: 1) == whole)
    }

    @Test func aShareOfSomePartsIsThatFractionRoundedDown() throws {
        var whole = ExporterConfiguration(syscode: "A123010101")
        whole.limits.maxConnections = 1000
        whole.limits.maxSeriesPerFamily = .max
        let small = try #require(whole.budgetShare(1, of: 3))
        let large = try #require(whole.budgetShare(2, of: 3))
        #expect(small.limits.maxConnections == 333 && large.limits.maxConnections == 666)
        // A bound near `Int.max` is divided without overflow, and the parts never add up to more.
        #expect(small.limits.maxSeriesPerFamily == Int.max / 3)
        #expect(large.limits.maxSeriesPerFamily <= Int.max - small.limits.maxSeriesPerFamily)
        #expect(large.limits.maxSeriesPerFamily >= Int.max / 3 * 2)
        #expect(whole.budgetShare(3, of: 3) == whole)
    }

    @Test func aBoundSmallerThanThePipelinesHasNoShare() {
        var configuration = ExporterConfiguration(syscode: "A123010101")
        configuration.limits.maxConnections = 3
        #expect(configuration.budgetShare(1, of: 3) != nil)
        #expect(configuration.budgetShare(1, of: 4) == nil)
    }
}
