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
