// Label-set storage for one histogram or counter family, with a cap on the number of series.

import TCPReassembly

/// The pre-rendered label text of one series, split around `le` (labels are sorted by
/// name, so `le` falls between them). Each value is stored once here, escaped.
struct RenderedLabels: Sendable {
    /// `a="x",b="y",` for the labels sorting before `le` (trailing comma when non-empty).
    var beforeLe: String
    /// `,c="z"` for those after `le` (leading comma when non-empty).
    var afterLe: String

    init(names: [String], values: [String]) {
        let sorted = zip(names, values).sorted { $0.0 < $1.0 }
        let rendered = sorted.map { "\($0.0)=\"\(ExpositionWriter.escapeLabelValue($0.1))\"" }
        let split = sorted.firstIndex { $0.0 > "le" } ?? sorted.count
        let before = rendered[..<split].joined(separator: ",")
        let after = rendered[split...].joined(separator: ",")
        beforeLe = before.isEmpty ? "" : before + ","
        afterLe = after.isEmpty ? "" : "," + after
    }

    /// Appends `{a="x",b="y",c="z"}` (nothing when there are no labels).
    func appendAll(to text: inout String) {
        if beforeLe.isEmpty && afterLe.isEmpty { return }
        text += "{"
        if afterLe.isEmpty {
            text += beforeLe.dropLast()
        } else {
            text += beforeLe
            text += afterLe.dropFirst()
        }
        text += "}"
    }
}

/// A histogram family: series in first-observed order (as prometheus_client keeps them).
struct HistogramFamily: Sendable {
    let name: String
    let help: String
    let bounds: [Double]
    let boundTexts: [String]

    /// What the values and the bounds count: a duration's nanoseconds over this are its value.
    let unit: DurationUnit
    private(set) var table: SeriesTable
    /// `(bounds.count + 1)` non-cumulative counts per series, series after series.
    private(set) var counts: [UInt64] = []
    /// Each series' sum in nanoseconds, whole: integers add up to the same total in any order, so
    /// series counted apart (a replay's connections split over pipelines) add up to what one count
    /// gives, and the sum is rounded once, when written. Doubles added one by one round at every
    /// addition, differently in another order. 128 bits: 64 would overflow after 292 years of
    /// summed latency, a few days of a busy service's slow calls.
    private(set) var nanosecondSums: [Int128] = []

    /// The units a family's values are in.
    enum DurationUnit: Sendable {
        case milliseconds, seconds
        var nanoseconds: Double { self == .milliseconds ? 1e6 : 1e9 }
    }

    init(
        name: String, help: String, labelNames: [String], constantValues: [String] = [], bounds: [Double],
        unit: DurationUnit = .milliseconds, maxSeries: Int, maxLabelBytes: Int = .max
    ) {
        self.name = name
        self.help = help
        self.bounds = bounds
        self.boundTexts = bounds.map(PythonFormatting.goFloat) + ["+Inf"]
        self.unit = unit
        table = SeriesTable(
            labelNames: labelNames, constantValues: constantValues, maxSeries: maxSeries, maxLabelBytes: maxLabelBytes)
    }

    /// Series `series`' sum in the family's unit.
    func sum(ofSeries series: Int) -> Double { Double(nanosecondSums[series]) / unit.nanoseconds }

    var seriesCount: Int { table.labels.count }
    var refused: UInt64 { table.refused }

    /// Adds a duration of `nanoseconds` to the series of `labelValues` (the values after
    /// `constantValues`); false (counted) when it would be a new series beyond the cap.
    @discardableResult
    mutating func observe(_ labelValues: [String], nanoseconds: Int64) -> Bool {
        guard let series = series(of: labelValues, digest: LabelSetKey.digest(of: labelValues)) else { return false }
        add(nanoseconds: nanoseconds, toSeries: series)
        return true
    }

    /// The series of `labelValues` (the values after `constantValues`), whose digest is given,
    /// added when new (first seen at `key`, when the caller orders series that way); nil (counted)
    /// when it would be a new series beyond the cap. The values are kept only for a new series.
    mutating func series(of labelValues: [String], digest: UInt64, key: EventOrderKey? = nil) -> Int? {
        guard let (series, isNew) = table.series(of: labelValues, digest: digest, key: key) else { return nil }
        if isNew {
            counts.append(contentsOf: repeatElement(0, count: bounds.count + 1))
            nanosecondSums.append(0)
        }
        return series
    }

