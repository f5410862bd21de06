/// The one bound on what all the connections of an `HTTPObserver` keep between deliveries.

/// Bytes the connections of one `HTTPObserver` keep between deliveries, all together, and their
/// bound (`HTTPObserverConfiguration.maxKeptBytesTotal`): heads split over packets, the body
/// prefixes of requests and responses, and the heads of requests waiting for their response.
///
/// Each limit of one connection (head size, body prefix, pipelining depth) is small, but a peer
/// that opens many connections and pipelines large requests a server does not answer yet would
/// make them add up to terabytes (262,144 connections × 64 requests × 64 KiB). Past this bound
/// a connection keeps no more: a body prefix ends (`kept_bytes_limit`, the body is truncated), a
/// split head is given up (`kept_bytes_limit`, the direction resynchronises), and a request
/// behind others waiting is handled as if the queue were full (the oldest is emitted without a
/// response). What is kept is charged by its byte count as it grows and released when it is
/// emitted, dropped or reused, by whoever holds it (see `BodyPrefix`, `PendingRequest`,
/// `HTTPMessageParser.headCharged`); a class, held by each of them, so that a holder that goes
/// away releases its bytes in its `deinit`.
final class KeptBytesBudget {
    let limit: Int
    // (No dynamic exclusivity checks: one pipeline thread, no overlapping access; a check cost more
    // than the addition it guards.)
    /// Bytes charged now (the `channel_exporter_http_kept_bytes` gauge).
    @exclusivity(unchecked) private(set) var current = 0
    /// The most charged at once (the replay summary's `kept_bytes_peak`).
    @exclusivity(unchecked) private(set) var peak = 0

    init(limit: Int) {
        self.limit = limit
    }

    var isExhausted: Bool { current >= limit }

    /// How many of `wanted` more bytes may be kept.
    @inline(__always)
    func room(for wanted: Int) -> Int {
        let left = limit &- current
        return left <= 0 ? 0 : Swift.min(wanted, left)
    }

    @inline(__always)
    func charge(_ bytes: Int) {
        current &+= bytes
        if current > peak { peak = current }
    }

    @inline(__always)
    func release(_ bytes: Int) {
        current &-= bytes
    }
}
