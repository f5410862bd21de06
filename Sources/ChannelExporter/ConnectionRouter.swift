import AMQPObserver
import HTTP1Observer
import TCPReassembly

/// Hands each new connection to the observer for its protocol: connections to
/// a configured broker port carry AMQP 0-9-1, every other one is taken as
/// HTTP/1.1 (an HTTP observer that finds no request line gives up cheaply).
final class ConnectionRouter: StreamConsumerFactory {
    /// The broker ports, a few at most: a scan of them costs a few instructions per connection, where
    /// the set's hash cost about 130 even when it was empty.
    private let amqpPorts: [UInt16]
    private let http: HTTPObserver
    private let amqp: AMQPObserver

    init(amqpPorts: Set<UInt16>, http: HTTPObserver, amqp: AMQPObserver) {
        self.amqpPorts = amqpPorts.sorted()
        self.http = http
        self.amqp = amqp
    }

    func makeConsumer(for connection: ConnectionInfo) -> (any StreamConsumer)? {
        if amqpPorts.contains(connection.server.port) {
            return amqp.makeConnectionObserver(for: connection)
        }
        return http.makeConnectionObserver(for: connection)
    }
}
