// Histogram bucket bounds in milliseconds (REFERENCE-BEHAVIOUR §1).

/// Upper bounds of a histogram in milliseconds, strictly ascending; `+Inf` is implicit.
public struct Buckets: Sendable, Hashable {
    public let milliseconds: [Double]

    public enum ValidationError: Error, Hashable, CustomStringConvertible {
        case empty
        case notFinite(Double)
        case notAscending(index: Int, previous: Double, value: Double)

        public var description: String {
            switch self {
            case .empty: return "buckets must not be empty"
            case .notFinite(let v): return "bucket bound \(v) is not a finite number (+Inf is implicit)"
            case .notAscending(let i, let p, let v):
                return "buckets must be strictly ascending: bound #\(i + 1) (\(v)) is not greater than \(p)"
            }
        }
    }

    /// The reference's `default_buckets`.
    public static let `default` = try! Buckets(milliseconds: [
        100, 200, 500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000,
    ])

    public init(milliseconds: [Double]) throws(ValidationError) {
        guard !milliseconds.isEmpty else { throw .empty }
        for (i, v) in milliseconds.enumerated() {
            guard v.isFinite else { throw .notFinite(v) }
            if i > 0, v <= milliseconds[i - 1] { throw .notAscending(index: i, previous: milliseconds[i - 1], value: v) }
        }
        self.milliseconds = milliseconds
    }

    /// The bounds in seconds as the reference computes them: `v * 0.001` (so `le` text matches).
    public var seconds: [Double] { milliseconds.map { $0 * 0.001 } }
}
