// The /metrics server against peers that do not behave: a client that pipelines requests and never
// reads the answers.
import ChannelExporter
import Foundation
import Logging
import NIOCore
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

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

/// A blocking TCP client for the server tests: connects to 127.0.0.1 (or `address`, IPv4 or
/// IPv6), sends, reads with a deadline.
final class RawClient {
    let descriptor: Int32

    /// `receiveBuffer`: a small one makes a client that does not read hold little in the kernel.
    init(port: Int, address text: String = "127.0.0.1", receiveBuffer: Int32? = nil) throws {
        let v6 = text.contains(":")
        descriptor = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let connected: Int32
        if v6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET6, text, &address.sin6_addr)
            connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr(text)
            connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { close(descriptor) }

    func send(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until `enough` says the bytes so far suffice, the peer closes, or `seconds` pass.
    /// `closed`: the peer closed (or reset) the connection.
    func read(seconds: Double, until enough: ([UInt8]) -> Bool = { _ in false }) -> (bytes: [UInt8], closed: Bool) {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(seconds)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline && !enough(received) {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let left = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&poller, 1, left) > 0 else { continue }
            let got = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if got <= 0 { return (received, true) }
            received += chunk[..<got]
        }
        return (received, false)
    }
}

final class CallCount: Sendable {
    let value = Atomic<Int>(0)
}

/// The /metrics server's own limits, in process: connections open at once, and the bytes of
/// answers waiting for clients that do not read.
@Suite(.serialized) struct MetricsServerLimitsTests {
    static let request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"

    /// Polls `condition` until it holds or `seconds` pass (a loaded machine is slow to answer).
    static func waitUntil(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return true
    }

    static func isAnswer(_ bytes: [UInt8]) -> Bool { bytes.starts(with: Array("HTTP/1.1 200".utf8)) }

    /// A server whose handler answers `bodyBytes` bytes and counts its calls.
    static func server(
        bodyBytes: Int, maxConnections: Int = MetricsServer.defaultMaxConnections,
        maxQueuedBytes: Int = MetricsServer.defaultMaxQueuedBytes, sendTimeout: TimeAmount = .seconds(60)
    ) throws -> (MetricsServer, CallCount) {
        let calls = CallCount()
        let body = String(repeating: "x", count: bodyBytes)
        let server = try MetricsServer(
            host: "127.0.0.1", port: 0, logger: Logger(label: "test"), maxConnections: maxConnections,
            maxQueuedBytes: maxQueuedBytes, sendTimeout: sendTimeout
        ) { _, _ in
            calls.value.add(1, ordering: .relaxed)
            return ScrapeResponse(contentType: "text/plain", body: body)
        }
        return (server, calls)
    }

