/// IPv4 (RFC 791) and IPv6 (RFC 8200) headers, up to the TCP header.

/// IP protocol / IPv6 next-header numbers (IANA).
@usableFromInline
internal enum IPProtocol {
    @usableFromInline static let tcp: UInt8 = 6
    @usableFromInline static let hopByHop: UInt8 = 0
    @usableFromInline static let routing: UInt8 = 43
    @usableFromInline static let fragment: UInt8 = 44
    @usableFromInline static let authentication: UInt8 = 51
    @usableFromInline static let destinationOptions: UInt8 = 60
}

extension Frame {
    /// IPv4 at `offset`.
    ///
    /// ```
    ///  0                   1                   2                   3
    /// |Version|  IHL  |Type of Service|          Total Length         |
    /// |         Identification        |Flags|      Fragment Offset    |
    /// |  Time to Live |    Protocol   |         Header Checksum       |
    /// |                       Source Address                          |
    /// |                    Destination Address                        |
    /// |                    Options (IHL > 5)                          |
    /// ```
    @inlinable @inline(__always)
    func decodeIPv4(at offset: Int) -> LayerResult {
        let count = bytes.count
        guard offset < count else {
            return short(end: offset + 20, truncated: .truncatedIPv4Header, malformed: .malformedIPv4Header)
        }
        let first = u8(offset)
        guard first >> 4 == 4 else { return .anomaly(.malformedIPVersion) }
        guard offset + 20 <= count else {
            return short(end: offset + 20, truncated: .truncatedIPv4Header, malformed: .malformedIPv4Header)
        }
        let headerLength = Int(first & 0x0F) << 2
        guard headerLength >= 20 else { return .anomaly(.malformedIPv4HeaderLength) }
        let wireAvailable = wireLength - offset
        var totalLength = Int(be16(offset + 2))
        // TCP segmentation offload records super-packets with total length 0: trust the capture.
        if totalLength == 0 { totalLength = wireAvailable }
        guard totalLength >= headerLength, totalLength <= wireAvailable else {
            return .anomaly(.malformedIPv4TotalLength)
        }
        // headerLength <= totalLength <= the original packet: a short capture here is a snaplen cut.
        guard offset + headerLength <= count else { return .anomaly(.truncatedIPv4Header) }
        // The end of the IP packet; Ethernet padding beyond it is ignored.
        let end = offset + totalLength
        // Any fragment (more-fragments set or a non-zero offset) goes to the reassembler.
        guard be16(offset + 6) & 0x3FFF == 0 else {
            return .fragment(IPFragment(isIPv6: false, header: offset, headerEnd: offset + headerLength, end: end))
        }
        let proto = u8(offset + 9)
        guard proto == IPProtocol.tcp else {
            return .carried(IPPayload(protocolNumber: proto, start: offset + headerLength, end: end, isInIPv6: false))
        }
        let source = IPAddress(ipv4: be32(offset + 12))
        let destination = IPAddress(ipv4: be32(offset + 16))
        return decodeTCP(
            at: offset + headerLength, capturedEnd: Swift.min(end, count), end: end,
            source: source, destination: destination)
    }

    /// IPv6 at `offset`, walking hop-by-hop, routing, fragment, destination options
    /// and AH extension headers (RFC 8200 §4, RFC 4302 §2.2) to the TCP header.
    @inlinable @inline(__always)
    func decodeIPv6(at offset: Int) -> LayerResult {
        let count = bytes.count
        guard offset < count else {
            return short(end: offset + 40, truncated: .truncatedIPv6Header, malformed: .malformedIPv6Header)
        }
        guard u8(offset) >> 4 == 6 else { return .anomaly(.malformedIPVersion) }
        guard offset + 40 <= count else {
            return short(end: offset + 40, truncated: .truncatedIPv6Header, malformed: .malformedIPv6Header)
        }
        let payloadLength = Int(be16(offset + 4))
        let end: Int
        if payloadLength == 0 {
            // A jumbogram (RFC 2675) or an offloaded super-packet: trust the capture.
            end = wireLength
        } else {
            end = offset + 40 + payloadLength
            guard end <= wireLength else { return .anomaly(.malformedIPv6PayloadLength) }
        }
        let capturedEnd = Swift.min(end, count)
        var next = u8(offset + 6)
        var position = offset + 40
        // Each extension header is at least 8 bytes and must end within the payload,
        // so this loop ends after at most payloadLength / 8 rounds.
        while true {
            switch next {
            case IPProtocol.tcp:
                return decodeTCP(
                    at: position, capturedEnd: capturedEnd, end: end,
                    source: IPAddress(ipv6High: be64(offset + 8), low: be64(offset + 16)),
                    destination: IPAddress(ipv6High: be64(offset + 24), low: be64(offset + 32)))
            case IPProtocol.hopByHop, IPProtocol.routing, IPProtocol.destinationOptions, IPProtocol.authentication,
                IPProtocol.fragment:
                guard position + 8 <= end else { return .anomaly(.malformedIPv6ExtensionHeader) }
                guard position + 8 <= capturedEnd else { return .anomaly(.truncatedIPv6ExtensionHeader) }
                let length: Int
                switch next {
                case IPProtocol.fragment:
                    // Offset (13 bits) | Res (2) | M (1): anything but an atomic fragment is a fragment.
                    guard be16(position + 2) & 0xFFF9 == 0 else {
                        return .fragment(IPFragment(isIPv6: true, header: offset, headerEnd: position, end: end))
                    }
                    length = 8
                case IPProtocol.authentication:
                    length = (Int(u8(position + 1)) + 2) << 2  // RFC 4302: in 4-octet units, minus 2
                default:
                    length = (Int(u8(position + 1)) + 1) << 3  // in 8-octet units, not counting the first 8
                }
                next = u8(position)
                position += length
                guard position <= end else { return .anomaly(.malformedIPv6ExtensionHeader) }
                guard position <= capturedEnd else { return .anomaly(.truncatedIPv6ExtensionHeader) }
            default:
                // UDP, ICMPv6, ESP, no next header (59), a tunnel, unknown: not TCP here.
                return .carried(IPPayload(protocolNumber: next, start: position, end: end, isInIPv6: true))
            }
        }
    }
}

