/// A CONNECT tunnel through a forward proxy: after its 2xx, the connection carries the tunnel's own stream.
import PacketDecoding
import TCPReassembly

/// The observer of the stream inside a CONNECT tunnel (RFC 9110 §9.3.6): after the proxy's 2xx,
/// both directions carry the client's connection to the CONNECT target, read as a connection of its
/// own from its start (TLS, decrypted when its keys are logged; plaintext HTTP/1, as curl `-p` and
/// proxytunnel send it; another protocol). Held by the proxy connection's observer.
final class ConnectTunnel {
    /// The HTTP observer of the tunnel's stream, told the authority its calls were for.
    let observer: HTTPConnectionObserver
    /// What the stream goes to: `observer`, or a TLS decryptor in front of it (`HTTPObserver.tunnelStreamWrapper`).
    let consumer: any StreamConsumer
    /// The CONNECT's target, authority-form (`host:port`, RFC 9112 §3.2.3).
    let target: String
    /// Whether the calls' authority was decided (at the tunnel's first byte).
    var authorityDecided = false
    /// Packet times of the client's bytes in the tunnel before its first request is read: the latest,
    /// and the latest before that one's time, which ended what it set up for the call (its TLS
    /// handshake) when the request comes later. By time, not by delivery: however the bytes of one
    /// packet time are cut, the same.
    var lastClientTime: Timestamp?
    var setupEnd: Timestamp?

    init(observer: HTTPConnectionObserver, consumer: any StreamConsumer, target: String) {
        self.observer = observer
        self.consumer = consumer
        self.target = target
    }

    /// The authority the caller's URL had, which the reference's partner table and `tcode` read:
    /// `target` without the port its scheme implies, as `requests` writes the URL's and the `Host`
    /// header's (`https://partner.example/x` is `CONNECT partner.example:443` on the wire, and
    /// `partner.example` to the reference; `https://partner.example:8443/x` keeps its port). The
    /// scheme is what the tunnel carries: TLS (its client's first byte a handshake record) is
    /// `https` (443), anything else `http` (80).
    static func urlAuthority(target: String, carriesTLS: Bool) -> String {
        let defaultPort = carriesTLS ? ":443" : ":80"
        guard target.hasSuffix(defaultPort) else { return target }
        let host = target.dropLast(defaultPort.count)
        // `[::1]:443` → `[::1]`; a bare IPv6 address has no port to drop (its last `:` is inside it).
        if host.contains(":") && !(host.hasPrefix("[") && host.hasSuffix("]")) { return target }
        return host.isEmpty ? target : String(host)
    }
}

extension HTTPConnectionObserver {
    /// CONNECT tunnels opened inside one another at most (a proxy reached through another's tunnel):
    /// deeper ones end HTTP parsing as before, so no stream nests calls without bound.
    static let maxTunnelDepth: UInt8 = 4

