import Foundation
import Glibc
import PacketCapture
import PacketDecoding
import Synchronization
import Testing

/// A TCP listener on 127.0.0.1, ephemeral port.
final class LoopbackListener {
    let descriptor: Int32
    let port: UInt16

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0)
        var address = LoopbackListener.address(port: 0)
        precondition(
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            } == 0)
        precondition(listen(fd, 8) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        precondition(
            withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            } == 0)
        descriptor = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(descriptor) }

    static func address(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Connects a client, sends `message` and accepts the server side; returns both descriptors.
    func connectAndSend(_ message: [UInt8]) -> (client: Int32, server: Int32) {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.address(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(connected == 0)
        precondition(message.withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) } == message.count)
        let server = accept(descriptor, nil, nil)
        precondition(server >= 0)
        return (client, server)
    }
}

/// Calls `stop()` after `seconds` unless cancelled: keeps a broken test from hanging forever.
/// It asserts nothing about time.
final class Watchdog: Sendable {
    private let done = Atomic<Bool>(false)

    static func start(_ source: PacketSource, seconds: Int = 30) -> Watchdog {
        let watchdog = Watchdog()
        Thread.detachNewThread {
            for _ in 0..<(seconds * 10) where !watchdog.done.load(ordering: .relaxed) { usleep(100_000) }
            if !watchdog.done.load(ordering: .relaxed) { source.stop() }
        }
        return watchdog
    }
    func cancel() { done.store(true, ordering: .relaxed) }
}

@Suite(.serialized) struct LiveSourceTests {
    @Test func seesTheHandshakeAndThePayloadOnLoopback() throws {
        let listener = LoopbackListener()
        let source = try PacketSource.live(LiveCaptureOptions(interface: "lo", filter: "tcp port \(listener.port)"))
        #expect(source.linkType == .ethernet)
        // The capture is active from here on: the kernel buffers what we send now.
        let message = Array("hello from the capture test".utf8)
        let (client, server) = listener.connectAndSend(message)
        defer { close(client); close(server) }

        let watchdog = Watchdog.start(source)
        defer { watchdog.cancel() }
        var decoder = PacketDecoder()
        var sawSYN = false, sawSYNACK = false
        var received = [UInt8]()
        var lastTimestamp = Timestamp.zero
        let summary = try source.run { packet in
            #expect(packet.timestamp >= lastTimestamp)
            lastTimestamp = packet.timestamp
            guard
                let segment = decoder.decode(
                    packet.bytes, originalLength: packet.originalLength, linkType: packet.linkType,
                    timestamp: packet.timestamp)
            else { return }
            if segment.flags == .syn && segment.destination.port == listener.port { sawSYN = true }
            if segment.flags == [.syn, .ack] && segment.source.port == listener.port { sawSYNACK = true }
            if segment.destination.port == listener.port { received += segment.payload }
            if sawSYN && received.count >= message.count { source.stop() }
        }
        #expect(sawSYN)
        #expect(sawSYNACK)
        #expect(received == message)
        #expect(summary.stopped)
        #expect(summary.packets >= 4)  // SYN, SYN-ACK, ACK, data
        #expect(decoder.counters.tcpSegments == UInt64(summary.packets))
        #expect(decoder.counters[.notIP] == 0)
        let statistics = try #require(summary.statistics)
        #expect(statistics.received >= UInt64(summary.packets))
        #expect(statistics.droppedByKernel == 0)
        #expect(source.statistics() == statistics)
        #expect(lastTimestamp.nanoseconds > 1_600_000_000_000_000_000)
    }

