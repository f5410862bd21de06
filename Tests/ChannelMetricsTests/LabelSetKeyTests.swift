import Testing

@testable import ChannelMetrics

@Suite struct LabelSetKeyTests {
    @Test func equalValuesGiveEqualKeysAndBoundariesMatter() {
        #expect(LabelSetKey(["ab", "c"]) == LabelSetKey(["ab", "c"]))
        #expect(LabelSetKey(["ab", "c"]).digest == LabelSetKey(["ab", "c"]).digest)
        #expect(LabelSetKey(["ab", "c"]) != LabelSetKey(["a", "bc"]))
        #expect(LabelSetKey(["ab", "c"]).digest != LabelSetKey(["a", "bc"]).digest)
        #expect(LabelSetKey(["", ""]) != LabelSetKey([""]))
        #expect(LabelSetKey(["/api/v1/order/12345678"]) != LabelSetKey(["/api/v1/order/12345679"]))
    }

    /// Every distinct label set gets its own series and every repeat finds it again.
    @Test func aFamilyKeepsOneSeriesPerDistinctLabelSet() {
        var family = HistogramFamily(name: "f", help: "h", labelNames: ["a", "b"], bounds: [1], maxSeries: 100_000)
        let sets = (0..<5_000).map { i in ["/path/\(i % 97)/é\(i % 13)", String(repeating: "x", count: i % 40)] }
        let distinct = Set(sets.map { $0 }).count
        for values in sets + sets { family.observe(values, nanoseconds: 500_000) }
        #expect(family.seriesCount == distinct)
        let total = family.snapshot().series.reduce(0) { $0 + $1.count }
        #expect(total == Double(2 * sets.count))
    }
}

@Suite struct SeriesIndexTests {
    /// Colliding digests (forced here; rare with the seeded hash) still give one series per
    /// distinct label set, through growth of the table and wrap-around of the probes.
    @Test func collidingDigestsKeepDistinctSeries() {
        var index = SeriesIndex()
        var expected: [[String]: Int] = [:]
        for i in 0..<3_000 {
            let values = ["v\(i % 1_000)", "w"]
            // Eight digests for everything, two of them at the table's last slots.
            let key = LabelSetKey(values: values, digest: [0, 1, 2, 3, UInt64.max, UInt64.max - 1, 1 << 40, 7][i % 1_000 % 8])
            if let series = index.find(key) {
                #expect(expected[values] == series)
            } else {
                #expect(expected[values] == nil)
                expected[values] = index.insert(key)
            }
        }
        #expect(index.count == 1_000)
        #expect(expected.count == 1_000)
        for (values, series) in expected { #expect(index.keys[series].values == values) }
    }
}
