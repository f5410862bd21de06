/// Which tunnels the decoder opens, and the kinds it counts.

/// A kind of tunnel header the decoder takes off, counted in `DecodeCounters[decapsulated:]`.
///
/// The raw values index `DecodeCounters`; `label` is the stable snake_case name used for
/// metrics (`channel_exporter_decapsulated_packets_total{tunnel="…"}`) and summaries.
public enum TunnelKind: Int, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// VXLAN (RFC 7348) over UDP: flannel's and Calico's VXLAN mode, Cilium's VXLAN mode.
    case vxlan
    /// Geneve (RFC 8926) over UDP: Cilium's and OVN's default.
    case geneve
    /// GRE (RFC 2784, RFC 2890) carrying IPv4, IPv6 or Ethernet (gretap).
    case gre
    /// IPv4 directly in IPv4 (protocol 4; Linux `ipip`, Calico's IPIP mode).
    case ipv4InIPv4
    /// IPv6 directly in IPv4 (protocol 41; Linux `sit`, 6in4).
    case ipv6InIPv4
    /// IPv4 directly in IPv6 (protocol 4; Linux `ip6tnl` in ipip6 mode).
    case ipv4InIPv6
    /// IPv6 directly in IPv6 (protocol 41; Linux `ip6tnl`).
    case ipv6InIPv6

    public var label: String {
        switch self {
        case .vxlan: "vxlan"
        case .geneve: "geneve"
        case .gre: "gre"
        case .ipv4InIPv4: "ipv4_in_ipv4"
        case .ipv6InIPv4: "ipv6_in_ipv4"
        case .ipv4InIPv6: "ipv4_in_ipv6"
        case .ipv6InIPv6: "ipv6_in_ipv6"
        }
    }

    public var description: String { label }
}

/// Whether the decoder looks inside tunnels, and on which UDP ports.
///
/// Only packets the plain IPv4 path declines get this far (a tunnel's outer packet is
/// UDP, GRE or IP in IP, never plain TCP), so what is set here costs nothing on the
/// common packet. GRE and IP in IP have protocol numbers of their own; VXLAN and Geneve
/// are recognised by their UDP destination port, as Zeek and Suricata do.
public struct TunnelSettings: Sendable, Hashable {
    /// Tunnels opened inside one another at most (a packet nested deeper counts as
    /// `tunnelTooDeep`). Two covers an overlay inside a provider's own tunnel; four leaves
    /// room, and bounds what a crafted packet of nested headers costs.
    public static let maximumDepth = 4

    /// IANA's VXLAN port and Linux's own default (the kernel's `vxlan` devices, and so
    /// flannel, use 8472 unless told otherwise).
    public static let standardVXLANPorts: [UInt16] = [4789, 8472]
    /// IANA's Geneve port.
    public static let standardGenevePorts: [UInt16] = [6081]

    /// Off: every tunnel is counted as before, `notTCP`.
    public var isEnabled: Bool
    public var vxlanPorts: [UInt16]
    public var genevePorts: [UInt16]

    public init(
        isEnabled: Bool = true, vxlanPorts: [UInt16] = standardVXLANPorts,
        genevePorts: [UInt16] = standardGenevePorts
    ) {
        self.isEnabled = isEnabled
        self.vxlanPorts = vxlanPorts
        self.genevePorts = genevePorts
    }

    /// On, with the standard ports.
    public static let standard = TunnelSettings()
    /// Off: tunnels are not opened.
    public static let off = TunnelSettings(isEnabled: false)
}
