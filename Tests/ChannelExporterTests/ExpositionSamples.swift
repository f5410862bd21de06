// A small parser of the Prometheus text exposition, for comparing two expositions in tests.

/// Samples of an exposition grouped by series: `family{labels without le}` → value per sample suffix.
struct ExpositionSamples: Equatable {
    /// Series key (family + sorted labels without `le`) → sample kind (`count`, `total`, `le=<value>`) → value.
    var series: [String: [String: Double]] = [:]

    init(_ text: String, ignoring ignoredPrefixes: [String] = ["channel_exporter_", "python_", "process_"]) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            guard let parsed = Self.parseSample(Substring(line)) else { continue }
            if ignoredPrefixes.contains(where: { parsed.name.hasPrefix($0) }) { continue }
            var name = parsed.name
            var kind: String
            var labels = parsed.labels
            if name.hasSuffix("_created") || name.hasSuffix("_sum") { continue }
            if name.hasSuffix("_bucket") {
                name.removeLast("_bucket".count)
                let le = labels.removeValue(forKey: "le") ?? "?"
                kind = "le=\(le == "+Inf" ? "inf" : String(Double(le) ?? .nan))"
            } else if name.hasSuffix("_count") {
                name.removeLast("_count".count)
                kind = "count"
            } else if name.hasSuffix("_total") {
                name.removeLast("_total".count)
                kind = "total"
            } else {
                kind = "value"
            }
            let key = name + "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
            series[key, default: [:]][kind] = parsed.value
        }
    }

    /// Differences, one line each (empty when equal).
    func differences(from expected: ExpositionSamples) -> [String] {
        var out = [String]()
        for key in Set(series.keys).union(expected.series.keys).sorted() {
            let ours = series[key], theirs = expected.series[key]
            if ours == nil { out.append("missing: \(key) (expected count \(theirs?["count"] ?? theirs?["total"] ?? 0))"); continue }
            if theirs == nil { out.append("unexpected: \(key) (count \(ours?["count"] ?? ours?["total"] ?? 0))"); continue }
            if ours != theirs { out.append("differs: \(key): ours \(ours!.sorted { $0.key < $1.key }) expected \(theirs!.sorted { $0.key < $1.key })") }
        }
        return out
    }

    private static func parseSample(_ line: Substring) -> (name: String, labels: [String: String], value: Double)? {
        let chars = Array(line.unicodeScalars)
        var i = 0
        var name = ""
        while i < chars.count, chars[i] != "{", chars[i] != " " { name.unicodeScalars.append(chars[i]); i += 1 }
        var labels = [String: String]()
        if i < chars.count, chars[i] == "{" {
            i += 1
            while i < chars.count, chars[i] != "}" {
                if chars[i] == "," || chars[i] == " " { i += 1; continue }
                var key = ""
                while i < chars.count, chars[i] != "=" { key.unicodeScalars.append(chars[i]); i += 1 }
                i += 2  // ="
                var value = ""
                while i < chars.count, chars[i] != "\"" {
                    if chars[i] == "\\", i + 1 < chars.count {
                        i += 1
                        value.unicodeScalars.append(chars[i] == "n" ? "\n" : chars[i])
                    } else {
                        value.unicodeScalars.append(chars[i])
                    }
                    i += 1
                }
                i += 1
                labels[key] = value
            }
            i += 1
        }
        let rest = String(String.UnicodeScalarView(chars[i...])).split(separator: " ")
        guard let first = rest.first else { return nil }
        let value: Double? = first == "+Inf" ? .infinity : first == "-Inf" ? -.infinity : first == "NaN" ? .nan : Double(first)
        guard let value else { return nil }
        return (name, labels, value)
    }
}
