import AMQPObserver
import HTTP1Observer
import TCPReassembly
import TLSDecryption

/// Hands each new connection to the observer for its protocol: connections to
/// a configured broker port carry AMQP 0-9-1, every other one is taken as
/// HTTP/1.1 (an HTTP observer that finds no request line gives up cheaply).
final class ConnectionRouter: StreamConsumerFactory {
    /// The broker ports, a few at most: a scan of them costs a few instructions per connection, where
    /// the set's hash cost about 130 even when it was empty.
    private let amqpPorts: [UInt16]
    private let http: HTTPObserver
    private let amqp: AMQPObserver
    /// With keys to read TLS by (a key log, or secrets a capture file carried), every connection
    /// goes through a decryptor first, which hands on a connection that is not TLS untouched. Without
    /// them the observers get the connections directly, at no cost.
    var tls: TLSDecryptor? {
        didSet { wrapTunnels() }
    }

    /// Told of each connection opened, by its id (a sharded replay's exchange log renumbers them).
    var opened: ((UInt64) -> Void)?

    init(amqpPorts: Set<UInt16>, http: HTTPObserver, amqp: AMQPObserver, tls: TLSDecryptor? = nil) {
        self.amqpPorts = amqpPorts.sorted()
        self.http = http
        self.amqp = amqp
        self.tls = tls
        wrapTunnels()
    }

    /// A CONNECT tunnel's stream (HTTPS through a forward proxy) goes through the decryptor as a
    /// connection does, when there is one.
    private func wrapTunnels() {
        http.tunnelStreamWrapper = tls.map { decryptor in { decryptor.consumer(wrapping: $0) } }
    }

    func makeConsumer(for connection: ConnectionInfo) -> (any StreamConsumer)? {
        opened?(connection.id)
        let observer: any StreamConsumer =
            amqpPorts.contains(connection.server.port)
            ? amqp.makeConnectionObserver(for: connection) : http.makeConnectionObserver(for: connection)
        guard let tls else { return observer }
        return tls.consumer(wrapping: observer)
    }
}
