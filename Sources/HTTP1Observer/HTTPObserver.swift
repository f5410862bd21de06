/// The HTTP/1.1 observer of one pipeline: makes a consumer per connection, holds the limits, the sink and the counters.
import TCPReassembly

/// Turns connections' byte streams into `HTTPExchange` values.
///
/// One per pipeline and not thread-safe: all its connection observers run on
/// the pipeline's thread, so the counters need no locks.
///
/// Connection observers whose two directions have ended are kept (at most
/// `HTTPObserverCore.maxSpareConnections`) and made new again for later
/// connections: a capture of short connections then allocates no observer,
/// no parser state and no request queue per connection.
public final class HTTPObserver {
    /// What the connection observers refer to. They never refer to this object, so the spare
    /// connection observers the core keeps form no cycle with it: `deinit` empties the spares.
    let core: HTTPObserverCore

    public var configuration: HTTPObserverConfiguration { core.configuration }
    var sharedParserState: SharedParserState { core.sharedParserState }
    /// Counters so far (exchanges by outcome, anomalies by reason).
    public var statistics: HTTPObserverStatistics { core.statistics }
    /// Bytes the connections keep now (split heads, body prefixes, waiting requests' heads; bounded by
    /// `HTTPObserverConfiguration.maxKeptBytesTotal`), and the most they kept at once. Not among the
    /// counters: they depend on how the bytes were cut into deliveries, which the counters do not.
    /// Whether the bound on what all connections keep (`maxKeptBytesTotal`) ever held anything back
    /// (`Budget.wasReached`): a replay split over several pipelines is then redone with one.
    public var reachedGlobalBudget: Bool { core.sharedParserState.keptBytes.wasReached }

    public var keptBytes: (now: Int, peak: Int) {
        (core.sharedParserState.keptBytes.current, core.sharedParserState.keptBytes.peak)
    }

    public init(configuration: HTTPObserverConfiguration = HTTPObserverConfiguration(), sink: any HTTPExchangeSink) {
        core = HTTPObserverCore(configuration: configuration, sink: sink)
    }

    /// Put in front of the observer of each CONNECT tunnel's stream (`ConnectTunnel`) before it reads
    /// it: a TLS decryptor when there are keys, so that HTTPS through a forward proxy is read as HTTPS
    /// reached directly. Nil: the tunnel's observer reads the stream itself. Set on the pipeline's thread.
    public var tunnelStreamWrapper: ((any StreamConsumer) -> any StreamConsumer)? {
        get { core.tunnelStreamWrapper }
        set { core.tunnelStreamWrapper = newValue }
    }

    /// Sends the exchanges from now on to `sink`, connections in progress included (a configuration
    /// reload that changed the metrics but not how connections are followed). Call it on the
    /// pipeline's thread, between two deliveries.
    public func replaceSink(_ sink: any HTTPExchangeSink) {
        core.replaceSink(sink)
    }

    deinit {
        core.dropSpareConnections()
    }

    /// A consumer for one connection's two byte streams: a spare one made new again when there is one.
    public func makeConnectionObserver(for connection: ConnectionInfo) -> HTTPConnectionObserver {
        if let spare = core.takeSpareConnection() {
            spare.restart(connection: connection)
            return spare
        }
        return HTTPConnectionObserver(connection: connection, core: core)
    }
}

extension HTTPObserver: StreamConsumerFactory {
    public func makeConsumer(for connection: ConnectionInfo) -> (any StreamConsumer)? {
        makeConnectionObserver(for: connection)
    }
}

/// The state an `HTTPObserver` shares with its connection observers: limits, sink, counters, parser
/// caches, and the spare connection observers.
final class HTTPObserverCore {
    let configuration: HTTPObserverConfiguration
    /// The sink, in a box `sinkOwner` keeps alive; both change together, only in `replaceSink` (on the
    /// pipeline's thread). A delivery borrows the box unretained and calls the sink it holds as a
    /// `let`: held in a `var` (or behind a pointer, or `unowned(unsafe)`), the sink was retained and
    /// released around each delivery, 50 instructions an exchange, as a reassignment during the call
    /// could have freed it.
    @exclusivity(unchecked) private var sinkBox: Unmanaged<SinkBox>
    @exclusivity(unchecked) private var sinkOwner: SinkBox
    let sharedParserState: SharedParserState
    /// Where an exchange ends once the sink is done with it (see `discard`): raw memory between exchanges.
    let endedExchange = UnsafeMutablePointer<HTTPExchange>.allocate(capacity: 1)
    /// (No dynamic exclusivity checks: one pipeline thread, no overlapping access.)
    @exclusivity(unchecked) var statistics = HTTPObserverStatistics()

    /// Most connection observers kept for reuse; each holds only empty queues (their capacity
    /// bounded by `maxPendingRequests`) when kept.
    static let maxSpareConnections = 64
    @exclusivity(unchecked) private var spareConnections = SpareStack<HTTPConnectionObserver>(capacity: maxSpareConnections)
    /// See `HTTPObserver.tunnelStreamWrapper`.
    var tunnelStreamWrapper: ((any StreamConsumer) -> any StreamConsumer)?
    /// False once the `HTTPObserver` is gone: a connection ending later is not kept (it would keep this alive).
    private var keepsSpareConnections = true

    init(configuration: HTTPObserverConfiguration, sink: any HTTPExchangeSink) {
        self.configuration = configuration
        sinkOwner = SinkBox(sink)
        sinkBox = .passUnretained(sinkOwner)
        sharedParserState = SharedParserState(maxKeptBytes: configuration.maxKeptBytesTotal)
    }

    deinit {
        spareConnections.deallocate()
        endedExchange.deallocate()
    }

    /// A spare connection observer nothing else refers to (one still held elsewhere, e.g. by a caller
    /// that kept it after its end, is let go instead: two connections never share one).
    func takeSpareConnection() -> HTTPConnectionObserver? {
        while var spare = spareConnections.pop() {
            if isKnownUniquelyReferenced(&spare) { return spare }
        }
        return nil
    }

    /// Keeps a connection observer whose directions have both ended, when there is room.
    func keepSpareConnection(_ connection: HTTPConnectionObserver) {
        if keepsSpareConnections && !spareConnections.isFull { spareConnections.push(connection) }
    }

    /// Hands an exchange to the sink, with the response body lent when there is one (see
    /// `HTTPExchangeSink`).
    func deliver(_ exchange: HTTPExchange, responseBody: UnsafeRawBufferPointer?) {
        sinkBox._withUnsafeGuaranteedRef { box in
            if let responseBody {
                box.sink.observe(exchange, responseBody: responseBody)
            } else {
                box.sink.observe(exchange)
            }
        }
    }

    func replaceSink(_ sink: any HTTPExchangeSink) {
        sinkOwner = SinkBox(sink)
        sinkBox = .passUnretained(sinkOwner)
    }

    /// Lets every spare go and keeps no more (the owning `HTTPObserver` is gone).
    func dropSpareConnections() {
        keepsSpareConnections = false
        while spareConnections.pop() != nil {}
    }
}

/// An exchange sink in a box of its own: see `HTTPObserverCore.sinkBox`.
final class SinkBox {
    let sink: any HTTPExchangeSink

    init(_ sink: any HTTPExchangeSink) {
        self.sink = sink
    }
}
