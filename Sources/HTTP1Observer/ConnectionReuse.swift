/// Making a spare connection observer new again for its next connection (see `HTTPObserverCore`).
import TCPReassembly

extension HTTPConnectionObserver {
    /// Every field as `init` sets it for `connection`: nothing of the previous connection is left
    /// (the queues keep their capacity, emptied; a head buffer left by a connection that ended
    /// mid-head is freed).
    func restart(connection: ConnectionInfo) {
        self.connection = connection
        rolesSettled = connection.roleSource != .firstSender
        clientToServer.restart(expectedKind: rolesSettled ? .request : .either)
        serverToClient.restart(expectedKind: rolesSettled ? .response : .either)
        startOtherProtocolChecks()
        requestDirection = .clientToServer
        if !pending.isEmpty { pending.removeAll(keepingCapacity: true) }
        if case .some = inFlight { inFlight = nil }
        if case .some = currentRequest { currentRequest = nil }
        if case .some = earlyAnswer { earlyAnswer = nil }
        requestsSeen = 0
        recovering = false
        if !heldResponses.isEmpty { heldResponses.removeAll(keepingCapacity: true) }
        responseLossTime = .min
        requestDirectionEnded = false
        serverLineLossDeferred = false
        responseDirectionEnded = false
        if case .some = tunnel { tunnel = nil }
        if case .some = tunnelAuthority { tunnelAuthority = nil }
        tunnelDepth = 0
        if case .some = sentBehindUpgradeRequest { sentBehindUpgradeRequest = nil }
    }
}

extension HTTPMessageParser {
    /// Back to the state `init` gives, accepting `expectedKind` (the limits and the shared state stay).
    mutating func restart(expectedKind: StartLineKind) {
        state = .idle
        self.expectedKind = expectedKind
        isResynchronising = false
        hasLostSync = false
        droppedWhileAwaitingUpgrade = false
        discardEarlyTunnelBytes()
        firstLineMayBeHTTP2Settings = false
        otherProtocolCheck = .off
        unsyncedBytesLeft = -1
        resetHead()
        messageFirstByte = nil
        messageLastByte = nil
        messageSawGap = false
    }
}
