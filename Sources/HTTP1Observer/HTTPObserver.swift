/// The HTTP/1.1 observer of one pipeline: makes a consumer per connection, holds the limits, the sink and the counters.
import TCPReassembly

/// Turns connections' byte streams into `HTTPExchange` values.
///
/// One per pipeline and not thread-safe: all its connection observers run on
/// the pipeline's thread, so the counters need no locks.
public final class HTTPObserver {
    public let configuration: HTTPObserverConfiguration
    let sink: any HTTPExchangeSink
    let sharedParserState = SharedParserState()
    /// Counters so far (exchanges by outcome, anomalies by reason).
    /// (No dynamic exclusivity checks: one pipeline thread, no overlapping access.)
    @exclusivity(unchecked) public internal(set) var statistics = HTTPObserverStatistics()

    public init(configuration: HTTPObserverConfiguration = HTTPObserverConfiguration(), sink: any HTTPExchangeSink) {
        self.configuration = configuration
        self.sink = sink
    }

    /// A consumer for one connection's two byte streams.
    public func makeConnectionObserver(for connection: ConnectionInfo) -> HTTPConnectionObserver {
        HTTPConnectionObserver(connection: connection, observer: self)
    }
}

extension HTTPObserver: StreamConsumerFactory {
    public func makeConsumer(for connection: ConnectionInfo) -> (any StreamConsumer)? {
        makeConnectionObserver(for: connection)
    }
}
