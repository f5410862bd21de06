// Prometheus text format 0.0.4 and OpenMetrics 1.0.0 writing, as prometheus_client writes them.

/// The two exposition formats served at `/metrics`.
public enum ExpositionFormat: Sendable, Hashable {
    /// Prometheus text format 0.0.4 (prometheus_client `generate_latest`).
    case prometheusText
    /// OpenMetrics 1.0.0 (prometheus_client `openmetrics.exposition.generate_latest`), ends with `# EOF`.
    case openMetrics

    /// The `Content-Type` of a response in this format.
    public var contentType: String {
        switch self {
        case .prometheusText: return "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: return "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// Picks the format from an `Accept` header as prometheus_client's `choose_encoder` does:
    /// OpenMetrics only when a listed media type is `application/openmetrics-text`.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .prometheusText }
        for item in accept.split(separator: ",") {
            let media = item.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces() } ?? ""
            if media == "application/openmetrics-text" { return .openMetrics }
        }
        return .prometheusText
    }
}

/// Writes metric families in either format, the way prometheus_client 0.26 does:
/// `# HELP` / `# TYPE` per family, labels sorted by name, values as `floatToGoString`
/// (`1.0`, `+Inf`, `1e+06`), label values escaped (`\\`, `\"`, `\n`).
///
/// Counters are named without `_total` here; the text format writes `x_total` in
/// HELP/TYPE and samples, OpenMetrics writes `x` in HELP/TYPE and `x_total` samples.
///
/// Why not swift-prometheus 2.4.1: it writes `le` and values with Swift's
/// `description` (`le="1000000.0"` where the reference writes `le="1e+06"`, counts
/// `3` where it writes `3.0`), keeps labels in the caller's order (the reference
/// sorts them), has no OpenMetrics output, and no per-family series cap with a
/// count of refusals. Matching the reference's text exactly needs this small writer.
public struct ExpositionWriter: Sendable {
    public enum MetricType: String, Sendable {
        case counter, gauge, histogram
    }

    public let format: ExpositionFormat
    /// What is written, in pieces of about `pieceBytes`, and the piece being written. A scrape at the
    /// label bounds is a quarter of a gigabyte: held as one string, it was copied whole into the
    /// server's buffer; in pieces, each is let go once copied.
    private var pieces: [String] = []
    private var current = ""
    /// The size at which a piece is closed (`defaultPieceBytes` but in tests).
    public let pieceBytes: Int
    /// Above glibc's largest threshold for allocating with `mmap` (32 MiB), so that a piece let go
    /// goes back to the system at once (1 MiB pieces stayed in the heap: 593 MB of peak RSS to render
    /// a 267 MB exposition, 421 MB as one string).
    public static let defaultPieceBytes = 40 << 20

    /// Everything written so far, as one string.
    public var output: String { pieces.joined() + current }

    public init(format: ExpositionFormat, pieceBytes: Int = ExpositionWriter.defaultPieceBytes) {
        self.format = format
        self.pieceBytes = max(1, pieceBytes)
    }

    // MARK: families

    /// Writes `# HELP` and `# TYPE` for a family (`name` of a counter without `_total`).
    public mutating func header(name: String, help: String, type: MetricType) {
        let shown = type == .counter && format == .prometheusText ? name + "_total" : name
        current += "# HELP \(shown) \(Self.escapeHelp(help, format: format))\n"
        current += "# TYPE \(shown) \(type.rawValue)\n"
    }

    /// One sample line; `labels` are sorted by name here.
    public mutating func sample(name: String, labels: [(String, String)], value: Double) {
        current += name
        current += Self.renderLabels(labels)
        current += " "
        current += PythonFormatting.goFloat(value)
        current += "\n"
        if current.utf8.count >= pieceBytes { closePiece() }
    }

    /// A counter family with its samples (`name` without `_total`).
    public mutating func counter(name: String, help: String, samples: [(labels: [(String, String)], value: Double)]) {
        header(name: name, help: help, type: .counter)
        for s in samples { sample(name: name + "_total", labels: s.labels, value: s.value) }
    }

    /// A gauge family with its samples.
    public mutating func gauge(name: String, help: String, samples: [(labels: [(String, String)], value: Double)]) {
        header(name: name, help: help, type: .gauge)
        for s in samples { sample(name: name, labels: s.labels, value: s.value) }
    }

    /// One histogram series: `_bucket` lines (cumulative, `le` last bound `+Inf`), `_count`, `_sum`.
    /// `bucketCounts` holds one non-cumulative count per bound plus one for `+Inf`.
    public mutating func histogramSeries(
        name: String, labels: [(String, String)], bounds: [Double], bucketCounts: [UInt64], sum: Double
    ) {
        precondition(bucketCounts.count == bounds.count + 1, "one count per bound plus +Inf")
        var cumulative: UInt64 = 0
        for i in 0...bounds.count {
            cumulative += bucketCounts[i]
            let le = i < bounds.count ? PythonFormatting.goFloat(bounds[i]) : "+Inf"
            sample(name: name + "_bucket", labels: labels + [("le", le)], value: Double(cumulative))
        }
        sample(name: name + "_count", labels: labels, value: Double(cumulative))
        sample(name: name + "_sum", labels: labels, value: sum)
    }

    /// Appends text rendered elsewhere (pre-rendered sample lines).
    /// Appends text rendered elsewhere (pre-rendered sample lines; best in pieces of about `pieceBytes`).
    public mutating func appendRaw(_ text: String) {
        if text.utf8.count >= pieceBytes {
            closePiece()
            pieces.append(text)  // its storage, not a copy
            return
        }
        current += text
        if current.utf8.count >= pieceBytes { closePiece() }
    }

    private mutating func closePiece() {
        guard !current.isEmpty else { return }
        pieces.append(current)
        current = ""
    }

    /// Ends the exposition (`# EOF` in OpenMetrics) and returns it, as one string (built with each
    /// piece let go once copied).
    public mutating func finish() -> String {
        if format == .openMetrics { current += "# EOF\n" }
        guard !pieces.isEmpty else { return current }
        var whole = ""
        whole.reserveCapacity(pieces.reduce(current.utf8.count) { $0 + $1.utf8.count })
        for i in pieces.indices {
            whole += pieces[i]
            pieces[i] = ""
        }
        whole += current
        pieces = []
        current = ""
        return whole
    }

    /// Ends the exposition (`# EOF` in OpenMetrics) and returns it in pieces, for a server to copy
    /// one at a time and let each go (see `pieces`).
    public mutating func finishPieces() -> [String] {
        if format == .openMetrics { current += "# EOF\n" }
        closePiece()
        defer { pieces = [] }
        return pieces
    }

    // MARK: escaping

    /// `{a="x",b="y"}` with labels sorted by name; empty when there are none.
    public static func renderLabels(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        let sorted = labels.sorted { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        var text = "{"
        for (i, label) in sorted.enumerated() {
            if i > 0 { text += "," }
            text += label.0
            text += "=\""
            text += escapeLabelValue(label.1)
            text += "\""
        }
        text += "}"
        return text
    }

    /// Label values: `\` → `\\`, newline → `\n`, `"` → `\"` (both formats).
    public static func escapeLabelValue(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x0A || $0 == 0x22 }) else { return value }
        var out = ""
        out.reserveCapacity(value.utf8.count + 4)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"": out += "\\\""
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// HELP text: `\\` and `\n` escaped (OpenMetrics also escapes `"`).
    public static func escapeHelp(_ help: String, format: ExpositionFormat) -> String {
        var out = ""
        for scalar in help.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where format == .openMetrics: out += "\\\""
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
