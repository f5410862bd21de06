// A structured copy of the families' series, for parity tests and tools (not the scrape path).

/// One family's series as values: label sets with their counts, for comparing family by
/// family and label set by label set (e.g. against the reference's scrape).
public struct FamilySnapshot: Sendable, Hashable {
    public struct Series: Sendable, Hashable {
        /// Label name → value.
        public var labels: [String: String]
        /// Cumulative bucket counts, one per bound then `+Inf` (empty for a counter).
        public var cumulativeBuckets: [UInt64]
        /// Observations (histogram `_count`) or the counter's value.
        public var count: Double
        /// Histogram `_sum` (0 for a counter).
        public var sum: Double
    }

    public var name: String
    public var type: ExpositionWriter.MetricType
    /// Bucket bounds in the family's unit (empty for a counter).
    public var bounds: [Double]
    public var series: [Series]
}

extension HistogramFamily {
    func snapshot() -> FamilySnapshot {
        let width = bounds.count + 1
        var series: [FamilySnapshot.Series] = []
        for (i, labels) in table.labelDictionaries().enumerated() {
            var cumulative: [UInt64] = []
            var total: UInt64 = 0
            for b in 0..<width {
                total += counts[i * width + b]
                cumulative.append(total)
            }
            series.append(.init(
                labels: labels, cumulativeBuckets: cumulative,
                count: Double(total), sum: sum(ofSeries: i)))
        }
        return FamilySnapshot(name: name, type: .histogram, bounds: bounds, series: series)
    }
}

extension CounterFamily {
    func snapshot() -> FamilySnapshot {
        let series = table.labelDictionaries().enumerated().map { (i, labels) in
            FamilySnapshot.Series(labels: labels, cumulativeBuckets: [], count: self.values[i], sum: 0)
        }
        return FamilySnapshot(name: name + "_total", type: .counter, bounds: [], series: series)
    }
}

extension ChannelMetrics {
    /// The five families as values, in exposition order.
    public func snapshot() -> [FamilySnapshot] {
        let families = familiesCopy()
        return [
            families.inner.snapshot(), families.partner.snapshot(), families.externalCalls.snapshot(),
            families.externalDuration.snapshot(), families.consumer.snapshot(),
        ]
    }
}
