import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

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
/// Anyone who reaches the port is a peer: a client that pipelines requests and never reads
/// the answers gets the next answer only once the last one left the process (the channel is
/// writable again), so what waits for it is one exposition, not one per request; and a
/// connection that sends nothing for `idleTimeout` is closed.
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

    public init(host: String, port: Int, logger: Logger, handler: @escaping Handler) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.addHandler(IdleStateHandler(readTimeout: Self.idleTimeout)).flatMap {
                    channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                }.flatMap {
                    channel.pipeline.addHandler(ScrapeHandler(handler: handler))
                }
            }
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
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

private final class ScrapeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let handler: MetricsServer.Handler
    private var head: HTTPRequestHead?
    /// A complete request whose answer waits until the channel is writable: the pipelining
    /// handler passes the next request on only once this one is answered, so the requests a
    /// client sends without reading the answers wait as bytes, not as rendered expositions.
    private var waiting: HTTPRequestHead?

    init(handler: @escaping MetricsServer.Handler) { self.handler = handler }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
        case .body:
            break
        case .end:
            guard let requestHead = head else { return }
            head = nil
            if context.channel.isWritable {
                respond(to: requestHead, context: context)
            } else {
                waiting = requestHead
            }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let request = waiting {
            waiting = nil
            respond(to: request, context: context)
        }
        context.fireChannelWritabilityChanged()
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
        if request.method == .GET || request.method == .HEAD {
            let path = String(request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            response = handler(path, request.headers["accept"].joined(separator: ","))
        } else {
            response = ScrapeResponse(status: .methodNotAllowed, contentType: "text/plain; charset=utf-8", body: "method not allowed\n")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        var bodyBuffer = context.channel.allocator.buffer(capacity: response.pieces.reduce(0) { $0 + $1.utf8.count })
        for i in response.pieces.indices {
            bodyBuffer.writeString(response.pieces[i])
            response.pieces[i] = ""
        }
        headers.add(name: "Content-Length", value: String(bodyBuffer.readableBytes))
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if request.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(bodyBuffer))), promise: nil) }
        let done = context.writeAndFlushPromise()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushPromise() -> EventLoopPromise<Void> { eventLoop.makePromise() }
}