    /// A 2xx answered the CONNECT being emitted (`inFlight`, not yet emitted): from here on both
    /// directions are the tunnel's stream. Held in recovery (the request it answered not sure), or
    /// too deep, HTTP just ends here, as for any upgrade.
    @inline(never)
    func openTunnel(answeredAt time: Timestamp) {
        guard let answer = inFlight, !answer.isHeld, let connect = answer.request, tunnelDepth < Self.maxTunnelDepth
        else { return stopParsing() }
        let requestParserDropped = withParser(requestDirection) { $0.droppedWhileAwaitingUpgrade }
        // What an optimistic client sent after its CONNECT, before this answer (its TLS ClientHello):
        // the tunnel's first bytes.
        let early = withParser(requestDirection) { $0.takeEarlyTunnelBytes() }
        // The caller's call through the proxy began at the proxy connection's SYN when it opened that
        // connection for it (the CONNECT its first request, sent within the handshake delay limit), else
        // at the CONNECT: the tunnel's own "SYN". Its "handshake" ends with the client's last bytes
        // before its first request inside (its TLS handshake, which it makes for the call; in plain
        // HTTP, the 2xx): the first request is timed from the start when it follows within the same
        // limit, and from itself when the tunnel waited longer, set up ahead of its use (`tunnelData`).
        var start = connect.firstByte ?? time
        if connect.isFirstOnConnection, let syn = connection.synTime {
            if let handshakeEnd = connection.handshakeEnd, start - handshakeEnd > HTTPExchange.openingCallDelayLimit {
                // Opened ahead of the CONNECT (a pool's): the call began at the CONNECT.
            } else {
                start = syn
            }
        }
        let fromClient = requestDirection == .clientToServer
        let info = ConnectionInfo(
            id: connection.id, client: fromClient ? connection.client : connection.server,
            server: fromClient ? connection.server : connection.client,
            // Bytes the client sent before the 2xx were dropped: the tunnel's start is not seen.
            roleSource: requestParserDropped ? .configuredPort : .handshake,
            synTime: requestParserDropped ? nil : start, firstSeen: time, handshakeEnd: requestParserDropped ? nil : time)
        let observer: HTTPConnectionObserver
        if let spare = core.takeSpareConnection() {
            spare.restart(connection: info)
            observer = spare
        } else {
            observer = HTTPConnectionObserver(connection: info, core: core)
        }
        observer.tunnelDepth = tunnelDepth &+ 1
        let consumer = core.tunnelStreamWrapper?(observer) ?? observer
        tunnel = ConnectTunnel(observer: observer, consumer: consumer, target: connect.summary.target)
        core.statistics.connectTunnels += 1
        clientToServer.enterTunnel()
        serverToClient.enterTunnel()
        currentRequest = nil
        if case .some = earlyAnswer { emitEarlyAnswer() }
        // At the answer's time, not their own: the tunnel begins there, and the client's setup in it
        // (its TLS handshake) cannot end before it. At their own, a ClientHello sent 115 ms before
        // tinyproxy's 200 ended the setup, and the call that opened the connection for itself was timed
        // from its request (captures/http/connect-tunnel/optimistic.pcap).
        if let early { early.withUnsafeBytes { tunnelData($0, direction: requestDirection, time: time) } }
    }

    /// Bytes of the tunnel's stream, in the tunnel's own directions (its client sent the CONNECT).
    @inline(never)
    func tunnelData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
        guard let tunnel else { return }
        let inner: StreamDirection = direction == requestDirection ? .clientToServer : .serverToClient
        if !tunnel.authorityDecided {
            tunnel.authorityDecided = true
            let carriesTLS = inner == .clientToServer && bytes.first == 0x16
            tunnel.observer.tunnelAuthority = ConnectTunnel.urlAuthority(target: tunnel.target, carriesTLS: carriesTLS)
        }
        if inner == .clientToServer && tunnel.observer.requestsSeen == 0 {
            // The client's bytes sent before these, if any, ended its setup (these may hold the request).
            if let last = tunnel.lastClientTime, last < time { tunnel.setupEnd = last }
            if let setupEnd = tunnel.setupEnd { tunnel.observer.connection.handshakeEnd = setupEnd }
            tunnel.lastClientTime = time
        }
        tunnel.consumer.streamData(bytes, direction: inner, time: time)
    }

    /// A gap in a direction of the tunnel's stream.
    @inline(never)
    func tunnelGap(length: Int, direction: StreamDirection, time: Timestamp) {
        guard let tunnel else { return }
        let inner: StreamDirection = direction == requestDirection ? .clientToServer : .serverToClient
        tunnel.consumer.streamGap(length: length, direction: inner, time: time)
    }

    /// The end of a direction of the tunnel's stream; once both have ended, the tunnel is let go.
    @inline(never)
    func tunnelEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp, bothEnded: Bool) {
        guard let tunnel else { return }
        let inner: StreamDirection = direction == requestDirection ? .clientToServer : .serverToClient
        tunnel.consumer.streamEnd(direction: inner, reason: reason, time: time)
        if bothEnded { self.tunnel = nil }
    }
}
