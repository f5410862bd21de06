import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// What the metrics server answers for one GET.
public struct ScrapeResponse: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    /// The body in pieces (`ExpositionWriter.finishPieces`): copied into the response's buffer one
    /// at a time, each let go once copied, so a large exposition is not held twice.
    public var pieces: [String]
    /// The body, whole.
    public var body: String { pieces.joined() }

    public init(status: HTTPResponseStatus = .ok, contentType: String, body: String) {
        self.init(status: status, contentType: contentType, pieces: [body])
    }

    public init(status: HTTPResponseStatus = .ok, contentType: String, pieces: [String]) {
        self.status = status
        self.contentType = contentType
        self.pieces = pieces
    }
}

/// The `/metrics` endpoint: a small HTTP/1.1 server on SwiftNIO.
///
/// It runs on its own event loop threads; the packet pipeline never waits on
/// it (the handler renders a snapshot the pipeline published).
///
/// Anyone who reaches the port is a peer, and a peer can hold what it asked for by not reading:
/// - a client that pipelines requests gets the next answer only once the last one left the process
///   (the channel is writable again), so what waits for it is one exposition, not one per request;
/// - answers are rendered only while all connections together have less than `maxQueuedBytes`
///   waiting to be sent (`QueuedAnswers`), so many such clients hold at most that plus one
///   exposition; the others' requests wait as request heads;
/// - an answer not sent whole within `defaultSendTimeout` closes its connection, which gives its bytes
///   back: a client that never reads delays the others' scrapes by that long at most;
/// - at most `maxConnections` connections are open at once, the ones past it are closed at once;
/// - a connection that sends nothing for `idleTimeout` is closed.
///
/// An answer is gzip-compressed when the request's `Accept-Encoding` prefers it (`ContentCoding`), as
/// Prometheus's does; what counts against `maxQueuedBytes` is then the compressed bytes, which are
/// what waits (the rendered text is let go as it is compressed).
public final class MetricsServer: Sendable {
    /// Called for every GET/HEAD with the path (no query) and the Accept header.
    public typealias Handler = @Sendable (_ path: String, _ accept: String) -> ScrapeResponse

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    /// The address actually bound (port 0 resolves to an ephemeral port).
    public let localAddress: SocketAddress?

    /// Binds and starts serving; throws a readable error when the address is taken or invalid.
    /// A connection that sent nothing for this long is closed (a scraper then opens a new one;
    /// Prometheus scrapes every minute or more often by default).
    public static let idleTimeout = TimeAmount.minutes(5)
    /// Prometheus gives up on a scrape after its `scrape_timeout` (10 s by default, at most the
    /// scrape interval): an answer still not sent after a minute has no reader.
    public static let defaultSendTimeout = TimeAmount.seconds(60)
    /// Scrapers are a few Prometheus servers and people with curl.
    public static let defaultMaxConnections = 256
    /// Bytes of answers all connections together may have waiting to be sent before the next
    /// answer is rendered (one answer is always rendered, however large).
    public static let defaultMaxQueuedBytes = 32 << 20

    /// `maxConnections`, `maxQueuedBytes` and `sendTimeout`: see the type's description (tests set them low).
    public init(
        host: String, port: Int, logger: Logger, maxConnections: Int = defaultMaxConnections,
        maxQueuedBytes: Int = defaultMaxQueuedBytes, sendTimeout: TimeAmount = defaultSendTimeout,
        handler: @escaping Handler
    ) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let connections = ConnectionCount(limit: maxConnections)
        // One event loop serves every connection: `QueuedAnswers` is touched only from it.
        let queued = QueuedAnswers(limit: maxQueuedBytes, eventLoop: group.next())
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard connections.admit() else { return channel.close() }
                channel.closeFuture.whenComplete { _ in connections.release() }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(IdleStateHandler(readTimeout: Self.idleTimeout))
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(ScrapeHandler(handler: handler, queued: queued, sendTimeout: sendTimeout))
                }
            }
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
        if host == "::" {
            // Every address means IPv4 too, whatever `net.ipv6.bindv6only` says (`ListenAddress`).
            bootstrap = bootstrap.serverChannelOption(
                ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 0)
        }
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw MetricsServerError(address: "\(host):\(port)", underlying: "\(error)")
        }
        self.group = group
        localAddress = channel.localAddress
        logger.info("serving metrics", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
    }

    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

public struct MetricsServerError: Error, CustomStringConvertible {
    public var address: String
    public var underlying: String
    public var description: String { "cannot serve metrics on \(address): \(underlying)" }
}

/// The open connections, against their limit.
private final class ConnectionCount: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Counts a new connection; false (not counted) when `limit` are open.
    func admit() -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = open.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release() { open.subtract(1, ordering: .relaxed) }
}

/// The bytes of answers written on any connection and not yet handed to the kernel, and the
/// connections whose next answer waits for them to go down. Used only on `eventLoop`.
private final class QueuedAnswers: @unchecked Sendable {
    let limit: Int
    let eventLoop: any EventLoop
    private var bytes = 0
    /// Connections with an answer waiting for room, oldest first.
    private var waiting: [ObjectIdentifier: () -> Void] = [:]
    private var order: [ObjectIdentifier] = []

    init(limit: Int, eventLoop: any EventLoop) {
        self.limit = limit
        self.eventLoop = eventLoop
    }

    /// Whether an answer may be rendered now: always when nothing is queued.
    var hasRoom: Bool {
        eventLoop.preconditionInEventLoop()
        return bytes < limit
    }

    func add(_ count: Int) { bytes += count }