    /// Live packets are handed over in place, a batch per `pcap_dispatch`: an error the handler
    /// throws goes back through libpcap's callback, ends the batch there and is rethrown by `run`.
    @Test func anErrorFromTheHandlerEndsTheRunAndIsRethrown() throws {
        struct Refused: Error, Equatable {}
        let listener = LoopbackListener()
        let source = try PacketSource.live(LiveCaptureOptions(interface: "lo", filter: "tcp port \(listener.port)"))
        // SYN, SYN-ACK, ACK and the data wait in the ring before the run starts: one batch.
        let (client, server) = listener.connectAndSend(Array("refused".utf8))
        defer { close(client); close(server) }
        let watchdog = Watchdog.start(source)
        defer { watchdog.cancel() }
        var calls = 0
        #expect(throws: Refused()) {
            try source.run { _ in
                calls += 1
                throw Refused()
            }
        }
        #expect(calls == 1)
    }

    @Test func stopFromAnotherThreadEndsAnIdleRun() throws {
        // A filter nothing matches and a wake-up interval far beyond the test: only stop() ends the wait.
        let source = try PacketSource.live(
            LiveCaptureOptions(interface: "lo", filter: "tcp port 9 and tcp port 10", wakeupInterval: 600_000))
        Thread.detachNewThread {
            usleep(200_000)
            source.stop()
        }
        let summary = try source.run { _ in Issue.record("no packet expected") }
        #expect(summary.packets == 0)
        #expect(summary.stopped)
    }

    /// A quiet interface still wakes the loop: each wake-up interval without a packet calls
    /// `whenIdle` with the wall-clock time (the clock packets are stamped with).
    @Test func aQuietInterfaceWakesTheLoopWithTheWallClockTime() throws {
        let source = try PacketSource.live(
            LiveCaptureOptions(interface: "lo", filter: "tcp port 9 and tcp port 10", wakeupInterval: 20))
        let watchdog = Watchdog.start(source)
        defer { watchdog.cancel() }
        var times: [Timestamp] = []
        let summary = try source.run(whenIdle: { now in
            times.append(now)
            if times.count == 3 { source.stop() }
        }) { _ in Issue.record("no packet expected") }
        #expect(summary.packets == 0)
        #expect(times.count == 3)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0.nanoseconds <= $1.nanoseconds })
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        #expect(times.allSatisfy { abs($0.nanoseconds - now) < 60_000_000_000 }, "\(times) against \(now)")
    }

    @Test func anyInterfaceGivesLinuxCookedHeaders() throws {
        let source = try PacketSource.live(LiveCaptureOptions(filter: "tcp port 9 and tcp port 10"))
        #expect(source.linkType == .linuxSLL || source.linkType == .linuxSLL2)
        source.stop()
        #expect(try source.run { _ in }.packets == 0)
    }

    @Test func optionsApply() throws {
        // A bigger kernel buffer, promiscuous mode, no immediate mode, a short snaplen:
        // activation accepts them and the snaplen cuts what we capture.
        let listener = LoopbackListener()
        let source = try PacketSource.live(
            LiveCaptureOptions(
                interface: "lo", filter: "tcp dst port \(listener.port)", snapshotLength: 80, immediateMode: false,
                bufferSize: 8 << 20, promiscuous: true, wakeupInterval: 50))
        let message = [UInt8](repeating: 0x61, count: 1000)
        let (client, server) = listener.connectAndSend(message)
        defer {
            close(client)
            close(server)
        }
        let watchdog = Watchdog.start(source)
        defer { watchdog.cancel() }
        var decoder = PacketDecoder()
        var cut: (captured: Int, announced: Int)?
        _ = try source.run { packet in
            #expect(packet.bytes.count <= 80)
            if let segment = decoder.decode(packet), segment.payloadLength > 0 {
                cut = (segment.payload.count, segment.payloadLength)
                source.stop()
            }
        }
        // 80 bytes = 14 Ethernet + 20 IPv4 + 32 TCP (with Linux's timestamp option) + 14 of payload
        // (26 when net.ipv4.tcp_timestamps is off).
        #expect(cut?.announced == 1000)
        #expect(cut.map { [14, 26].contains($0.captured) } == true)
        #expect(decoder.counters.truncatedPayloadSegments >= 1)
    }

    @Test func noSuchInterface() {
        #expect(throws: CaptureError.noSuchInterface("nosuch0")) {
            try PacketSource.live(LiveCaptureOptions(interface: "nosuch0"))
        }
        #expect(CaptureError.noSuchInterface("nosuch0").description == "nosuch0: no such network interface")
    }

    @Test func badFilterIsNamed() {
        let error = #expect(throws: CaptureError.self) {
            try PacketSource.live(LiveCaptureOptions(interface: "lo", filter: "tcp prot 80"))
        }
        guard case .badFilter(let filter, let detail) = error else {
            Issue.record("expected badFilter, got \(String(describing: error))")
            return
        }
        #expect(filter == "tcp prot 80")
        #expect(!detail.isEmpty)
        #expect(error?.description.hasPrefix("bad capture filter \"tcp prot 80\": ") == true)
    }

    /// Runs only without capture privileges, e.g. as `nobody`:
    /// `setpriv --reuid=65534 --regid=65534 --clear-groups <test binary> --testing-library swift-testing --filter withoutPrivileges`
    @Test(.enabled(if: geteuid() != 0)) func withoutPrivilegesSaysWhatIsNeeded() {
        #expect(throws: CaptureError.permissionDenied(interface: "lo")) {
            try PacketSource.live(LiveCaptureOptions(interface: "lo"))
        }
        #expect(
            CaptureError.permissionDenied(interface: "lo").description
                == "capturing on lo needs root or CAP_NET_RAW: grant it with `setcap cap_net_raw+ep` on the binary, "
                + "AmbientCapabilities=CAP_NET_RAW in a systemd unit, or capabilities: {add: [NET_RAW]} in a pod")
    }
}
