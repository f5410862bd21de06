// What `run` captures: the configured traffic, not its own metrics port.
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
}
