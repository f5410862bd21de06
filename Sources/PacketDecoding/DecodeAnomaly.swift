/// Why a captured packet did not yield a TCP segment.
///
/// Three families, told apart as tcpdump does (`nd_print_trunc` vs `nd_print_invalid`):
/// - `truncated*`: the *capture* holds fewer bytes than the headers need because the
///   snapshot length cut the packet (the original packet was long enough);
/// - `malformed*`: the headers contradict themselves or the packet's own length;
/// - everything else: a well-formed packet that is simply not TCP we can use.
///
/// The raw values index `DecodeCounters`; `label` is the stable snake_case name
/// used for metrics (`channel_exporter_decode_anomalies_total{reason="…"}`).
public enum DecodeAnomaly: Int, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// The capture ends inside the link-layer header (Ethernet, SLL, SLL2, NULL/LOOP).
    case truncatedLinkHeader
    /// The capture ends inside an 802.1Q / 802.1ad tag.
    case truncatedVLANTag
    /// The capture ends inside the IPv4 header (including its options).
    case truncatedIPv4Header
    /// The capture ends inside the fixed 40-byte IPv6 header.
    case truncatedIPv6Header
    /// The capture ends inside an IPv6 extension header.
    case truncatedIPv6ExtensionHeader
    /// The capture ends inside the TCP header (including its options).
    case truncatedTCPHeader
    /// The capture ends inside the UDP header of a datagram to a tunnel port.
    case truncatedUDPHeader
    /// The capture ends inside a VXLAN header (RFC 7348 §5).
    case truncatedVXLANHeader
    /// The capture ends inside a Geneve header or its options (RFC 8926 §3.4).
    case truncatedGeneveHeader
    /// The capture ends inside a GRE header or its optional fields (RFC 2784, RFC 2890).
    case truncatedGREHeader

    /// The packet itself (not the capture) is shorter than its link-layer header or VLAN tags.
    case malformedLinkHeader
    /// The IP version nibble is not the one the link layer announced (or neither 4 nor 6 for raw IP).
    case malformedIPVersion
    /// The packet itself is shorter than a 20-byte IPv4 header.
    case malformedIPv4Header
    /// IHL below 5 (RFC 791 §3.1: the minimum header is five 32-bit words).
    case malformedIPv4HeaderLength
    /// Total length below the header length, or beyond the packet's length.
    case malformedIPv4TotalLength
    /// The packet itself is shorter than the 40-byte IPv6 header.
    case malformedIPv6Header
    /// Payload length beyond the packet's length (RFC 8200 §3).
    case malformedIPv6PayloadLength
    /// An extension header runs past the IPv6 payload.
    case malformedIPv6ExtensionHeader
    /// The IP payload is shorter than a 20-byte TCP header.
    case malformedTCPHeader
    /// TCP data offset below 5 or beyond the segment (RFC 9293 §3.1).
    case malformedTCPDataOffset
    /// A datagram to a tunnel port shorter than a UDP header, or a UDP length below 8 or
    /// beyond the IP payload (RFC 768).
    case malformedUDPHeader
    /// A datagram to a VXLAN port shorter than the 8-byte VXLAN header, or without the
    /// I flag (RFC 7348 §5: the VNI is valid only with it).
    case malformedVXLANHeader
    /// A Geneve header of a version other than 0, or whose options run past the datagram
    /// (RFC 8926 §3.4).
    case malformedGeneveHeader
    /// A GRE header of a version other than 0 or 1, with the routing bit of RFC 1701 set
    /// (RFC 2784 §2.3: such packets are discarded), or shorter than its flags say.
    case malformedGREHeader

    /// The link layer, or a tunnel, carries something other than IPv4/IPv6 (ARP, LLC, a GRE
    /// or Geneve protocol type other than IPv4, IPv6 and Ethernet, PPTP's enhanced GRE, …).
    case notIP
    /// IP carrying something other than TCP (UDP not to a tunnel port, ICMP, ESP, no next
    /// header, …), or a tunnel while decapsulation is off.
    case notTCP
    /// An IPv4 fragment (offset ≠ 0 or more-fragments set) that did not complete a datagram:
    /// held for reassembly or dropped (`FragmentDrop`), or any fragment with reassembly off.
    case ipv4Fragment
    /// An IPv6 fragment (RFC 8200 §4.5; offset ≠ 0 or M set) that did not complete a datagram,
    /// as `ipv4Fragment`; atomic fragments pass through.
    case ipv6Fragment
    /// A tunnel inside more tunnels than `TunnelSettings.maximumDepth`: not opened further.
    case tunnelTooDeep

    /// Stable snake_case name for metrics and summaries.
    public var label: String {
        switch self {
        case .truncatedLinkHeader: "truncated_link_header"
        case .truncatedVLANTag: "truncated_vlan_tag"
        case .truncatedIPv4Header: "truncated_ipv4_header"
        case .truncatedIPv6Header: "truncated_ipv6_header"
        case .truncatedIPv6ExtensionHeader: "truncated_ipv6_extension_header"
        case .truncatedTCPHeader: "truncated_tcp_header"
        case .truncatedUDPHeader: "truncated_udp_header"
        case .truncatedVXLANHeader: "truncated_vxlan_header"
        case .truncatedGeneveHeader: "truncated_geneve_header"
        case .truncatedGREHeader: "truncated_gre_header"
        case .malformedLinkHeader: "malformed_link_header"
        case .malformedIPVersion: "malformed_ip_version"
        case .malformedIPv4Header: "malformed_ipv4_header"
        case .malformedIPv4HeaderLength: "malformed_ipv4_header_length"
        case .malformedIPv4TotalLength: "malformed_ipv4_total_length"
        case .malformedIPv6Header: "malformed_ipv6_header"
        case .malformedIPv6PayloadLength: "malformed_ipv6_payload_length"
        case .malformedIPv6ExtensionHeader: "malformed_ipv6_extension_header"
        case .malformedTCPHeader: "malformed_tcp_header"
        case .malformedTCPDataOffset: "malformed_tcp_data_offset"
        case .malformedUDPHeader: "malformed_udp_header"
        case .malformedVXLANHeader: "malformed_vxlan_header"
        case .malformedGeneveHeader: "malformed_geneve_header"
        case .malformedGREHeader: "malformed_gre_header"
        case .notIP: "not_ip"
        case .notTCP: "not_tcp"
        case .ipv4Fragment: "ipv4_fragment"
        case .ipv6Fragment: "ipv6_fragment"
        case .tunnelTooDeep: "tunnel_too_deep"
        }
    }

    /// True for the snaplen family (the capture, not the packet, is short).
    public var isTruncation: Bool { rawValue <= DecodeAnomaly.truncatedGREHeader.rawValue }

    /// True for headers that contradict themselves or the packet length.
    public var isMalformation: Bool {
        rawValue >= DecodeAnomaly.malformedLinkHeader.rawValue
            && rawValue <= DecodeAnomaly.malformedGREHeader.rawValue
    }

    public var description: String { label }
}
