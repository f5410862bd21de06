/// Link layers: Ethernet (+802.1Q/802.1ad tags), Linux SLL/SLL2, BSD NULL/LOOP, raw IP.

/// EtherType values (IEEE 802 numbers).
@usableFromInline
internal enum EtherType {
    @usableFromInline static let ipv4: UInt16 = 0x0800
    @usableFromInline static let ipv6: UInt16 = 0x86DD
    /// 802.1Q customer tag.
    @usableFromInline static let vlan: UInt16 = 0x8100
    /// 802.1ad service tag (QinQ outer tag).
    @usableFromInline static let serviceVLAN: UInt16 = 0x88A8
    /// Pre-standard QinQ outer tag used by some switches.
    @usableFromInline static let legacyQinQ: UInt16 = 0x9100
}

extension Frame {
    @inlinable @inline(__always)
    func decodeLink(_ linkType: LinkType) -> LayerResult {
        let count = bytes.count
        switch linkType {
        case .ethernet:
            // dst MAC (6) | src MAC (6) | EtherType (2), then any number of 4-byte tags.
            guard count >= 14 else {
                return short(end: 14, truncated: .truncatedLinkHeader, malformed: .malformedLinkHeader)
            }
            return decodeTaggedEtherType(be16(12), at: 14)
        case .linuxSLL:
            // packet type 2 | ARPHRD 2 | addr len 2 | addr 8 | protocol 2
            // (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html; SLL2: LINKTYPE_LINUX_SLL2.html)
            guard count >= 16 else {
                return short(end: 16, truncated: .truncatedLinkHeader, malformed: .malformedLinkHeader)
            }
            // Tags too: on `any`, the kernel hands a received frame's 802.1Q tag over beside the
            // packet, and libpcap writes it back after this header (protocol 0x8100, TCI, then the
            // real protocol), as it does after the MAC addresses on Ethernet. A transmitted frame
            // whose device does not insert tags itself carries its tag in the packet the same way.
            return decodeTaggedEtherType(be16(14), at: 16)
        case .linuxSLL2:
            // protocol 2 | reserved 2 | ifindex 4 | ARPHRD 2 | packet type 1 | addr len 1 | addr 8
            guard count >= 20 else {
                return short(end: 20, truncated: .truncatedLinkHeader, malformed: .malformedLinkHeader)
            }
            // Tags as after SLL: a frame sent through a device that does not insert tags itself
            // (tcpdump 4.99 records `any` as SLL2) carries its tag in the packet.
            return decodeTaggedEtherType(be16(0), at: 20)
        case .null, .loop:
            // A 4-byte address family. LOOP is big-endian; NULL is in the writer's byte order,
            // which we detect by value: a family never exceeds 16 bits, so a larger value was
            // written the other way round.
            guard count >= 4 else {
                return short(end: 4, truncated: .truncatedLinkHeader, malformed: .malformedLinkHeader)
            }
            var family = be32(0)
            if linkType == .null && family > 0xFFFF { family = family.byteSwapped }
            switch family {
            case 2: return decodeIPv4(at: 4)
            // AF_INET6 differs by OS: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30.
            case 10, 24, 28, 30: return decodeIPv6(at: 4)
            default: return .anomaly(.notIP)
            }
        case .raw:
            guard count >= 1 else {
                return short(end: 1, truncated: .truncatedIPv4Header, malformed: .malformedIPv4Header)
            }
            switch u8(0) >> 4 {
            case 4: return decodeIPv4(at: 0)
            case 6: return decodeIPv6(at: 0)
            default: return .anomaly(.malformedIPVersion)
            }
        case .ipv4:
            return decodeIPv4(at: 0)
        case .ipv6:
            return decodeIPv6(at: 0)
        }
    }

    /// `type` and what follows it at `offset`, after any number of 4-byte VLAN tags
    /// (TPID 2 | TCI 2), each followed by the next EtherType.
    @inlinable @inline(__always)
    func decodeTaggedEtherType(_ type: UInt16, at offset: Int) -> LayerResult {
        var type = type
        var offset = offset
        while type == EtherType.vlan || type == EtherType.serviceVLAN || type == EtherType.legacyQinQ {
            guard offset + 4 <= bytes.count else {
                return short(end: offset + 4, truncated: .truncatedVLANTag, malformed: .malformedLinkHeader)
            }
            type = be16(offset + 2)
            offset += 4
        }
        return decodeEtherType(type, at: offset)
    }

    @inlinable @inline(__always)
    func decodeEtherType(_ type: UInt16, at offset: Int) -> LayerResult {
        switch type {
        case EtherType.ipv4: return decodeIPv4(at: offset)
        case EtherType.ipv6: return decodeIPv6(at: offset)
        default: return .anomaly(.notIP)
        }
    }
}
