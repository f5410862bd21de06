import PacketCapture
import PacketDecoding

/// `capture.filter` applied to a replayed file's packets, as `run` has libpcap apply it to the live
/// capture, so that a replay with the configuration a host runs gives what that host's exporter
/// gives. The advice for a proxy on the service's host (leave the proxy's front port out
/// with `capture.filter`) was only true live: a replay of the same traffic counted every front
/// connection as an outgoing call (captures/README.md, "Reverse proxies").
///
/// The expression is the whole live filter (`ExporterConfiguration.bpfFilter`: the built-in TCP
/// and tunnel test and-ed with `capture.filter`; on Ethernet also behind VLAN tags), compiled once
/// per link type met. Without `capture.filter` there is none: a replay reads every packet, as before.
final class ReplayFilter {
    private let options: LiveCaptureOptions
    private var compiled: [LinkType: PacketFilter] = [:]
    /// Packets the filter left out.
    private(set) var rejected: UInt64 = 0

    init?(_ configuration: ExporterConfiguration) {
        guard let extra = configuration.capture.extraFilter, !extra.isEmpty else { return nil }
        options = LiveCaptureOptions(filter: configuration.bpfFilter)
    }

    /// Whether `packet` passes; throws when the filter does not compile for its link type (named as
    /// `capture.filter`'s problem).
    func accepts(_ packet: CapturedPacket) throws -> Bool {
        let filter = try compiled[packet.linkType] ?? compile(for: packet.linkType)
        if filter.matches(packet.bytes, originalLength: packet.originalLength) { return true }
        rejected &+= 1
        return false
    }

    private func compile(for linkType: LinkType) throws -> PacketFilter {
        let expression = options.filterExpression(for: linkType) ?? ""
        do {
            let filter = try PacketFilter(expression, linkTypeNumber: Self.dlt(linkType))
            compiled[linkType] = filter
            return filter
        } catch {
            throw ExporterError("capture.filter: libpcap does not compile it for this file's link type: \(error)")
        }
    }

    /// The `DLT_` value libpcap compiles for (pcap_open_dead), for each link type decoded.
    static func dlt(_ linkType: LinkType) -> Int32 {
        switch linkType {
        case .ethernet: 1
        case .null: 0
        case .loop: 108
        case .raw: 12
        case .ipv4: 228
        case .ipv6: 229
        case .linuxSLL: 113
        case .linuxSLL2: 276
        }
    }
}