    /// `count` bytes were sent (or dropped with their connection): wakes waiting connections while
    /// there is room.
    func remove(_ count: Int) {
        bytes -= count
        while bytes < limit, !order.isEmpty {
            let next = order.removeFirst()
            if let wake = waiting.removeValue(forKey: next) { wake() }
        }
    }

    func wait(_ handler: AnyObject, wake: @escaping () -> Void) {
        let id = ObjectIdentifier(handler)
        if waiting.updateValue(wake, forKey: id) == nil { order.append(id) }
    }

    func stopWaiting(_ handler: AnyObject) {
        let id = ObjectIdentifier(handler)
        if waiting.removeValue(forKey: id) != nil { order.removeAll { $0 == id } }
    }
}

private final class ScrapeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let handler: MetricsServer.Handler
    private let queued: QueuedAnswers
    private let sendTimeout: TimeAmount
    private var head: HTTPRequestHead?
    /// A complete request whose answer waits until the channel is writable and all connections'
    /// queued answers leave room: the pipelining handler passes the next request on only once this
    /// one is answered, so the requests a client sends without reading the answers wait as bytes,
    /// not as rendered expositions.
    private var waiting: HTTPRequestHead?

    init(handler: @escaping MetricsServer.Handler, queued: QueuedAnswers, sendTimeout: TimeAmount) {
        self.handler = handler
        self.queued = queued
        self.sendTimeout = sendTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
        case .body:
            break
        case .end:
            guard let requestHead = head else { return }
            head = nil
            waiting = requestHead
            answerWhenPossible(context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        answerWhenPossible(context: context)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        queued.stopWaiting(self)
        context.fireChannelInactive()
    }

    /// Answers the waiting request if the channel is writable and there is room; otherwise waits
    /// for room (writability calls again by itself).
    private func answerWhenPossible(context: ChannelHandlerContext) {
        guard let request = waiting, context.channel.isActive, context.channel.isWritable else { return }
        guard queued.hasRoom else {
            queued.wait(self) { [weak self] in self?.answerWhenPossible(context: context) }
            return
        }
        waiting = nil
        respond(to: request, context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case IdleStateHandler.IdleStateEvent.read = event {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        var response: ScrapeResponse
        var coding = ContentCoding.identity
        var headers = HTTPHeaders()
        if request.method == .GET || request.method == .HEAD {
            let path = String(request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            response = handler(path, request.headers["accept"].joined(separator: ","))
            let acceptEncoding = request.headers["accept-encoding"]
            coding = ContentCoding.negotiate(acceptEncoding: acceptEncoding.isEmpty ? nil : acceptEncoding.joined(separator: ","))
            // Whichever format and coding were chosen, a cache must not give this answer to a request
            // that asks otherwise: `Accept` picks OpenMetrics or the text format, `Accept-Encoding` gzip.
            headers.add(name: "Vary", value: "Accept, Accept-Encoding")
        } else {
            response = ScrapeResponse(status: .methodNotAllowed, contentType: "text/plain; charset=utf-8", body: "method not allowed\n")
        }
        headers.add(name: "Content-Type", value: response.contentType)
        // Rendered and compressed here, on the server's event loop: the capture thread only publishes
        // what the handler reads. A HEAD is compressed too, for the Content-Length a GET would have.
        let bodyBuffer = Self.body(of: &response.pieces, coding: &coding, allocator: context.channel.allocator)
        if coding == .gzip { headers.add(name: "Content-Encoding", value: "gzip") }
        headers.add(name: "Content-Length", value: String(bodyBuffer.readableBytes))
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if request.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(bodyBuffer))), promise: nil) }
        let done = context.writeAndFlushPromise()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        // Counted until the kernel has it all, or the connection is gone with it: the bytes held, compressed
        // when they are (what was rendered is let go once compressed).
        let queuedBytes = request.method == .HEAD ? 0 : bodyBuffer.readableBytes
        queued.add(queuedBytes)
        let channel = context.channel
        let queued = queued
        let timeout = context.eventLoop.scheduleTask(in: sendTimeout) {
            // A reset, not a FIN: a FIN would wait behind the unsent bytes, which the kernel would
            // keep for a peer that does not read.
            guard let socket = channel as? any SocketOptionProvider else { return channel.close(promise: nil) }
            socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
        }
        done.futureResult.whenComplete { _ in
            timeout.cancel()
            queued.remove(queuedBytes)
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}

extension ScrapeHandler {
    /// The pieces in one buffer, gzip-compressed when `coding` says so (and zlib could start; else
    /// `coding` becomes identity). Each piece is let go once copied or compressed.
    fileprivate static func body(of pieces: inout [String], coding: inout ContentCoding, allocator: ByteBufferAllocator) -> ByteBuffer {
        let length = pieces.reduce(0) { $0 + $1.utf8.count }
        if coding == .gzip {
            // The capacity is held while the answer waits, but only the bytes written count against the
            // bound: sized at 3 % of the text and 64 KiB (expositions compress to 2-4 %, Benchmarks/README.md)
            // and doubled when short, the buffer holds at most that or twice what it took.
            var compressed = allocator.buffer(capacity: length / 32 + (64 << 10))
            if GzipBody.compress(&pieces, to: { compressed.writeBytes($0) }) { return compressed }
            coding = .identity
        }
        var buffer = allocator.buffer(capacity: length)
        for i in pieces.indices {
            buffer.writeString(pieces[i])
            pieces[i] = ""
        }
        return buffer
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushPromise() -> EventLoopPromise<Void> { eventLoop.makePromise() }
}
