import Testing

@testable import ChannelMetrics

/// The scratch's kept hashes and known series must record exactly what the families' own
/// general path (`observe`, `increment`: digest and lookup every time) records.
@Suite struct LabelScratchTests {
    typealias Dice = TopLevelKeyScanTests.Generator

    /// Values that repeat often, with equal texts built apart (other strings, same `==`),
    /// canonically equivalent texts (`é` and `e` + U+0301: equal as Strings) and long ones.
    static func randomValue(_ dice: inout Dice) -> String {
        switch dice.next(8) {
        case 0: return ""
        case 1: return "/api/v1/order"
        case 2: return String("/api/v1/" + "order")
        case 3: return "caf\u{e9}"
        case 4: return "cafe\u{301}"
        case 5: return String(repeating: "x", count: 1 + dice.next(40))
        case 6: return "\(dice.next(3))"
        default: return ["200", "500", "mall-web/2.3.1", "None"][dice.next(4)]
        }
    }

    @Test(arguments: [3, 100_000])
    func keptSeriesRecordWhatTheGeneralPathRecords(maxSeries: Int) {
        var dice = Dice(state: 21)
        let names = ["a", "b", "c", "d"]
        var fast = HistogramFamily(name: "f", help: "h", labelNames: names, bounds: [1, 10], maxSeries: maxSeries)
        var general = fast
        var fastCounter = CounterFamily(name: "c", help: "h", labelNames: names, maxSeries: maxSeries)
        var generalCounter = fastCounter
        var scratch = LabelScratch(count: 4)
        var fastRecorded = 0
        var generalRecorded = 0
        for step in 0..<20_000 {
            // Mostly one or no value changed, as between consecutive exchanges.
            for _ in 0..<dice.next(3) { scratch.set(dice.next(4), Self.randomValue(&dice)) }
            #expect(scratch.digest == LabelSetKey.digest(of: scratch.values))
            let value = Double(dice.next(30)) / 2
            var labels = scratch.take()
            if labels.series.first == nil { labels.series.first = fast.series(of: labels.values, digest: labels.digest) }
            if let series = labels.series.first {
                fast.add(value, toSeries: series)
                fastRecorded += 1
            }
            if labels.series.second == nil { labels.series.second = fastCounter.series(of: labels.values, digest: labels.digest) }
            if let series = labels.series.second { fastCounter.add(1, toSeries: series) }
            if general.observe(labels.values, value) { generalRecorded += 1 }
            generalCounter.increment(labels.values)
            scratch.put(labels)
            if step % 1_000 == 0 { #expect(fast.snapshot() == general.snapshot()) }
        }
        #expect(fastRecorded == generalRecorded)
        #expect(fast.snapshot() == general.snapshot())
        #expect(fast.refused == general.refused)
        #expect(fastCounter.snapshot() == generalCounter.snapshot())
        #expect(fastCounter.refused == generalCounter.refused)
        if maxSeries == 3 {
            #expect(fast.refused > 1_000)  // refusals were repeated, not remembered
        } else {
            #expect(fast.seriesCount > 100)
        }
    }

    /// The digest depends on each value and its place, and equal Strings hash equally.
    @Test func digestsFollowValuesAndPlaces() {
        #expect(LabelSetKey.digest(of: ["ab", "c"]) != LabelSetKey.digest(of: ["c", "ab"]))
        #expect(LabelSetKey.digest(of: ["ab", "c"]) != LabelSetKey.digest(of: ["a", "bc"]))
        #expect(LabelSetKey.digest(of: ["", ""]) != LabelSetKey.digest(of: [""]))
        var scratch = LabelScratch(count: 2)
        #expect(scratch.digest == LabelSetKey.digest(of: ["", ""]))
        scratch.set(1, "/api/v1/" + "order")
        #expect(scratch.digest == LabelSetKey.digest(of: ["", "/api/v1/order"]))
    }
}
