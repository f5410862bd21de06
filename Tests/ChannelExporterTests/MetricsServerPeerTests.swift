// The /metrics server against peers that do not behave: a client that pipelines requests and never
// reads the answers.
import Foundation
import Testing

/// Part of the live end-to-end suite, so that it runs after the others there, not beside them: each
/// starts an exporter, and on two cores the cooperative pool has two threads.
extension LiveEndToEndTests {
    /// The exporter's resident memory (VmRSS) in KiB.
    static func residentKiB(_ pid: pid_t) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    /// 20,000 pipelined GETs sent by a client that never reads: each answer used to be rendered
    /// and queued at once (about 12 KB each here, 389 MB of resident memory measured before the
    /// fix); now the next answer waits until the last left, and memory stays where it was. The
    /// endpoint still answers others meanwhile and after.
    @Test func aClientThatNeverReadsCannotMakeAnswersPileUp() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let exporter = try await LiveExporter(inboundPorts: [18999], in: directory)
        defer { exporter.stop() }
        let before = try Self.residentKiB(exporter.child.pid)
        let script = try directory.write(
            "never-reads.py",
            """
            import socket, sys, time
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", \(exporter.metricsPort)))
            s.settimeout(10)
            request = b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" * 100
            for _ in range(200):
                s.sendall(request)
            print("sent", flush=True)
            time.sleep(3)
            """)
        let client = try ChildProcess(name: "never-reads", executable: "/usr/bin/env", arguments: ["python3", script], in: directory)
        try client.start()
        // While the client holds its connection open and unread, others are still answered.
        try await Task.sleep(for: .seconds(2))
        #expect(try await exporter.scrape()?.contains("channel_exporter_packets") == true)
        let during = try Self.residentKiB(exporter.child.pid)
        _ = await client.waitForExit(timeout: .seconds(30))
        #expect(client.standardOutput.contains("sent"), "\(client.standardError)")
        #expect(during - before < 32 * 1024, "resident memory grew from \(before) KiB to \(during) KiB")
        #expect(try await exporter.scrape()?.contains("channel_exporter_packets") == true)
    }
}