    /// Adds a duration of `nanoseconds` to a series (from `series(of:digest:)`): in the bucket of
    /// its value in the family's unit (a value equal to a bound in that bound's bucket, `le`).
    /// The value is the reference's, bit for bit: `timedelta.total_seconds()` (the nanoseconds
    /// over 10⁹, rounded once), times 1000 for milliseconds.
    mutating func add(nanoseconds: Int64, toSeries series: Int) {
        let seconds = Double(nanoseconds) / 1e9
        let value = unit == .milliseconds ? seconds * 1000 : seconds
        // The first bound not below the value (NaN: none, `+Inf`), over the bounds in place.
        let bucket = bounds.withUnsafeBufferPointer { bounds in
            var i = 0
            while i < bounds.count && !(value <= bounds[i]) { i &+= 1 }
            return i
        }
        counts[series * (bounds.count + 1) + bucket] += 1
        nanosecondSums[series] += Int128(nanoseconds)
    }

    /// Adds the series of `parts` (families of the same name and bounds, made by pipelines that
    /// each read some of a replay's connections, their series with first keys) in the order of
    /// their first keys, which one pipeline's first-observed order is; counts and sums add up.
    mutating func absorb(_ parts: [HistogramFamily]) {
        let width = bounds.count + 1
        for origin in SeriesOrigin.inFirstSeenOrder(parts.map(\.table)) {
            let part = parts[origin.part]
            let key = part.table.index.keys[origin.series]
            let range = origin.series * width..<(origin.series + 1) * width
            guard let series = series(of: key.values, digest: key.digest, key: origin.key) else {
                // The refusal counted one observation; the others of the series the part kept.
                table.countRefused(max(part.counts[range].reduce(0, +), 1) - 1)
                continue
            }
            for (i, count) in part.counts[range].enumerated() { counts[series * width + i] += count }
            nanosecondSums[series] += part.nanosecondSums[origin.series]
        }
        for part in parts { table.countRefused(part.refused) }
    }

    func write(to writer: inout ExpositionWriter) {
        writer.header(name: name, help: help, type: .histogram)
        let width = bounds.count + 1
        var text = ""
        for series in table.labels.indices {
            let rendered = table.labels[series]
            var cumulative: UInt64 = 0
            for i in 0..<width {
                cumulative += counts[series * width + i]
                text += name
                text += "_bucket{"
                text += rendered.beforeLe
                text += "le=\""
                text += boundTexts[i]
                text += "\""
                text += rendered.afterLe
                text += "} "
                text += PythonFormatting.goFloat(Double(cumulative))
                text += "\n"
            }
            text += name
            text += "_count"
            rendered.appendAll(to: &text)
            text += " \(PythonFormatting.goFloat(Double(cumulative)))\n"
            text += name
            text += "_sum"
            rendered.appendAll(to: &text)
            text += " \(PythonFormatting.goFloat(sum(ofSeries: series)))\n"
            if text.utf8.count >= writer.pieceBytes {
                writer.appendRaw(text)
                text = ""
            }
        }
        writer.appendRaw(text)
    }
}

/// A counter family (name without `_total`).
struct CounterFamily: Sendable {
    let name: String
    let help: String

    private(set) var table: SeriesTable
    private(set) var values: [Double] = []

    init(
        name: String, help: String, labelNames: [String], constantValues: [String] = [], maxSeries: Int,
        maxLabelBytes: Int = .max
    ) {
        self.name = name
        self.help = help
        table = SeriesTable(
            labelNames: labelNames, constantValues: constantValues, maxSeries: maxSeries, maxLabelBytes: maxLabelBytes)
    }

    var seriesCount: Int { table.labels.count }
    var refused: UInt64 { table.refused }

    @discardableResult
    mutating func increment(_ labelValues: [String], by amount: Double = 1) -> Bool {
        increment(labelValues, digest: LabelSetKey.digest(of: labelValues), by: amount)
    }

    @discardableResult
    mutating func increment(_ labelValues: [String], digest: UInt64, by amount: Double = 1) -> Bool {
        guard let series = series(of: labelValues, digest: digest) else { return false }
        add(amount, toSeries: series)
        return true
    }

    /// As `HistogramFamily.series(of:digest:key:)`.
    mutating func series(of labelValues: [String], digest: UInt64, key: EventOrderKey? = nil) -> Int? {
        guard let (series, isNew) = table.series(of: labelValues, digest: digest, key: key) else { return nil }
        if isNew { values.append(0) }
        return series
    }

    mutating func add(_ amount: Double, toSeries series: Int) { values[series] += amount }

    /// As `HistogramFamily.absorb(_:)`. The values are counts of observations (whole numbers far
    /// below 2^53): they add up to the same in any order.
    mutating func absorb(_ parts: [CounterFamily]) {
        for origin in SeriesOrigin.inFirstSeenOrder(parts.map(\.table)) {
            let part = parts[origin.part]
            let key = part.table.index.keys[origin.series]
            guard let series = series(of: key.values, digest: key.digest, key: origin.key) else {
                table.countRefused(max(UInt64(part.values[origin.series]), 1) - 1)
                continue
            }
            values[series] += part.values[origin.series]
        }
        for part in parts { table.countRefused(part.refused) }
    }

