/// Tunnel headers: VXLAN and Geneve over UDP, GRE, and IP directly in IP. Each gives the
/// inner packet as a frame of its own, which the layered decoder decodes again.

extension IPProtocol {
    @usableFromInline static let ipv4InIP: UInt8 = 4
    @usableFromInline static let udp: UInt8 = 17
    @usableFromInline static let ipv6InIP: UInt8 = 41
    @usableFromInline static let gre: UInt8 = 47
}

extension EtherType {
    /// Transparent Ethernet bridging: an Ethernet frame in GRE (gretap) or Geneve.
    @usableFromInline static let transparentEthernet: UInt16 = 0x6558
}

/// An IP payload other than TCP: where it starts, and where the IP header says it ends
/// (possibly beyond the capture, never beyond the original packet).
@usableFromInline
internal struct IPPayload {
    @usableFromInline let protocolNumber: UInt8
    @usableFromInline let start: Int
    @usableFromInline let end: Int
    @usableFromInline let isInIPv6: Bool

    @inlinable
    init(protocolNumber: UInt8, start: Int, end: Int, isInIPv6: Bool) {
        self.protocolNumber = protocolNumber
        self.start = start
        self.end = end
        self.isInIPv6 = isInIPv6
    }
}

/// What taking a tunnel header off gave: the inner packet and its link type, or why not.
@usableFromInline
internal enum Decapsulation {
    case inner(TunnelKind, Frame, LinkType)
    case anomaly(DecodeAnomaly)
}

extension Frame {
    /// The tunnel `payload` is, if it is one `settings` opens; `notTCP` for any other payload
    /// (plain UDP, ICMP, ESP…), as without decapsulation.
    @usableFromInline
    func decapsulate(_ payload: IPPayload, settings: TunnelSettings) -> Decapsulation {
        switch payload.protocolNumber {
        case IPProtocol.ipv4InIP:
            return .inner(payload.isInIPv6 ? .ipv4InIPv6 : .ipv4InIPv4, inner(from: payload.start, to: payload.end), .ipv4)
        case IPProtocol.ipv6InIP:
            return .inner(payload.isInIPv6 ? .ipv6InIPv6 : .ipv6InIPv4, inner(from: payload.start, to: payload.end), .ipv6)
        case IPProtocol.gre:
            return decapsulateGRE(at: payload.start, end: payload.end)
        case IPProtocol.udp:
            return decapsulateUDP(at: payload.start, end: payload.end, settings: settings)
        default:
            return .anomaly(.notTCP)
        }
    }

    /// The bytes from `start` to `end` (an offset the original packet reaches) as a frame of
    /// their own: the capture's bytes up to `end`, what the original had up to `end`. Its
    /// payloads still point into the caller's buffer.
    @inlinable
    func inner(from start: Int, to end: Int) -> Frame {
        Frame(
            bytes: UnsafeRawBufferPointer(rebasing: bytes[start..<Swift.min(end, bytes.count)]),
            wireLength: end - start, timestamp: timestamp)
    }

    /// UDP (RFC 768) at `udp`: a tunnel when its destination port is one of `settings`'.
    /// A datagram whose port the capture does not hold is plain UDP for all we know.
    @usableFromInline
    func decapsulateUDP(at udp: Int, end: Int, settings: TunnelSettings) -> Decapsulation {
        guard udp + 4 <= Swift.min(end, bytes.count) else { return .anomaly(.notTCP) }
        let port = be16(udp + 2)
        let isVXLAN = settings.vxlanPorts.contains(port)
        guard isVXLAN || settings.genevePorts.contains(port) else { return .anomaly(.notTCP) }
        guard udp + 8 <= end else { return .anomaly(.malformedUDPHeader) }
        guard udp + 8 <= bytes.count else { return .anomaly(.truncatedUDPHeader) }
        var length = Int(be16(udp + 4))
        // Zero: a jumbogram's (RFC 2675 §4); the IP header has the length.
        if length == 0 { length = end - udp }
        guard length >= 8, udp + length <= end else { return .anomaly(.malformedUDPHeader) }
        return isVXLAN ? decapsulateVXLAN(at: udp + 8, end: udp + length) : decapsulateGeneve(at: udp + 8, end: udp + length)
    }

