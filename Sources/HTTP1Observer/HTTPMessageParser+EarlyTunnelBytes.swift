/// A CONNECT's client that does not wait for the proxy's answer: bytes after the CONNECT, kept until it comes.

extension HTTPMessageParser {
    /// The most bytes kept between a CONNECT and its answer: an optimistic client sends its TLS
    /// ClientHello (a few hundred bytes; with post-quantum key shares about 1.8 kB) or its first
    /// request, then waits for the other side. More is dropped (`droppedWhileAwaitingUpgrade`,
    /// counted as `bytes_while_awaiting_upgrade`), and that tunnel's start is not read.
    static let maxEarlyTunnelBytes = 64 << 10

    /// Bytes sent while the CONNECT waits for its answer (`.awaitingUpgradeDecision`): kept, when
    /// this direction keeps them (`keepsEarlyTunnelBytes`) and they fit the bound and the observer's
    /// budget, for `takeEarlyTunnelBytes` (a 2xx) or `discardEarlyTunnelBytes` (any other answer);
    /// true when kept. Not kept, every byte before is dropped too (a tunnel's stream with a hole at
    /// its start is not read from the middle).
    mutating func keepEarlyTunnelBytes(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard keepsEarlyTunnelBytes, !droppedWhileAwaitingUpgrade else { return false }
        let count = bytes.count
        guard earlyTunnelBytes.count + count <= Self.maxEarlyTunnelBytes, shared.keptBytes.room(for: count) == count else {
            discardEarlyTunnelBytes()
            return false
        }
        earlyTunnelBytes.append(contentsOf: bytes)
        shared.keptBytes.charge(count)
        return true
    }

    /// The bytes kept, for the tunnel the 2xx opened (nil: none); their charge is given back.
    mutating func takeEarlyTunnelBytes() -> [UInt8]? {
        keepsEarlyTunnelBytes = false
        guard !earlyTunnelBytes.isEmpty else { return nil }
        let bytes = earlyTunnelBytes
        discardEarlyTunnelBytes()
        return bytes
    }

    /// Lets the bytes kept go (the CONNECT refused, the direction ended or lost bytes); true when
    /// there were some.
    @discardableResult
    mutating func discardEarlyTunnelBytes() -> Bool {
        keepsEarlyTunnelBytes = false
        guard !earlyTunnelBytes.isEmpty else { return false }
        shared.keptBytes.release(earlyTunnelBytes.count)
        earlyTunnelBytes = []
        return true
    }
}
