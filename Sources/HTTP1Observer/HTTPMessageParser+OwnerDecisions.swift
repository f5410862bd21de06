import PacketDecoding

/// What the parser's owner decides for it: a head's body framing, an upgrade refused or taken, and
/// a loss of message boundaries.
extension HTTPMessageParser {
    /// The owner's answer to `.head`: how the body is delimited.
    mutating func setFraming(_ framing: BodyFraming) {
        switch framing {
        case .none: endMessage()
        case .length(let n): state = n > 0 ? .body(remaining: n) : .idle
        case .chunked: state = .chunkSize(ChunkSizeLine())
        case .untilClose: state = .untilClose
        case .ignoreRest: state = .ignoring
        case .awaitUpgradeDecision: state = .awaitingUpgradeDecision
        }
    }

    /// The upgrade was refused: parse again (resynchronising if bytes were dropped meanwhile, or
    /// kept for a tunnel that is not opened: not HTTP, or not where a message starts); true when
    /// bytes kept were let go.
    @discardableResult
    mutating func resumeAfterRefusedUpgrade() -> Bool {
        guard case .awaitingUpgradeDecision = state else { return false }
        endMessage()
        let discarded = discardEarlyTunnelBytes()
        if droppedWhileAwaitingUpgrade || discarded {
            droppedWhileAwaitingUpgrade = false
            loseSync(atLineStart: false)
        }
        return discarded
    }

    /// The wait of an `Upgrade` request ends without an upgrade: the server refused it (RFC 9110 §7.8:
    /// the connection goes on in HTTP/1.1), or the client ended its direction first. Parse again, and
    /// give back what the client sent meanwhile with when each piece came, for the owner to parse as
    /// the requests the client pipelined behind it (nil: none kept). A client sends nothing of the new
    /// protocol before the 101 (RFC 6455 §4.1; RFC 7540 §3.2 for h2c), so those bytes are HTTP/1.1;
    /// dropped before the answer (past the bound), the direction resynchronises as after a refused
    /// CONNECT.
    mutating func endAwaitingProtocolUpgrade() -> (bytes: [UInt8], pieces: [(end: Int, time: Timestamp)])? {
        guard case .awaitingUpgradeDecision = state else { return nil }
        if droppedWhileAwaitingUpgrade {
            resumeAfterRefusedUpgrade()
            return nil
        }
        endMessage()
        guard !earlyTunnelBytes.isEmpty else {
            keepsEarlyTunnelBytes = false
            return nil
        }
        let held = (bytes: earlyTunnelBytes, pieces: earlyTunnelPieces)
        discardEarlyTunnelBytes()
        return held
    }

    /// HTTP ends on this direction (the connection was upgraded).
    mutating func stopParsing() {
        state = .ignoring
        resetHead()
        discardEarlyTunnelBytes()
    }

    /// HTTP ends on this direction for a CONNECT tunnel: what follows is the tunnel's stream, handed
    /// to the owner as it comes (`Event.tunnel`).
    mutating func enterTunnel() {
        state = .tunnel
        resetHead()
    }

    /// Gives up message boundaries (the owner found the framing unusable).
    mutating func loseSync(atLineStart: Bool) {
        state = atLineStart ? .startLine(StartLineScanner(kind: expectedKind)) : .skipLine
        isResynchronising = true
        hasLostSync = true
        resetHead()
        messageFirstByte = nil
        messageLastByte = nil
        messageSawGap = false
    }
}
