/// Capture filters (pcap-filter(7)): a live capture's expression widened to tagged frames, and
/// an expression compiled offline to ask what it lets through.
private import CPcap

public enum CaptureFilter {
    /// `expression`, for an Ethernet capture, also matched after one or two 802.1Q/802.1ad tags
    /// carried in the frame.
    ///
    /// Linux mostly hands a capture the frame's tag beside the packet, and the kernel runs the
    /// filter on the untagged frame. But a frame sent through a device that does not insert tags
    /// itself (virtio-net under a VLAN sub-interface, any NIC with tx-vlan-offload off) reaches
    /// the capture with its tag in place, as does the inner tag of QinQ; there `tcp` reads the
    /// 0x8100 EtherType and rejects the frame, so the capture on the parent interface would see
    /// a service's requests and none of its responses. libpcap's `vlan` moves the offsets of
    /// everything after it by one tag, hence the nesting.
    public static func allowingVLANTags(_ expression: String) -> String {
        let plain = "(\(expression))"
        return "\(plain) or (vlan and (\(plain) or (vlan and \(plain))))"
    }
}

/// An expression compiled for a link type without a capture (`pcap_open_dead`), to run on
/// packets in memory (`pcap_offline_filter`): what the kernel's copy would let through, for
/// frames whose tags are in the packet.
public final class PacketFilter {
    private let handle: OpaquePointer
    private var program = bpf_program()

    /// - Parameter linkTypeNumber: the `DLT_` number (1 Ethernet, 113 Linux SLL).
    public init(_ expression: String, linkTypeNumber: Int32, snapshotLength: Int32 = 262_144) throws(CaptureError) {
        guard let handle = pcap_open_dead(linkTypeNumber, snapshotLength) else {
            throw .badFilter(filter: expression, detail: "pcap_open_dead failed")
        }
        guard pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            let detail = String(cString: pcap_geterr(handle))
            pcap_close(handle)
            throw .badFilter(filter: expression, detail: detail)
        }
        self.handle = handle
    }

    deinit {
        pcap_freecode(&program)
        pcap_close(handle)
    }

    /// Whether the filter accepts `bytes`, a packet `originalLength` bytes long on the wire.
    public func matches(_ bytes: [UInt8], originalLength: Int? = nil) -> Bool {
        var header = pcap_pkthdr()
        header.caplen = UInt32(bytes.count)
        header.len = UInt32(originalLength ?? bytes.count)
        return bytes.withUnsafeBufferPointer { pcap_offline_filter(&program, &header, $0.baseAddress) != 0 }
    }

    /// Whether the filter accepts a captured packet, read where it lies (a replay's every packet:
    /// no copy).
    public func matches(_ bytes: UnsafeRawBufferPointer, originalLength: Int) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        var header = pcap_pkthdr()
        header.caplen = UInt32(bytes.count)
        header.len = UInt32(max(originalLength, bytes.count))
        return pcap_offline_filter(&program, &header, base.assumingMemoryBound(to: UInt8.self)) != 0
    }
}