    /// VXLAN (RFC 7348 §5), then an Ethernet frame.
    ///
    /// ```
    /// |R|R|R|R|I|R|R|R|            Reserved                           |
    /// |                VXLAN Network Identifier (VNI) |   Reserved    |
    /// ```
    @usableFromInline
    func decapsulateVXLAN(at header: Int, end: Int) -> Decapsulation {
        guard header + 8 <= end else { return .anomaly(.malformedVXLANHeader) }
        guard header + 8 <= bytes.count else { return .anomaly(.truncatedVXLANHeader) }
        // Other flag bits are extensions (Group Based Policy sets G, 0x80): ignored, as by Linux.
        guard u8(header) & 0x08 != 0 else { return .anomaly(.malformedVXLANHeader) }
        return .inner(.vxlan, inner(from: header + 8, to: end), .ethernet)
    }

    /// Geneve (RFC 8926 §3.4), its options walked, then what its protocol type says.
    ///
    /// ```
    /// |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
    /// |        Virtual Network Identifier (VNI)       |    Reserved   |
    /// |                    Variable-Length Options                    |
    /// ```
    /// Each option: class (16) | type (8) | R R R | length (5, in 4-byte words) | data.
    @usableFromInline
    func decapsulateGeneve(at header: Int, end: Int) -> Decapsulation {
        guard header + 8 <= end else { return .anomaly(.malformedGeneveHeader) }
        guard header + 8 <= bytes.count else { return .anomaly(.truncatedGeneveHeader) }
        let first = u8(header)
        // RFC 8926 §3.4: a packet of an unknown version is not to be parsed.
        guard first >> 6 == 0 else { return .anomaly(.malformedGeneveHeader) }
        let payload = header + 8 + Int(first & 0x3F) << 2
        guard payload <= end else { return .anomaly(.malformedGeneveHeader) }
        guard payload <= bytes.count else { return .anomaly(.truncatedGeneveHeader) }
        // The options must fill their area exactly: at most 63 words, so at most 63 rounds.
        var option = header + 8
        while option < payload {
            guard option + 4 <= payload else { return .anomaly(.malformedGeneveHeader) }
            option += 4 + Int(u8(option + 3) & 0x1F) << 2
        }
        guard option == payload else { return .anomaly(.malformedGeneveHeader) }
        return innerByEtherType(be16(header + 2), kind: .geneve, from: payload, to: end)
    }

    /// GRE (RFC 2784, with RFC 2890's key and sequence number) at `header`.
    ///
    /// ```
    /// |C|R|K|S|s|Recur|A| Flags | Ver |         Protocol Type         |
    /// |      Checksum (optional)      |       Reserved1 (optional)    |  C
    /// |                         Key (optional)                        |  K
    /// |                 Sequence Number (optional)                    |  S
    /// ```
    @usableFromInline
    func decapsulateGRE(at header: Int, end: Int) -> Decapsulation {
        guard header + 4 <= end else { return .anomaly(.malformedGREHeader) }
        guard header + 4 <= bytes.count else { return .anomaly(.truncatedGREHeader) }
        let flags = be16(header)
        switch flags & 0x0007 {
        case 0: break
        // PPTP's enhanced GRE (RFC 2637) carries PPP, which is not decoded.
        case 1: return .anomaly(.notIP)
        default: return .anomaly(.malformedGREHeader)
        }
        // RFC 2784 §2.3: bits 1 to 5 non-zero (RFC 1701's routing, strict source route and
        // recursion, K and S aside since RFC 2890) mean discard.
        guard flags & 0x4C00 == 0 else { return .anomaly(.malformedGREHeader) }
        var payload = header + 4
        if flags & 0x8000 != 0 { payload += 4 }  // checksum and reserved1
        if flags & 0x2000 != 0 { payload += 4 }  // key
        if flags & 0x1000 != 0 { payload += 4 }  // sequence number
        guard payload <= end else { return .anomaly(.malformedGREHeader) }
        guard payload <= bytes.count else { return .anomaly(.truncatedGREHeader) }
        return innerByEtherType(be16(header + 2), kind: .gre, from: payload, to: end)
    }

    /// The inner packet of a tunnel whose header names it by EtherType (GRE, Geneve).
    @inlinable
    func innerByEtherType(_ type: UInt16, kind: TunnelKind, from start: Int, to end: Int) -> Decapsulation {
        switch type {
        case EtherType.ipv4: .inner(kind, inner(from: start, to: end), .ipv4)
        case EtherType.ipv6: .inner(kind, inner(from: start, to: end), .ipv6)
        case EtherType.transparentEthernet: .inner(kind, inner(from: start, to: end), .ethernet)
        default: .anomaly(.notIP)
        }
    }
}
