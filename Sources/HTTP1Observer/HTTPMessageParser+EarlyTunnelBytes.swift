/// A client that does not wait for the answer to its CONNECT or `Upgrade` request: bytes after it, kept until it comes.
import PacketDecoding

extension HTTPMessageParser {
    /// The most bytes kept between a CONNECT and its answer: an optimistic client sends its TLS
    /// ClientHello (a few hundred bytes; with post-quantum key shares about 1.8 kB) or its first
    /// request, then waits for the other side. More is dropped (`droppedWhileAwaitingUpgrade`,
    /// counted as `bytes_while_awaiting_upgrade`), and that tunnel's start is not read.
    static let maxEarlyTunnelBytes = 64 << 10
    /// The most packet times kept with them (`earlyTunnelPieces`, 16 bytes each).
    static let maxEarlyTunnelPieces = 64

    /// Bytes sent while the CONNECT waits for its answer (`.awaitingUpgradeDecision`): kept, when
    /// this direction keeps them (`keepsEarlyTunnelBytes`) and they fit the bound and the observer's
    /// budget, for `takeEarlyTunnelBytes` (a 2xx) or `discardEarlyTunnelBytes` (any other answer);
    /// true when kept. Not kept, every byte before is dropped too (a tunnel's stream with a hole at
    /// its start is not read from the middle). The same after an `Upgrade` request, whose refusal
    /// gives them back as HTTP (`endAwaitingProtocolUpgrade`).
    mutating func keepEarlyTunnelBytes(_ bytes: UnsafeRawBufferPointer, time: Timestamp) -> Bool {
        guard keepsEarlyTunnelBytes, !droppedWhileAwaitingUpgrade else { return false }
        let count = bytes.count
        guard earlyTunnelBytes.count + count <= Self.maxEarlyTunnelBytes, shared.keptBytes.room(for: count) == count else {
            discardEarlyTunnelBytes()
            return false
        }
        earlyTunnelBytes.append(contentsOf: bytes)
        if let last = earlyTunnelPieces.last, last.time == time || earlyTunnelPieces.count == Self.maxEarlyTunnelPieces {
            // One piece a packet time; past the bound (a client dribbling bytes), later ones join the
            // last piece, at its time.
            earlyTunnelPieces[earlyTunnelPieces.count - 1].end = earlyTunnelBytes.count
        } else {
            earlyTunnelPieces.append((earlyTunnelBytes.count, time))
        }
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
        earlyTunnelPieces = []
        return true
    }
}
