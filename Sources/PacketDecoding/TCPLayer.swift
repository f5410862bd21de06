/// TCP header (RFC 9293 §3.1): ports, sequence numbers, flags, data offset.

extension Frame {
    /// TCP at `offset`; the IP layer says the segment ends at `end` and the capture holds
    /// it up to `capturedEnd` (≤ `end`).
    ///
    /// ```
    /// |          Source Port          |       Destination Port        |
    /// |                        Sequence Number                        |
    /// |                    Acknowledgment Number                      |
    /// |  Data |       |C|E|U|A|P|R|S|F|                               |
    /// | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
    /// |           Checksum            |         Urgent Pointer        |
    /// |                    Options (data offset > 5)                  |
    /// ```
    @inlinable @inline(__always)
    func decodeTCP(
        at offset: Int, capturedEnd: Int, end: Int, source: IPAddress, destination: IPAddress
    ) -> LayerResult {
        let segmentLength = end - offset
        guard segmentLength >= 20 else { return .anomaly(.malformedTCPHeader) }
        guard offset + 20 <= capturedEnd else { return .anomaly(.truncatedTCPHeader) }
        let dataOffset = Int(u8(offset + 12) >> 4) << 2
        guard dataOffset >= 20, dataOffset <= segmentLength else { return .anomaly(.malformedTCPDataOffset) }
        let payloadStart = offset + dataOffset
        guard payloadStart <= capturedEnd else { return .anomaly(.truncatedTCPHeader) }
        return .segment(
            TCPSegment(
                source: Endpoint(address: source, port: be16(offset)),
                destination: Endpoint(address: destination, port: be16(offset + 2)),
                sequenceNumber: be32(offset + 4),
                acknowledgmentNumber: be32(offset + 8),
                flags: TCPFlags(rawValue: u8(offset + 13)),
                window: be16(offset + 14),
                payload: UnsafeRawBufferPointer(rebasing: bytes[payloadStart..<capturedEnd]),
                payloadLength: segmentLength - dataOffset,
                timestamp: timestamp))
    }
}
