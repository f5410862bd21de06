// Which exchanges are inbound (the service's ports) and which of those are not recorded.

/// `skipStatuses` and `skipPaths` of `MetricsConfiguration`, tested for every inbound exchange.
///
/// A path is skipped when its UTF-8 bytes are those of a configured skip path, as the reference
/// decides it: `request.path in ('/healthcheck', '/metrics')` in `inner_metrics_before` and
/// `inner_metrics` (channel-exporter 1.2.2; REFERENCE-BEHAVIOUR §2 "except: status 404, and request
/// paths `/healthcheck` and `/metrics`"). Python's `str` equality compares code points, so
/// `"/caf\u{e9}"` and `"/cafe\u{301}"` are two paths there, and U+212A KELVIN SIGN is not `K`
/// (Swift's `String ==`, canonical equivalence, would call each pair equal). The path compared is
/// `request.path`: Flask's, without the query string and percent-decoded
/// (`HTTPRequestSummary.path`), its leading `/`s made one as Werkzeug does (`//healthcheck` is
/// skipped), with no other change (a trailing `/` is kept, letters keep their case).
///
/// The paths' lengths as a bitmask decide most exchanges inline (the usual list is `/healthcheck`
/// and `/metrics`: a path of neither length is not skipped); a path of a listed length is looked
/// up among the paths sorted by length and bytes, in place (no hashing, no allocation).
struct InboundSkipRules: Sendable {
    private let statuses: [Int]
    private let statusSet: Set<Int>?
    /// The skip paths' UTF-8, one after another.
    private let pathBytes: [UInt8]
    /// Where each skip path is in `pathBytes`: sorted by count, then by bytes (unsigned,
    /// lexicographic), each path once.
    private let paths: [(start: Int, count: Int)]
    /// Bit `n` set when a skip path has `n` bytes (bit 63: 63 or more).
    private let pathLengths: UInt64

    /// Status lists up to this long are scanned (a few compares where a `Set` hashes); longer
    /// ones keep the set.
    private static let scanLimit = 8

    /// `paths`: compared by their UTF-8 bytes (a list, not a `Set<String>`: a set keeps one of
    /// two canonically equivalent spellings).
    init(statuses: Set<Int>, paths: [String]) {
        self.statuses = statuses.count <= Self.scanLimit ? Array(statuses) : []
        statusSet = statuses.count <= Self.scanLimit ? nil : statuses
        let sorted = paths.map { Array($0.utf8) }.sorted {
            $0.count != $1.count ? $0.count < $1.count : $0.lexicographicallyPrecedes($1)
        }
        var bytes: [UInt8] = []
        var places: [(start: Int, count: Int)] = []
        for (index, path) in sorted.enumerated() where index == 0 || path != sorted[index - 1] {
            places.append((bytes.count, path.count))
            bytes += path
        }
        pathBytes = bytes
        self.paths = places
        pathLengths = places.reduce(0) { $0 | 1 << UInt64(min($1.count, 63)) }
    }

    func skipsStatus(_ status: Int) -> Bool {
        if let statusSet { return statusSet.contains(status) }
        return statuses.contains(status)
    }

    /// True when `path` has the UTF-8 bytes of a skip path.
    @inline(__always)
    func skipsPath(_ path: String) -> Bool {
        // Most paths have none of the lengths: decided inline (the call's frame was half the cost).
        if pathLengths & (1 << UInt64(min(path.utf8.count, 63))) == 0 { return false }
        return skipsPathOfListedLength(path)
    }

    private func skipsPathOfListedLength(_ path: String) -> Bool {
        if let found = path.utf8.withContiguousStorageIfAvailable({ holds(UnsafeRawBufferPointer($0)) }) {
            return found
        }
        // Only a string not stored as UTF-8 (bridged from Objective-C) comes here.
        var copy = path
        copy.makeContiguousUTF8()
        return copy.utf8.withContiguousStorageIfAvailable { holds(UnsafeRawBufferPointer($0)) } ?? false
    }

    /// A binary search of `paths` for these bytes.
    private func holds(_ path: UnsafeRawBufferPointer) -> Bool {
        pathBytes.withUnsafeBytes { all in
            paths.withUnsafeBufferPointer { places in
                var low = 0
                var high = places.count
                while low < high {
                    let middle = low &+ (high &- low) >> 1
                    let place = places[middle]
                    let order: Int
                    if place.count != path.count {
                        order = place.count < path.count ? -1 : 1
                    } else {
                        let bytes = UnsafeRawBufferPointer(rebasing: all[place.start..<place.start &+ place.count])
                        order = bytes.lexicographicOrder(comparedTo: path)
                    }
                    if order == 0 { return true }
                    if order < 0 { low = middle &+ 1 } else { high = middle }
                }
                return false
            }
        }
    }
}

extension UnsafeRawBufferPointer {
    /// -1, 0 or 1 as these bytes come before, are, or come after `other`'s (unsigned,
    /// lexicographic: `[UInt8].lexicographicallyPrecedes`), of the same count; eight at a time.
    func lexicographicOrder(comparedTo other: UnsafeRawBufferPointer) -> Int {
        @inline(__always)
        func compare(_ offset: Int) -> Int {
            // Big-endian: the first byte is the most significant, so the words order as the bytes.
            let a = UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            let b = UInt64(bigEndian: other.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            return a == b ? 0 : (a < b ? -1 : 1)
        }
        if count >= 8 {
            var i = 0
            while i &+ 8 <= count {
                let order = compare(i)
                if order != 0 { return order }
                i &+= 8
            }
            // The last eight bytes in one load: those read twice are equal, so the first byte
            // that differs here is the first of all.
            return compare(count &- 8)
        }
        for i in 0..<count where self[i] != other[i] { return self[i] < other[i] ? -1 : 1 }
        return 0
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
