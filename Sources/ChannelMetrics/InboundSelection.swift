// Which exchanges are inbound (the service's ports) and which of those are not recorded.

/// `skipStatuses` and `skipPaths` of `MetricsConfiguration`, tested for every inbound exchange.
///
/// The lists are short (by default `404`, `/healthcheck` and `/metrics`): a scan comparing
/// lengths first costs a few nanoseconds where a `Set` runs SipHash over the whole path
/// (measured in `bench metrics`). Long lists keep the sets.
struct InboundSkipRules: Sendable {
    private let statuses: [Int]
    private let statusSet: Set<Int>?
    /// The paths of a short list that only a path of the same bytes equals (`isByteExact`), and
    /// where their bytes are in `exactBytes`.
    private let exactPaths: [(start: Int, count: Int)]
    private let exactBytes: [UInt8]
    /// Bit `n` set when an exact path has `n` bytes (bit 63: 63 or more).
    private let exactLengths: UInt64
    /// The other paths of a short list: compared as Strings.
    private let otherPaths: [(path: String, length: Int, isASCII: Bool)]
    private let pathSet: Set<String>?

    private static let scanLimit = 8

    init(statuses: Set<Int>, paths: Set<String>) {
        self.statuses = statuses.count <= Self.scanLimit ? Array(statuses) : []
        statusSet = statuses.count <= Self.scanLimit ? nil : statuses
        let scanned = paths.count <= Self.scanLimit ? Array(paths) : []
        var bytes: [UInt8] = []
        var exact: [(start: Int, count: Int)] = []
        for path in scanned where Self.isByteExact(path) {
            exact.append((bytes.count, path.utf8.count))
            bytes += path.utf8
        }
        exactPaths = exact
        exactLengths = exact.reduce(0) { $0 | 1 << UInt64(min($1.count, 63)) }
        exactBytes = bytes
        otherPaths = scanned.filter { !Self.isByteExact($0) }.map { ($0, $0.utf8.count, $0.utf8IsASCII) }
        pathSet = paths.count <= Self.scanLimit ? nil : paths
    }

    /// True when a String equals `path` only if it has the same UTF-8: `path` is ASCII without `;`,
    /// `` ` `` or `K`. Equal Strings are canonically equivalent (the same NFD); an ASCII string is
    /// its own NFD, so each scalar of an equal one decomposes to ASCII alone, and the only
    /// non-ASCII scalars that do are U+037E (`;`), U+1FEF (`` ` ``) and U+212A KELVIN SIGN (`K`)
    /// (checked against the runtime's tables in `MetricsFastPathTests`).
    static func isByteExact(_ path: String) -> Bool {
        path.utf8.allSatisfy { $0 < 0x80 && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "`") && $0 != UInt8(ascii: "K") }
    }

    func skipsStatus(_ status: Int) -> Bool {
        if let statusSet { return statusSet.contains(status) }
        return statuses.contains(status)
    }

    /// String equality, as `Set<String>.contains` tests it (canonical equivalence): byte-exact
    /// entries (the usual ones, `/healthcheck`, `/metrics`) by length and bytes; for the others two
    /// ASCII strings of different lengths differ, but an ASCII path can equal a non-ASCII one
    /// (U+212A KELVIN SIGN is `K`), so those are compared in full.
    @inline(__always)
    func skipsPath(_ path: String) -> Bool {
        // Most paths have none of the lengths: decided inline (the call's frame was half the cost).
        if pathSet == nil && otherPaths.isEmpty && exactLengths & (1 << UInt64(min(path.utf8.count, 63))) == 0 {
            return false
        }
        return skipsPathInFull(path)
    }

    private func skipsPathInFull(_ path: String) -> Bool {
        if let pathSet { return pathSet.contains(path) }
        let length = path.utf8.count
        for entry in exactPaths where entry.count == length {
            if hasExactBytes(entry, path) { return true }
        }
        if otherPaths.isEmpty { return false }
        var pathIsASCII: Bool?
        for entry in otherPaths {
            if entry.isASCII && entry.length != length {
                if pathIsASCII == nil { pathIsASCII = path.utf8IsASCII }
                if pathIsASCII == true { continue }
            }
            if entry.path == path { return true }
        }
        return false
    }

    /// `path` has the bytes of a byte-exact entry (of its length).
    private func hasExactBytes(_ entry: (start: Int, count: Int), _ path: String) -> Bool {
        exactBytes.withUnsafeBytes { all in
            let bytes = UnsafeRawBufferPointer(start: all.baseAddress.map { $0 + entry.start }, count: entry.count)
            return path.utf8.withContiguousStorageIfAvailable { bytes.hasSameBytes(as: UnsafeRawBufferPointer($0)) }
                ?? path.utf8.elementsEqual(bytes)
        }
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
