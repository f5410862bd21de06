#if canImport(Glibc)
import Glibc
#endif

/// A capture on a Linux bridge device (`docker0`, `cni0`, `br0`) without promiscuous mode sees
/// the bridge's own traffic and none of what it forwards between its ports, which is usually
/// the traffic wanted: the counters stay at zero with nothing said. Checked live in
/// namespaces: 15 exchanges between two ports, 0 packets on the bridge, 15 with
/// `capture.promiscuous: true`, 15 on a port.
enum BridgeWarning {
    /// The warning for capturing on `interface`, nil when it is not a bridge or the capture is
    /// promiscuous. `sysfs`: where the interfaces are listed (a bridge has a `bridge/` folder).
    static func message(interface: String, promiscuous: Bool, sysfs: String = "/sys/class/net") -> String? {
        guard !promiscuous, !interface.contains("/"), access("\(sysfs)/\(interface)/bridge", F_OK) == 0 else { return nil }
        return "\(interface) is a Linux bridge: what it forwards between its ports is captured only with "
            + "capture.promiscuous: true (or on a port, or on any)"
    }
}
