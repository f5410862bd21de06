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
        for values in sets + sets { family.observe(values, 0.5) }
        #expect(family.seriesCount == distinct)
        let total = family.snapshot().series.reduce(0) { $0 + $1.count }
        #expect(total == Double(2 * sets.count))
    }
}
