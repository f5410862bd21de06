import PacketDecoding
import TCPReassembly

/// A stored property of no size in each summary and in the exchange, so that their public
/// initializers (unchanged) can build the value through the synthesized memberwise one. An explicit
/// `init` assigning `self.x = x` builds the value in a stack slot, and for structs this large the
/// optimiser (Swift 6.3) then retains and releases every field once more per value built; the
/// memberwise initializer forms the value directly. Always equal, hashes nothing.
struct MemberwiseMarker: Sendable, Hashable {}

/// The parts of an HTTP/1.1 request the metrics read.
///
/// Header values are decoded as ISO-8859-1 (each byte one character), as WSGI
/// and the reference library see them.
///
/// (The observer releases the strings and arrays of the exchanges it emits one by one, see
/// `UnsafeMutablePointer<HTTPExchange>.discard`: a field that needs releasing is released there too.)
public struct HTTPRequestSummary: Sendable, Hashable {
    public var method: String
    /// The request target exactly as sent (origin form, or absolute form through a proxy).
    public var target: String {
        get { RequestTarget.target(stored: storedTarget, rawPath: rawPath, query: query) }
        set { storedTarget = newValue }
    }
    /// The target when it is kept whole; nil for an origin-form target from the observer, which is
    /// `rawPath`, then `?` and `query` when there is one (see `RequestTarget.storedTarget`: the metrics
    /// never read it, and it is made only when asked for).
    var storedTarget: String?
    /// The path as sent, without the query string or a fragment (no percent-decoding).
    public var rawPath: String
    /// The path without the query string, percent-decoded as UTF-8 (invalid sequences replaced), its
    /// leading `/`s made one, like Flask's `request.path` (`RequestTarget.flaskPath`). A CONNECT's is
    /// its target as sent, an authority (`host:port`, RFC 9112 §3.2.3), without Flask's `/`.
    public var path: String
    /// The raw query string after `?`, up to a `#` (nil when the target has no `?` before any `#`).
    public var query: String?
    /// `HTTP/1.1` or `HTTP/1.0`.
    public var version: String
    /// The authority the request was for: an absolute-form target's (a call through a forward proxy,
    /// RFC 9112 §3.2.2: the proxy ignores `Host` then), else the `Host` header.
    public var host: String?
    /// The first header whose name, ignoring case, `-` and `_`, is `useragent` / `methodcode` / `tcode`.
    public var userAgent: String?
    public var methodCode: String?
    public var tCode: String?
    public var contentType: String?
    /// The body's first bytes (up to the configured prefix limit), after de-chunking.
    public var bodyPrefix: [UInt8]
    /// Body length on the wire after de-chunking (counted even where not kept).
    public var bodyLength: Int
    /// True when `bodyPrefix` holds less than the whole body (limit hit, or a gap in the body).
    public var bodyTruncated: Bool
    /// Zero-size: it makes the synthesized memberwise initializer (private) differ from the public one,
    /// which builds the value through it (see `MemberwiseMarker`).
    private var memberwiseMarker = MemberwiseMarker()
}