    func write(to writer: inout ExpositionWriter) {
        writer.header(name: name, help: help, type: .counter)
        var text = ""
        for series in table.labels.indices {
            text += name
            text += "_total"
            table.labels[series].appendAll(to: &text)
            text += " \(PythonFormatting.goFloat(values[series]))\n"
            if text.utf8.count >= writer.pieceBytes {
                writer.appendRaw(text)
                text = ""
            }
        }
        writer.appendRaw(text)
    }
}

/// A series of one of several families being merged, by where it was first seen.
struct SeriesOrigin {
    var key: EventOrderKey
    var part: Int
    var series: Int

    /// Every series of `tables`, by first key (ties, the same label set first seen at the same
    /// key in two parts, cannot happen: one event is one pipeline's). Each table must carry a
    /// key for every series (its observations were ordered).
    static func inFirstSeenOrder(_ tables: [SeriesTable]) -> [SeriesOrigin] {
        var origins: [SeriesOrigin] = []
        for (part, table) in tables.enumerated() {
            precondition(table.firstKeys.count == table.labels.count, "a part's series were observed without an EventOrder")
            for (series, key) in table.firstKeys.enumerated() { origins.append(SeriesOrigin(key: key, part: part, series: series)) }
        }
        origins.sort { $0.key < $1.key }
        return origins
    }
}

/// The series of one family: each label set's index by digest, its rendered labels, and the caps on
/// their number and on their rendered labels' bytes. The families keep their values by the same index.
///
/// The byte cap: every line of a series in the exposition repeats its labels (a histogram has a line
/// per bucket, its sum and count), so what a scrape renders grows with the labels' bytes times the
/// lines. Label values are cut at `maxLabelValueBytes` each, but 10,000 series of requests with
/// 2 KB paths and 2 KB `Method-Code`s (12,000 such requests: 58 MB of traffic) made a 1.0 GB
/// exposition and 2.1 GB of resident memory to render it.
struct SeriesTable: Sendable {
    let labelNames: [String]
    /// The values of the first labels, the same in every series (`appid`, `application`):
    /// observations give only the rest, so those are neither copied nor hashed each time.
    let constantValues: [String]
    let maxSeries: Int
    /// Most bytes of rendered labels (`a="x",b="y"`) over all series; a new series past it is refused.
    let maxLabelBytes: Int
    private(set) var labelBytes = 0

    private(set) var index = SeriesIndex()
    private(set) var labels: [RenderedLabels] = []
    /// Where each series was first seen, when the observations came with an `EventOrderKey`
    /// (a pipeline of a split replay: its series are merged by it); empty otherwise.
    private(set) var firstKeys: [EventOrderKey] = []
    /// New label sets refused at either cap.
    private(set) var refused: UInt64 = 0

    init(labelNames: [String], constantValues: [String], maxSeries: Int, maxLabelBytes: Int = .max) {
        self.labelNames = labelNames
        self.constantValues = constantValues
        self.maxSeries = maxSeries
        self.maxLabelBytes = maxLabelBytes
    }

    /// The series of `labelValues` (the values after `constantValues`), whose digest is given,
    /// added when new (`isNew`: the family adds its values for it); nil (counted) when it would be
    /// a new series beyond the cap. The values are kept only for a new series.
    mutating func series(of labelValues: [String], digest: UInt64, key: EventOrderKey? = nil) -> (series: Int, isNew: Bool)? {
        if let existing = index.find(labelValues, digest: digest) { return (existing, false) }
        guard labels.count < maxSeries else {
            refused += 1
            return nil
        }
        let rendered = RenderedLabels(names: labelNames, values: constantValues + labelValues)
        let bytes = rendered.beforeLe.utf8.count + rendered.afterLe.utf8.count
        guard labelBytes + bytes <= maxLabelBytes else {
            refused += 1
            return nil
        }
        labelBytes += bytes
        let series = index.insert(LabelSetKey(values: labelValues, digest: digest))
        labels.append(rendered)
        if let key { firstKeys.append(key) }
        return (series, true)
    }

    /// Counts observations refused elsewhere (a merge that found the cap reached).
    mutating func countRefused(_ observations: UInt64) { refused += observations }

    /// Each series' labels, name → value, in series order (for snapshots).
    func labelDictionaries() -> [[String: String]] {
        index.keys.map { Dictionary(uniqueKeysWithValues: zip(labelNames, constantValues + $0.values)) }
    }
}
