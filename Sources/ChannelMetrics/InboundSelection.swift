// Which exchanges are inbound (the service's ports) and which of those are not recorded.

/// `skipStatuses` and `skipPaths` of `MetricsConfiguration`, tested for every inbound exchange.
///
/// The lists are short (by default `404`, `/healthcheck` and `/metrics`): a scan comparing
/// lengths first costs a few nanoseconds where a `Set` runs SipHash over the whole path
/// (measured in `bench metrics`). Long lists keep the sets.
struct InboundSkipRules: Sendable {
    private let statuses: [Int]
    private let statusSet: Set<Int>?
    private let paths: [(path: String, length: Int, isASCII: Bool)]
    private let pathSet: Set<String>?

    private static let scanLimit = 8

    init(statuses: Set<Int>, paths: Set<String>) {
        self.statuses = statuses.count <= Self.scanLimit ? Array(statuses) : []
        statusSet = statuses.count <= Self.scanLimit ? nil : statuses
        self.paths = paths.count <= Self.scanLimit ? paths.map { ($0, $0.utf8.count, $0.utf8IsASCII) } : []
        pathSet = paths.count <= Self.scanLimit ? nil : paths
    }

    func skipsStatus(_ status: Int) -> Bool {
        if let statusSet { return statusSet.contains(status) }
        return statuses.contains(status)
    }

    /// String equality, as `Set<String>.contains` tests it (canonical equivalence): two ASCII
    /// strings of different lengths differ, but an ASCII path can equal a non-ASCII one
    /// (U+212A KELVIN SIGN is `K`), so those are compared in full.
    func skipsPath(_ path: String) -> Bool {
        if let pathSet { return pathSet.contains(path) }
        let length = path.utf8.count
        var pathIsASCII: Bool?
        for entry in paths {
            if entry.isASCII && entry.length != length {
                if pathIsASCII == nil { pathIsASCII = path.utf8IsASCII }
                if pathIsASCII == true { continue }
            }
            if entry.path == path { return true }
        }
        return false
    }
}

/// A set of TCP ports as a 65,536-bit map: a membership test per exchange without hashing.
struct PortSet: Sendable {
    private var words = [UInt64](repeating: 0, count: 1 << 10)

    init(_ ports: Set<UInt16>) {
        for port in ports { words[Int(port >> 6)] |= 1 << UInt64(port & 63) }
    }

    func contains(_ port: UInt16) -> Bool { words[Int(port >> 6)] & (1 << UInt64(port & 63)) != 0 }
}