extension HTTPRequestSummary {
    /// Equal when every field is, the target compared whole (kept or made from its parts).
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.rawPath == rhs.rawPath && lhs.path == rhs.path
            && lhs.query == rhs.query && lhs.version == rhs.version && lhs.host == rhs.host
            && lhs.userAgent == rhs.userAgent && lhs.methodCode == rhs.methodCode && lhs.tCode == rhs.tCode
            && lhs.contentType == rhs.contentType && lhs.bodyPrefix == rhs.bodyPrefix
            && lhs.bodyLength == rhs.bodyLength && lhs.bodyTruncated == rhs.bodyTruncated
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(method)
        hasher.combine(target)
        hasher.combine(rawPath)
        hasher.combine(path)
        hasher.combine(query)
        hasher.combine(version)
        hasher.combine(host)
        hasher.combine(userAgent)
        hasher.combine(methodCode)
        hasher.combine(tCode)
        hasher.combine(contentType)
        hasher.combine(bodyPrefix)
        hasher.combine(bodyLength)
        hasher.combine(bodyTruncated)
    }

    /// The observer's own: an origin-form target is not kept whole (`storedTarget` nil).
    @inline(__always)
    init(
        method: String, storedTarget: String?, rawPath: String, path: String, query: String?, version: String,
        host: String?, userAgent: String?, methodCode: String?, tCode: String?, contentType: String?,
        bodyPrefix: [UInt8], bodyLength: Int, bodyTruncated: Bool
    ) {
        self.init(
            method: method, storedTarget: storedTarget, rawPath: rawPath, path: path, query: query, version: version,
            host: host, userAgent: userAgent, methodCode: methodCode, tCode: tCode, contentType: contentType,
            bodyPrefix: bodyPrefix, bodyLength: bodyLength, bodyTruncated: bodyTruncated,
            memberwiseMarker: MemberwiseMarker())
    }

    public init(
        method: String, target: String, rawPath: String, path: String, query: String?, version: String,
        host: String?, userAgent: String?, methodCode: String?, tCode: String?, contentType: String?,
        bodyPrefix: [UInt8], bodyLength: Int, bodyTruncated: Bool
    ) {
        self.init(
            method: method, storedTarget: target, rawPath: rawPath, path: path, query: query, version: version, host: host,
            userAgent: userAgent, methodCode: methodCode, tCode: tCode, contentType: contentType,
            bodyPrefix: bodyPrefix, bodyLength: bodyLength, bodyTruncated: bodyTruncated,
            memberwiseMarker: MemberwiseMarker())
    }
}

/// The parts of an HTTP/1.1 response the metrics read (released field by field as the request's are).
public struct HTTPResponseSummary: Sendable, Hashable {
    public var status: Int
    public var contentType: String?
    public var contentEncoding: String?
    /// The body's first bytes, inflated when `Content-Encoding` is gzip or deflate (bounded).
    public var bodyPrefix: [UInt8]
    /// Body length on the wire (after de-chunking, before inflating).
    public var bodyLength: Int
    /// True when `bodyPrefix` holds less than the whole (inflated) body.
    public var bodyTruncated: Bool
    /// True when the response has no body by definition (HEAD, 1xx, 204, 304).
    public var bodyless: Bool
    /// Zero-size: it makes the synthesized memberwise initializer (private) differ from the public one,
    /// which builds the value through it (see `MemberwiseMarker`).
    private var memberwiseMarker = MemberwiseMarker()
}

extension HTTPResponseSummary {
    public init(
        status: Int, contentType: String?, contentEncoding: String?, bodyPrefix: [UInt8], bodyLength: Int,
        bodyTruncated: Bool, bodyless: Bool
    ) {
        self.init(
            status: status, contentType: contentType, contentEncoding: contentEncoding, bodyPrefix: bodyPrefix,
            bodyLength: bodyLength, bodyTruncated: bodyTruncated, bodyless: bodyless,
            memberwiseMarker: MemberwiseMarker())
    }
}

/// Why an exchange is incomplete, if it is.
public enum HTTPExchangeCompleteness: String, Sendable, Hashable {
    /// Request and response both seen whole.
    case complete
    /// A response with no request (the capture began mid-exchange, or a gap ate the request).
    case responseWithoutRequest = "response_without_request"
    /// A request whose connection ended or expired with no response.
    case requestWithoutResponse = "request_without_response"
    /// A response whose connection ended (RST, FIN, expiry, end of capture) before its body
    /// did: the status and first byte are known, the end is not. Bytes lost only from the
    /// capture (gaps) do not make a response incomplete — its client got them.
    case responseIncomplete = "response_incomplete"
}

