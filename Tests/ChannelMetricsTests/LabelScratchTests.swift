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
        let histogram = HistogramFamily(name: "f", help: "h", labelNames: names, bounds: [1, 10], maxSeries: maxSeries)
        let counter = CounterFamily(name: "c", help: "h", labelNames: names, maxSeries: maxSeries)
        // As the inbound family (one histogram) and the external ones (a counter, then a histogram).
        var alone = histogram, first = counter, second = histogram
        var general = histogram, generalCounter = counter
        var scratch = LabelScratch(count: 4)
        var shared = LabelScratch(count: 4)
        var recorded = (alone: 0, shared: 0, general: 0)
        for step in 0..<20_000 {
            // Mostly one or no value changed, as between consecutive exchanges.
            for _ in 0..<dice.next(3) {
                let (index, value) = (dice.next(4), Self.randomValue(&dice))
                scratch.set(index, value)
                shared.set(index, value)
            }
            #expect(scratch.digest == LabelSetKey.digest(of: scratch.values))
            #expect(shared.values == scratch.values)
            let nanoseconds = Int64(dice.next(30)) * 500_000
            if scratch.record(nanoseconds: nanoseconds, in: &alone) { recorded.alone += 1 }
            let counted = shared.record(1, in: &first)
            let timed = shared.record(nanoseconds: nanoseconds, inSecond: &second)
            if counted || timed { recorded.shared += 1 }
            if general.observe(scratch.values, nanoseconds: nanoseconds) { recorded.general += 1 }
            generalCounter.increment(scratch.values)
            if step % 1_000 == 0 { #expect(alone.snapshot() == general.snapshot()) }
        }
        #expect(recorded.alone == recorded.general)
        #expect(recorded.shared == recorded.general)
        for family in [alone, second] {
            #expect(family.snapshot() == general.snapshot())
            #expect(family.refused == general.refused)
        }
        #expect(first.snapshot() == generalCounter.snapshot())
        #expect(first.refused == generalCounter.refused)
        if maxSeries == 3 {
            #expect(general.refused > 1_000)  // refusals were repeated, not remembered
        } else {
            #expect(general.seriesCount > 100)
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
