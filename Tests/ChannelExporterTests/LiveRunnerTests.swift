// What `run` captures: the configured traffic, not its own metrics port; what it warns of at start.
import Foundation
import Testing

@testable import ChannelExporter

@Suite struct LiveRunnerTests {
    @Test func theMetricsPortIsLeftOutOfTheCaptureFilter() {
        func hopByHop(_ port: Int) -> String {
            "ip6[6] = 0 and ip6[40] = 6 and (ip6[48 + ip6[41] * 8 : 2] = \(port) or ip6[50 + ip6[41] * 8 : 2] = \(port))"
        }
        #expect(
            LiveRunner.captureFilter("tcp", excludingPort: 9166)
                == "(tcp) and not (tcp port 9166 or (\(hopByHop(9166))))")
        #expect(
            LiveRunner.captureFilter("(tcp) and (not port 22)", excludingPort: 19166)
                == "((tcp) and (not port 22)) and not (tcp port 19166 or (\(hopByHop(19166))))")
    }

    /// Port 0 binds an ephemeral port that is not known when the capture opens.
    @Test func noPortNoExclusion() {
        #expect(LiveRunner.captureFilter("tcp", excludingPort: 0) == "tcp")
    }

    /// A bridge device is known by its `bridge/` folder in sysfs.
    @Test func aBridgeWithoutPromiscuousModeIsWarnedOf() throws {
        let sysfs = try TemporaryDirectory()
        defer { sysfs.remove() }
        for folder in ["br0/bridge", "eth0"] {
            try FileManager.default.createDirectory(atPath: sysfs.file(folder), withIntermediateDirectories: true)
        }
        let warning = BridgeWarning.message(interface: "br0", promiscuous: false, sysfs: sysfs.path)
        #expect(warning?.contains("capture.promiscuous: true") == true)
        #expect(BridgeWarning.message(interface: "br0", promiscuous: true, sysfs: sysfs.path) == nil)
        #expect(BridgeWarning.message(interface: "eth0", promiscuous: false, sysfs: sysfs.path) == nil)
        #expect(BridgeWarning.message(interface: "any", promiscuous: false, sysfs: sysfs.path) == nil)
    }
}