/// One HTTP request paired with its response, as seen on the wire.
public struct HTTPExchange: Sendable, Hashable {
    public var connection: ConnectionInfo
    /// The side that sent the request (may differ from `connection.client` when roles were guessed).
    public var client: Endpoint
    public var server: Endpoint
    public var request: HTTPRequestSummary?
    public var response: HTTPResponseSummary?
    public var completeness: HTTPExchangeCompleteness
    /// True when a gap (missing bytes) touched the request or the response.
    public var sawGap: Bool
    /// This was the first request on its connection.
    public var isFirstOnConnection: Bool
    public var requestFirstByte: Timestamp?
    public var requestLastByte: Timestamp?
    public var responseFirstByte: Timestamp?
    public var responseLastByte: Timestamp?
    /// Zero-size: it makes the synthesized memberwise initializer (private) differ from the public one,
    /// which builds the value through it (see `MemberwiseMarker`).
    private var memberwiseMarker = MemberwiseMarker()
}

extension HTTPExchange {
    public init(
        connection: ConnectionInfo, client: Endpoint, server: Endpoint, request: HTTPRequestSummary?,
        response: HTTPResponseSummary?, completeness: HTTPExchangeCompleteness, sawGap: Bool,
        isFirstOnConnection: Bool, requestFirstByte: Timestamp?, requestLastByte: Timestamp?,
        responseFirstByte: Timestamp?, responseLastByte: Timestamp?
    ) {
        self.init(
            connection: connection, client: client, server: server, request: request, response: response,
            completeness: completeness, sawGap: sawGap, isFirstOnConnection: isFirstOnConnection,
            requestFirstByte: requestFirstByte, requestLastByte: requestLastByte,
            responseFirstByte: responseFirstByte, responseLastByte: responseLastByte,
            memberwiseMarker: MemberwiseMarker())
    }
}

extension HTTPExchange {
    /// How long after the handshake a connection's first request may begin and still be the call
    /// that opened it. A client writes its request as soon as its connect returns, when its kernel
    /// sends the handshake's last ACK; both cross the same path, so what lies between them on the
    /// wire is the caller's own delay, wherever the capture is made: under 40 ms for every client of
    /// captures/http/stacks (Java's first call the slowest). A connection opened ahead of its use
    /// waits there for as long as it idles: Go's Transport dials for a request that may then take
    /// another connection freed meanwhile, and pools the new one (captures/README.md, "Clients").
    /// 100 ms: the first bucket's bound, so either way a call is misplaced by less than that.
    public static let openingCallDelayLimit: Int64 = 100_000_000

    /// When the caller's call began, as the wire shows it (DESIGN "Latency"): the SYN when this
    /// request opened its connection (its first, the SYN seen, and sent within
    /// `openingCallDelayLimit` of the handshake's end when that was seen), else the request's
    /// first byte.
    public var callStart: Timestamp? {
        guard isFirstOnConnection, let syn = connection.synTime else { return requestFirstByte }
        if let handshakeEnd = connection.handshakeEnd, let first = requestFirstByte,
           first - handshakeEnd > Self.openingCallDelayLimit
        {
            return first
        }
        return syn
    }
}

/// Receives every exchange an HTTP observer completes (or gives up on).
public protocol HTTPExchangeSink: AnyObject {
    func observe(_ exchange: HTTPExchange)

    /// The same exchange, but the response's body prefix is `responseBody`, borrowed from the bytes
    /// being read (valid only during the call), and `exchange.response.bodyPrefix` is empty: the
    /// observer lends a body that arrived whole in one delivery instead of copying it. A sink that
    /// reads bodies in place implements it; the default copies the body into the exchange.
    func observe(_ exchange: HTTPExchange, responseBody: UnsafeRawBufferPointer)
}

extension HTTPExchangeSink {
    public func observe(_ exchange: HTTPExchange, responseBody: UnsafeRawBufferPointer) {
        var exchange = exchange
        exchange.response?.bodyPrefix = Array(responseBody)
        observe(exchange)
    }
}
