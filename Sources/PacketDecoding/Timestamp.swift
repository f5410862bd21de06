/// A packet's capture time: nanoseconds since the Unix epoch.
///
/// Every clock in the pipeline (latency, idle expiry, gap timeouts) reads
/// packet timestamps, never the wall clock, so a replay of a capture gives
/// the same results as the live run that saw those packets.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    @inlinable
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    @inlinable
    public init(seconds: Int64, nanoseconds: Int64) {
        self.nanoseconds = seconds &* 1_000_000_000 &+ nanoseconds
    }

    public static let zero = Timestamp(nanoseconds: 0)

    @inlinable
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// `lhs - rhs` in nanoseconds.
    @inlinable
    public static func - (lhs: Timestamp, rhs: Timestamp) -> Int64 { lhs.nanoseconds &- rhs.nanoseconds }

    @inlinable
    public static func + (lhs: Timestamp, nanoseconds: Int64) -> Timestamp {
        Timestamp(nanoseconds: lhs.nanoseconds &+ nanoseconds)
    }

    /// Seconds as a floating-point number, for logs and JSON.
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public var description: String {
        let s = nanoseconds / 1_000_000_000
        let ns = nanoseconds % 1_000_000_000
        let frac = String(ns)
        return "\(s).\(String(repeating: "0", count: 9 - frac.count))\(frac)"
    }
}
