/// A TCP sequence number with the modulo-2^32 arithmetic of RFC 9293 §3.4.

/// A 32-bit TCP sequence number.
///
/// Sequence numbers wrap, so "before" and "after" only make sense within
/// half the number space (RFC 9293 §3.4, RFC 1982): `a < b` means `b` lies
/// in the 2^31 numbers after `a` (gopacket's `Sequence.Difference`, but with a number exactly 2^31
/// away after, not before).
/// The order is therefore not transitive across the whole space; compare
/// only numbers that belong to one window of a connection.
public struct TCPSequence: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// `other - self` as a signed distance in (-2^31, 2^31]. Exactly half the space apart, `other`
    /// is after `self` both ways: were it -2^31 both ways (the plain 32-bit difference), neither
    /// number would come before the other, and code that takes "not after" to mean "at or
    /// before" would see a negative overlap (one crafted segment trapped the reassembler).
    @inlinable
    public func distance(to other: TCPSequence) -> Int {
        let difference = Int(Int32(bitPattern: other.rawValue &- rawValue))
        return difference == Int(Int32.min) ? -difference : difference
    }

    /// The sequence number `count` bytes further on (wrapping).
    @inlinable
    public func advanced(by count: Int) -> TCPSequence {
        TCPSequence(rawValue &+ UInt32(truncatingIfNeeded: count))
    }

    public var description: String { String(rawValue) }
}

extension TCPSequence: Comparable {
    /// Wrap-safe: true when `rhs` is within the 2^31 numbers after `lhs`.
    @inlinable
    public static func < (lhs: TCPSequence, rhs: TCPSequence) -> Bool { lhs.distance(to: rhs) > 0 }
}
