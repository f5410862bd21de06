/// Counters of the HTTP observer: exchanges by outcome and parse anomalies by reason.

/// Why the HTTP observer could not take the bytes as they are. Raw values are
/// stable snake_case labels for the `channel_exporter_http_parse_anomalies_total` metric.
public enum HTTPParseAnomaly: String, Sendable, Hashable, CaseIterable {
    /// A request-direction message does not start with `METHOD SP target SP HTTP/1.x`.
    case badRequestLine = "bad_request_line"
    /// A response-direction message does not start with `HTTP/1.x SP 3DIGIT`.
    case badStatusLine = "bad_status_line"
    /// A header field line without a colon, or with whitespace before it (RFC 9112 §5.1); the line is ignored.
    case badHeaderLine = "bad_header_line"
    /// A head longer than `maxHeaderBytes` (or trailers longer than it).
    case headerTooLarge = "header_too_large"
    /// More than `maxHeaderCount` header lines.
    case tooManyHeaders = "too_many_headers"
    /// A Content-Length that is not a non-negative decimal number (Zeek http/261: negative lengths).
    case badContentLength = "bad_content_length"
    /// Several Content-Length values that differ (RFC 9112 §6.3 item 5).
    case conflictingContentLength = "conflicting_content_length"
    /// Transfer-Encoding and Content-Length together: Transfer-Encoding wins (RFC 9112 §6.3 item 3), counted as a desync risk.
    case contentLengthWithTransferEncoding = "content_length_with_transfer_encoding"
    /// A request whose Transfer-Encoding does not end in chunked (RFC 9112 §6.3 item 4).
    case badTransferEncoding = "bad_transfer_encoding"
    /// A chunk-size line that is not hex digits (+ extensions), or one too long.
    case badChunkSize = "bad_chunk_size"
    /// Chunk data not followed by CRLF.
    case badChunkTerminator = "bad_chunk_terminator"
    /// A header value continued on the next line (obs-fold, RFC 9112 §5.2); tolerated.
    case obsFold = "obs_fold"
    /// A line ended by LF alone (RFC 9112 §2.2); tolerated.
    case bareLF = "bare_lf"
    /// Missing bytes inside a body of known length: skipped, framing goes on.
    case gapInBody = "gap_in_body"
    /// Missing bytes in a head or between messages: the direction resynchronises.
    case gapInHeaders = "gap_in_headers"
    /// Missing bytes in chunk framing or trailers: the direction resynchronises.
    case gapInChunkFraming = "gap_in_chunk_framing"
    /// The direction lost message boundaries and scans for the next plausible start line.
    case resync = "resync"
    /// Requests awaiting a response were given up after the response direction lost sync (never guessed).
    case pendingDroppedAfterLoss = "pending_dropped_after_loss"
    /// More requests pending than `maxPendingRequests` (the oldest is emitted unanswered and pairing
    /// waits to be sure again), or more responses held in a recovery than twice that (all emitted unpaired).
    case pendingQueueFull = "pending_queue_full"
    /// A gzip/deflate body inflated to the `maxInflatedBytes` bound at a ratio above 100:1.
    case decompressionBomb = "decompression_bomb"
    /// A gzip/deflate body that zlib rejects.
    case inflateError = "inflate_error"
    /// A body prefix stopped at its limit (the body is longer than what is kept).
    case bodyPrefixTruncated = "body_prefix_truncated"
    /// Something not kept because the observer's connections together keep `maxKeptBytesTotal`
    /// bytes (see `Budget`): a body prefix ended early, a split head was given up (the
    /// direction resynchronises), or a request behind waiting ones emptied the queue's oldest.
    case keptBytesLimit = "kept_bytes_limit"
    /// A direction ended inside a message (not a request body the client stopped sending after its
    /// final answer came: RFC 9110 §10.1.1, RFC 9112 §9.3).
    case truncatedMessage = "truncated_message"
    /// Bytes sent by the client while an Upgrade/CONNECT request waited for its answer (not HTTP, or lost).
    case bytesWhileAwaitingUpgrade = "bytes_while_awaiting_upgrade"
}

