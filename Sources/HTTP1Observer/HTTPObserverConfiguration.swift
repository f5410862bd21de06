/// Limits of the passive HTTP/1.1 observer: every buffer and queue it keeps has a bound here.
public struct HTTPObserverConfiguration: Sendable, Hashable {
    /// Largest request or response head (start line + header fields + the empty line), in bytes.
    /// A longer head is counted as `header_too_large` and the direction resynchronises.
    public var maxHeaderBytes: Int
    /// Most header field lines in one head (obs-fold continuation lines included); a head with more is
    /// counted as `too_many_headers` and its exchange is lost. Not a memory bound (`maxHeaderBytes` is:
    /// lines are counted, not kept), so above what real servers accept: nginx 1.22 and Go count none
    /// (bytes only), Node's server takes 2,000, waitress none; gunicorn and `http.server` stop at 100
    /// (captures/http/proxy-edge/server-edge: 140 fields served by nginx, Node and Go, lost at 128).
    public var maxHeaderCount: Int
    /// How many bytes of a request body are kept (de-chunked) for the codes the metrics read.
    public var requestBodyPrefixLimit: Int
    /// How many bytes of an uncompressed response body are kept (de-chunked).
    public var responseBodyPrefixLimit: Int
    /// How many inflated bytes of a gzip/deflate response body are kept; inflating stops there.
    public var maxInflatedBytes: Int
    /// Requests awaiting their response on one connection (pipelining depth).
    public var maxPendingRequests: Int
    /// Bytes all connections together may keep between deliveries: split heads, body prefixes, the
    /// heads of waiting requests (see `Budget`). Past it they keep no more, counted as
    /// `kept_bytes_limit`; memory then stays bounded whatever peers send.
    public var maxKeptBytesTotal: Int

    public init(
        maxHeaderBytes: Int = 64 * 1024,
        maxHeaderCount: Int = 2000,
        requestBodyPrefixLimit: Int = 64 * 1024,
        responseBodyPrefixLimit: Int = 64 * 1024,
        maxInflatedBytes: Int = 64 * 1024,
        maxPendingRequests: Int = 64,
        maxKeptBytesTotal: Int = 256 * 1024 * 1024
    ) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.requestBodyPrefixLimit = requestBodyPrefixLimit
        self.responseBodyPrefixLimit = responseBodyPrefixLimit
        self.maxInflatedBytes = maxInflatedBytes
        self.maxPendingRequests = maxPendingRequests
        self.maxKeptBytesTotal = maxKeptBytesTotal
    }
}
