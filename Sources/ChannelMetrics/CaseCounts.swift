// Per-case counters for the small enums of ChannelMetricsStatistics, without hashing.

/// A case's position among its type's cases, for counting in an array.
protocol CaseOrdinal: CaseIterable, Hashable, Sendable {
    var ordinal: Int { get }
}

/// One counter per case. Each observation bumps two of these under the metrics' lock;
/// as dictionaries keyed by String-backed enums every bump hashed the case's raw string.
struct CaseCounts<Case: CaseOrdinal>: Sendable {
    private var counts = [UInt64](repeating: 0, count: Case.allCases.count)

    @inline(__always)
    mutating func add(_ value: Case) { counts[value.ordinal] &+= 1 }

    /// Adds every count of `other`.
    mutating func add(_ other: CaseCounts) {
        for i in counts.indices { counts[i] &+= other.counts[i] }
    }

    /// The cases counted at least once, as `ChannelMetricsStatistics` reports them.
    var dictionary: [Case: UInt64] {
        var result: [Case: UInt64] = [:]
        for value in Case.allCases where counts[value.ordinal] > 0 { result[value] = counts[value.ordinal] }
        return result
    }
}

extension ChannelMetricsStatistics.Recorded: CaseOrdinal {
    var ordinal: Int {
        switch self {
        case .inbound: 0
        case .external: 1
        case .partner: 2
        case .consumer: 3
        }
    }
}

extension ChannelMetricsStatistics.Skipped: CaseOrdinal {
    var ordinal: Int {
        switch self {
        case .noRequest: 0
        case .noResponse: 1
        case .skippedPath: 2
        case .skippedStatus: 3
        case .consumerWithoutQueue: 4
        case .noTimestamps: 5
        case .responseIncomplete: 6
        case .tunnel: 7
        case .requestDataFailed: 8
        }
    }
}

extension BodyCodeOutcome: CaseOrdinal {
    var ordinal: Int {
        switch self {
        case .found: 0
        case .notFound: 1
        case .notJSON: 2
        case .notDecodable: 3
        case .tooDeep: 4
        case .integerTooLong: 5
        case .truncated: 6
        case .empty: 7
        case .contentEncoded: 8
        }
    }
}
