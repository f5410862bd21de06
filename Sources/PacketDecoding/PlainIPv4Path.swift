/// The common packet in one straight pass: IPv4 carrying TCP, nothing cut, nothing wrong.

extension Frame {
    /// Decodes IPv4 (RFC 791) + TCP (RFC 9293 §3.1) directly after an
    /// untagged Ethernet, Linux SLL/SLL2 or raw-IP header, when every header
    /// is whole and valid; nil for anything else (IPv6, VLAN tags, a TSO
    /// super-packet with total length 0, a fragment, a cut or malformed
    /// header…), which `decodeLink` then decodes, or names the anomaly of,
    /// layer by layer.
    ///
    /// For the packets it accepts it gives exactly what `decodeLink` gives
    /// (the same checks in the same terms; a test compares the two on
    /// mutated and cut packets). It exists for speed: one inlined pass with
    /// no `LayerResult` to build and copy, for nearly every packet of a
    /// typical capture.
    @inlinable @inline(__always)
    func decodePlainIPv4TCP(_ linkType: LinkType) -> TCPSegment? {
        let count = bytes.count
        let ip: Int
        // Each case also asks for the 20-byte IPv4 and TCP minimum headers, so
        // the fixed fields read below are inside the capture.
        switch linkType {
        case .ethernet:
            guard count >= 14 + 40, be16(12) == EtherType.ipv4 else { return nil }
            ip = 14
        case .linuxSLL2:
            guard count >= 20 + 40, be16(0) == EtherType.ipv4 else { return nil }
            ip = 20
        case .linuxSLL:
            guard count >= 16 + 40, be16(14) == EtherType.ipv4 else { return nil }
            ip = 16
        case .ipv4, .raw:
            guard count >= 40 else { return nil }
            ip = 0
        case .null, .loop, .ipv6:
            return nil
        }
        let first = u8(ip)
        let headerLength = Int(first & 0x0F) << 2
        let totalLength = Int(be16(ip + 2))
        guard first >> 4 == 4, headerLength >= 20, totalLength >= headerLength, totalLength <= wireLength - ip,
            ip + headerLength + 20 <= count, be16(ip + 6) & 0x3FFF == 0, u8(ip + 9) == IPProtocol.tcp
        else { return nil }
        let tcp = ip + headerLength
        let end = ip + totalLength
        let capturedEnd = Swift.min(end, count)
        let segmentLength = end - tcp
        let dataOffset = Int(u8(tcp + 12) >> 4) << 2
        let payloadStart = tcp + dataOffset
        guard segmentLength >= 20, tcp + 20 <= capturedEnd, dataOffset >= 20, dataOffset <= segmentLength,
            payloadStart <= capturedEnd
        else { return nil }
        return TCPSegment(
            source: Endpoint(address: IPAddress(ipv4: be32(ip + 12)), port: be16(tcp)),
            destination: Endpoint(address: IPAddress(ipv4: be32(ip + 16)), port: be16(tcp + 2)),
            sequenceNumber: be32(tcp + 4),
            acknowledgmentNumber: be32(tcp + 8),
            flags: TCPFlags(rawValue: u8(tcp + 13)),
            window: be16(tcp + 14),
            payload: UnsafeRawBufferPointer(rebasing: bytes[payloadStart..<capturedEnd]),
            payloadLength: segmentLength - dataOffset,
            timestamp: timestamp)
    }
}
