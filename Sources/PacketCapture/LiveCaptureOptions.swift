public import PacketDecoding

/// Options for a live capture (`pcap_create` / `pcap_set_*` / `pcap_activate`).
public struct LiveCaptureOptions: Sendable, Hashable {
    /// Interface name; `any` captures on all interfaces (Linux cooked headers).
    public var interface: String
    /// A BPF filter expression (pcap-filter(7)) over the IP packet; nil captures everything. On
    /// Ethernet it also applies to frames carrying one or two VLAN tags (`filterExpression(for:)`).
    public var filter: String?
    /// Bytes kept per packet; 262144 keeps whole packets even with offload (not in immediate
    /// mode on Ethernet, where libpcap's TPACKET_V2 slots hold 65,553 bytes).
    public var snapshotLength: Int32
    /// Deliver packets as they arrive instead of when a kernel block fills or its timeout (the
    /// wake-up interval) passes.
    public var immediateMode: Bool
    /// Kernel ring buffer size in bytes; nil keeps libpcap's default (2 MiB).
    public var bufferSize: Int32?
    /// Put the interface in promiscuous mode (off: we observe our own host's traffic).
    public var promiscuous: Bool
    /// How long one wait for packets may last before the loop wakes to refresh
    /// statistics and check for `stop()` (milliseconds; `stop()` wakes it earlier).
    public var wakeupInterval: Int32
    /// When the capture fails while running (libpcap's "The interface disappeared": the
    /// interface was deleted, renamed, or moved to another namespace), open the interface of
    /// this name again, after `reopenDelays` (milliseconds, doubling from the first to the
    /// last), for as long as the source runs, instead of ending `run` with the error. Meanwhile
    /// the source reports it in `CaptureStatistics.isCapturing` and keeps calling `whenIdle`.
    public var reopenDelays: ClosedRange<Int32>?

    public init(
        interface: String = "any", filter: String? = nil, snapshotLength: Int32 = 262_144,
        immediateMode: Bool = true, bufferSize: Int32? = nil, promiscuous: Bool = false, wakeupInterval: Int32 = 250,
        reopenDelays: ClosedRange<Int32>? = nil
    ) {
        self.interface = interface
        self.filter = filter
        self.snapshotLength = snapshotLength
        self.immediateMode = immediateMode
        self.bufferSize = bufferSize
        self.promiscuous = promiscuous
        self.wakeupInterval = wakeupInterval
        self.reopenDelays = reopenDelays
    }

    /// The expression installed on a capture of `linkType`: `filter`, on Ethernet widened to
    /// tagged frames (`CaptureFilter.allowingVLANTags`; libpcap has no `vlan` for Linux cooked
    /// headers, where the kernel gives the tag beside the packet).
    public func filterExpression(for linkType: LinkType) -> String? {
        guard let filter else { return nil }
        return linkType == .ethernet ? CaptureFilter.allowingVLANTags(filter) : filter
    }
}