    /// Whether `::1` can be used here: a container may open IPv6 sockets while IPv6 is disabled on
    /// its interfaces (`net.ipv6.conf.*.disable_ipv6`, Docker's default), and then there is no `::1`.
    static var loopbackHasIPv6: Bool {
        let descriptor = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        } == 0
    }

    /// `:port` is every address of both families: a scraper that reaches the host over IPv6 is
    /// answered too (it was refused: `:port` bound 0.0.0.0).
    @Test func everyAddressIsIPv4AndIPv6() throws {
        let listen = try #require(ListenAddress(":0"))
        let server = try MetricsServer(host: listen.host, port: listen.port, logger: Logger(label: "test")) { _, _ in
            ScrapeResponse(contentType: "text/plain", body: "ok\n")
        }
        defer { server.shutdown() }
        let port = try #require(server.localAddress?.port)
        let families = Self.loopbackHasIPv6 ? ["127.0.0.1", "::1"] : ["127.0.0.1"]
        for address in families {
            let client = try RawClient(port: port, address: address)
            client.send(Self.request)
            #expect(Self.isAnswer(client.read(seconds: 5, until: Self.isAnswer).bytes), "no answer on \(address)")
        }
    }

    @Test func connectionsPastTheLimitAreClosed() throws {
        let (server, _) = try Self.server(bodyBytes: 10, maxConnections: 3)
        defer { server.shutdown() }
        let port = try #require(server.localAddress?.port)
        var kept = try (0..<3).map { _ in try RawClient(port: port) }
        for client in kept {
            client.send(Self.request)
            #expect(Self.isAnswer(client.read(seconds: 5, until: Self.isAnswer).bytes))
        }
        let refused = try RawClient(port: port)
        refused.send(Self.request)
        let answer = refused.read(seconds: 5)
        #expect(answer.closed && answer.bytes.isEmpty, "\(answer.bytes.count) bytes")
        // One of the three goes: a new connection is served again.
        kept.removeAll()
        var servedAgain = false
        for _ in 0..<50 where !servedAgain {
            let client = try RawClient(port: port)
            client.send(Self.request)
            servedAgain = Self.isAnswer(client.read(seconds: 2, until: Self.isAnswer).bytes)
        }
        #expect(servedAgain)
    }

    /// Sixteen clients ask for an 8 MiB answer and never read. Before the bound each answer was
    /// rendered and queued at once (16 renders, 128 MiB); now the first fills the 1 MiB bound and
    /// the others wait as request heads. A client that goes gives its bytes back and the next is
    /// answered; an answer not sent within the send timeout closes its connection.
    @Test func answersWaitingForClientsThatDoNotReadAreBounded() throws {
        let (server, calls) = try Self.server(bodyBytes: 8 << 20, maxQueuedBytes: 1 << 20, sendTimeout: .seconds(3))
        defer { server.shutdown() }
        let port = try #require(server.localAddress?.port)
        var stalled = try (0..<16).map { _ in try RawClient(port: port, receiveBuffer: 4096) }
        for client in stalled { client.send(Self.request) }
        Thread.sleep(forTimeInterval: 1)
        #expect(calls.value.load(ordering: .relaxed) == 1)

        // The first client goes: its queued bytes are given back and one more answer is rendered.
        stalled.removeFirst()
        #expect(Self.waitUntil { calls.value.load(ordering: .relaxed) >= 2 })
        #expect(calls.value.load(ordering: .relaxed) == 2)

        // Nobody reads: each answer is dropped with its connection (reset) after the send timeout
        // (3 s), and the next client is served.
        #expect(Self.waitUntil(seconds: 20) { calls.value.load(ordering: .relaxed) >= 3 })
    }

    /// A client that does not read its answer within the send timeout is reset (a close would
    /// queue its FIN behind the unsent bytes, which the kernel would keep).
    @Test func anAnswerNotSentWithinTheTimeoutResetsItsConnection() throws {
        let (server, calls) = try Self.server(bodyBytes: 8 << 20, maxQueuedBytes: 1 << 20, sendTimeout: .seconds(1))
        defer { server.shutdown() }
        let port = try #require(server.localAddress?.port)
        let stalled = try RawClient(port: port, receiveBuffer: 4096)
        stalled.send(Self.request)
        #expect(Self.waitUntil { calls.value.load(ordering: .relaxed) == 1 })
        // A second client waits for the first's bytes: answered once the first connection is gone.
        let next = try RawClient(port: port, receiveBuffer: 4096)
        next.send(Self.request)
        #expect(Self.waitUntil(seconds: 20) { calls.value.load(ordering: .relaxed) == 2 })
        let answer = stalled.read(seconds: 10)
        #expect(answer.closed, "\(answer.bytes.count) bytes read, not closed")
        // A reset leaves the client what its receive buffer held (4,096 bytes measured); a close
        // lets the kernel go on sending what it had queued (2,807,808 bytes measured) before the FIN.
        #expect(answer.bytes.count < 1 << 20, "\(answer.bytes.count) bytes came before the end: no reset")
    }
}
