// Label-set storage for one histogram or counter family, with a cap on the number of series.

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

    private(set) var table: SeriesTable
    /// `(bounds.count + 1)` non-cumulative counts per series, series after series.
    private(set) var counts: [UInt64] = []
    private(set) var sums: [Double] = []

    init(
        name: String, help: String, labelNames: [String], constantValues: [String] = [], bounds: [Double], maxSeries: Int,
        maxLabelBytes: Int = .max
    ) {
        self.name = name
        self.help = help
        self.bounds = bounds
        self.boundTexts = bounds.map(PythonFormatting.goFloat) + ["+Inf"]
        table = SeriesTable(
            labelNames: labelNames, constantValues: constantValues, maxSeries: maxSeries, maxLabelBytes: maxLabelBytes)
    }

    var seriesCount: Int { table.labels.count }
    var refused: UInt64 { table.refused }

    /// Adds `value` to the series of `labelValues` (the values after `constantValues`); false
    /// (counted) when it would be a new series beyond the cap. A value equal to a bound goes in that bound's bucket (`le`).
    @discardableResult
    mutating func observe(_ labelValues: [String], _ value: Double) -> Bool {
        observe(labelValues, digest: LabelSetKey.digest(of: labelValues), value)
    }

    /// `observe` with the label set's digest made by the caller (one for the families that
    /// share a label set). The values are kept only for a new series.
    @discardableResult
    mutating func observe(_ labelValues: [String], digest: UInt64, _ value: Double) -> Bool {
        guard let series = series(of: labelValues, digest: digest) else { return false }
        add(value, toSeries: series)
        return true
    }

    /// The series of `labelValues` (the values after `constantValues`), whose digest is given,
    /// added when new; nil (counted) when it would be a new series beyond the cap. The values
    /// are kept only for a new series.
    mutating func series(of labelValues: [String], digest: UInt64) -> Int? {
        guard let (series, isNew) = table.series(of: labelValues, digest: digest) else { return nil }
        if isNew {
            counts.append(contentsOf: repeatElement(0, count: bounds.count + 1))
            sums.append(0)
        }
        return series
    }

    /// Adds `value` to a series (from `series(of:digest:)`). A value equal to a bound goes in
    /// that bound's bucket (`le`).
    mutating func add(_ value: Double, toSeries series: Int) {
        // The first bound not below the value (NaN: none, `+Inf`), over the bounds in place.
        let bucket = bounds.withUnsafeBufferPointer { bounds in
            var i = 0
            while i < bounds.count && !(value <= bounds[i]) { i &+= 1 }
            return i
        }
        counts[series * (bounds.count + 1) + bucket] += 1
        sums[series] += value
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
            text += " \(PythonFormatting.goFloat(sums[series]))\n"
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

    /// As `HistogramFamily.series(of:digest:)`.
    mutating func series(of labelValues: [String], digest: UInt64) -> Int? {
        guard let (series, isNew) = table.series(of: labelValues, digest: digest) else { return nil }
        if isNew { values.append(0) }
        return series
    }

    mutating func add(_ amount: Double, toSeries series: Int) { values[series] += amount }

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
    mutating func series(of labelValues: [String], digest: UInt64) -> (series: Int, isNew: Bool)? {
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
        return (series, true)
    }

    /// Each series' labels, name → value, in series order (for snapshots).
    func labelDictionaries() -> [[String: String]] {
        index.keys.map { Dictionary(uniqueKeysWithValues: zip(labelNames, constantValues + $0.values)) }
    }
}
