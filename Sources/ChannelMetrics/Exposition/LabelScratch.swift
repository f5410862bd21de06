// One family's label values kept between observations, with their hashes and their series.

import TCPReassembly

/// The label values of a family's observations (those after `appid` and `application`), one
/// array kept between observations and written in place: an observation whose series exists
/// allocates nothing (measured: an array per exchange before), and no array is emptied. Used in
/// place where it is stored (taken out and put back, its arrays were retained and released).
///
/// Consecutive observations often repeat values (the same path, caller, code). Each value's
/// hash (`LabelSetKey.valueHash`) is kept and recomputed only when the value changes, and the
/// series the values belong to is kept until one changes: families never drop a series, so
/// unchanged values are still that series and need neither a digest nor a lookup.
///
/// Measured (callgrind, keepalive.pcap's pipeline): hashing six values and looking the set
/// up was about 580 instructions of every inbound exchange.
struct LabelScratch: Sendable {
    private(set) var values: [String]
    /// `LabelSetKey.valueHash` of each value.
    private var hashes: [UInt64]
    /// The series of `values` in the first and the second family they feed (the external
    /// families share one label set); nil when not known. Cleared when a value changes.
    var series: (first: Int?, second: Int?) = (nil, nil)

    init(count: Int) {
        values = Array(repeating: "", count: count)
        hashes = Array(repeating: LabelSetKey.valueHash(""), count: count)
    }

    /// Sets value `index`; an equal value (the same UTF-8, what the series index compares) leaves
    /// it, its hash and the known series as they are (also no retain of the new string and
    /// release of the old).
    @inline(__always)
    mutating func set(_ index: Int, _ value: String) {
        guard !values[index].hasSameUTF8(as: value) else { return }
        values[index] = value
        hashes[index] = LabelSetKey.valueHash(value)
        series = (nil, nil)
    }

    /// Adds a duration of `nanoseconds` to the series of the values in `family` (the first family
    /// they feed); false (counted by the family) when it refuses a new series. `key`: where a new
    /// series is first seen (`EventOrder`), when series are ordered that way.
    mutating func record(nanoseconds: Int64, in family: inout HistogramFamily, key: EventOrderKey? = nil) -> Bool {
        guard let known = series(in: &family, key: key) else { return false }
        family.add(nanoseconds: nanoseconds, toSeries: known)
        return true
    }

    /// The series of the values in `family` (the first family they feed), added when new; nil
    /// (counted by the family) when it refuses a new series.
    mutating func series(in family: inout HistogramFamily, key: EventOrderKey? = nil) -> Int? {
        if series.first == nil { series.first = family.series(of: values, digest: digest, key: key) }
        return series.first
    }

    /// `record` for the first family when it is a counter.
    mutating func record(_ amount: Double, in family: inout CounterFamily, key: EventOrderKey? = nil) -> Bool {
        if series.first == nil { series.first = family.series(of: values, digest: digest, key: key) }
        guard let known = series.first else { return false }
        family.add(amount, toSeries: known)
        return true
    }

    /// `record` for the second family the values feed.
    mutating func record(nanoseconds: Int64, inSecond family: inout HistogramFamily, key: EventOrderKey? = nil) -> Bool {
        if series.second == nil { series.second = family.series(of: values, digest: digest, key: key) }
        guard let known = series.second else { return false }
        family.add(nanoseconds: nanoseconds, toSeries: known)
        return true
    }

    /// `LabelSetKey.digest(of: values)`, from the kept hashes.
    var digest: UInt64 {
        var h = LabelSetKey.start(count: hashes.count)
        for hash in hashes { h = LabelSetKey.combine(h, hash) }
        return h
    }
}