/// What one `HTTPObserver` has seen so far.
public struct HTTPObserverStatistics: Sendable, Hashable {
    /// Requests paired with their response.
    public var exchangesComplete: Int = 0
    public var responsesWithoutRequest: Int = 0
    public var requestsWithoutResponse: Int = 0
    /// Paired responses whose connection ended before their body did.
    public var responsesIncomplete: Int = 0
    /// 101 Switching Protocols and 2xx answers to CONNECT: HTTP/1 parsing of that connection ended (after a
    /// CONNECT's 2xx, the tunnel's stream is read as a connection of its own: `connectTunnels`).
    public var upgrades: Int = 0
    /// CONNECT tunnels whose stream was read after their 2xx (also in `upgrades`): the calls inside are
    /// the caller's to the CONNECT target.
    public var connectTunnels: Int = 0
    /// Connections found speaking HTTP/2, which is not decoded: the client's connection preface at their
    /// start (prior knowledge, RFC 9113 §3.4), or a 101 to `h2c` (RFC 7540 §3.2, also in `upgrades`).
    public var http2Connections: Int = 0
    /// Connections found carrying TLS, which is not decoded: a TLS record header where their first
    /// start line was expected (HTTPS on a watched port).
    public var tlsConnections: Int = 0
    /// Connections found carrying another protocol, not decoded: the client's first line, read from
    /// the connection's start, was no HTTP/1 (Redis, PostgreSQL, SSH... on a watched connection).
    public var otherProtocolConnections: Int = 0
    /// PROXY protocol headers (v1 or v2) skipped before a connection's first request (a load balancer
    /// passing the client's address on).
    public var proxyProtocolHeaders: Int = 0
    /// Interim 1xx responses skipped (100 Continue, 103 Early Hints...).
    public var interimResponses: Int = 0
    /// Connections whose guessed roles (first sender = client) were swapped because of what was sent.
    public var rolesSwapped: Int = 0
    /// Parse anomalies by reason, indexed by `HTTPParseAnomaly.allCases` order.
    private var anomalyCounts = [Int](repeating: 0, count: HTTPParseAnomaly.allCases.count)

    public init() {}

    /// How many times `reason` was counted.
    public func count(of reason: HTTPParseAnomaly) -> Int { anomalyCounts[reason.index] }

    /// Every reason with a non-zero count.
    public var anomalies: [HTTPParseAnomaly: Int] {
        var result: [HTTPParseAnomaly: Int] = [:]
        for reason in HTTPParseAnomaly.allCases where anomalyCounts[reason.index] > 0 {
            result[reason] = anomalyCounts[reason.index]
        }
        return result
    }

    mutating func record(_ reason: HTTPParseAnomaly, times: Int = 1) {
        anomalyCounts[reason.index] &+= times
    }

    /// Adds another observer's counts (one a reload replaced, carried over to its successor).
    public mutating func add(_ other: HTTPObserverStatistics) {
        exchangesComplete &+= other.exchangesComplete
        responsesWithoutRequest &+= other.responsesWithoutRequest
        requestsWithoutResponse &+= other.requestsWithoutResponse
        responsesIncomplete &+= other.responsesIncomplete
        upgrades &+= other.upgrades
        connectTunnels &+= other.connectTunnels
        http2Connections &+= other.http2Connections
        tlsConnections &+= other.tlsConnections
        otherProtocolConnections &+= other.otherProtocolConnections
        proxyProtocolHeaders &+= other.proxyProtocolHeaders
        interimResponses &+= other.interimResponses
        rolesSwapped &+= other.rolesSwapped
        for index in anomalyCounts.indices { anomalyCounts[index] &+= other.anomalyCounts[index] }
    }
}

extension HTTPParseAnomaly {
    /// Position in `allCases`, computed once.
    fileprivate var index: Int { Self.indexTable[self]! }
    private static let indexTable: [HTTPParseAnomaly: Int] = {
        var table: [HTTPParseAnomaly: Int] = [:]
        for (i, reason) in allCases.enumerated() { table[reason] = i }
        return table
    }()
}
