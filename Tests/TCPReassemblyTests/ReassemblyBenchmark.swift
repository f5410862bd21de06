// A throughput and memory benchmark, not a test: it runs only when REASSEMBLY_BENCHMARK is set,
// and should be built in release mode:
//   REASSEMBLY_BENCHMARK=1 swift test -c release -Xswiftc -enable-testing --filter ReassemblyBenchmark

#if canImport(Glibc)
import Glibc
#endif
import PacketDecoding
import Testing
import TCPReassembly

/// Counts what it is given, as a cheap observer would.
private final class CountingConsumer: StreamConsumer, StreamConsumerFactory {
    var bytes = 0
    var gaps = 0
    var ends = 0
    func makeConsumer(for connection: ConnectionInfo) -> (any StreamConsumer)? { self }
    func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
        self.bytes &+= bytes.count
    }
    func streamGap(length: Int, direction: StreamDirection, time: Timestamp) { gaps += 1 }
    func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) { ends += 1 }
}

/// Resident set size from /proc/self/status, in KiB (0 where unavailable).
private func residentKiB() -> Int {
    #if canImport(Glibc)
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, file) != nil {
        let bytes = line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("VmRSS:") {
            return Int(text.split(separator: " ").dropFirst().first.map(String.init) ?? "") ?? 0
        }
    }
    #endif
    return 0
}

@Suite(.serialized, .enabled(if: readEnvironment("REASSEMBLY_BENCHMARK") != nil))
struct ReassemblyBenchmark {
    /// Keep-alive traffic: `connections` connections, each doing request
    /// (300 B) / response (1,400 B) / ACK exchanges, interleaved.
    @Test func keepAliveThroughput() { keepAlive(connections: 2_000, exchanges: 100) }

    /// The same with many connections, so that slots and index miss the caches.
    @Test func keepAliveThroughputWithManyConnections() { keepAlive(connections: 100_000, exchanges: 3) }

    private func keepAlive(connections: Int, exchanges: Int) {
        let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: 1_400, alignment: 8)
        payload.initializeMemory(as: UInt8.self, repeating: 0x41)
        defer { payload.deallocate() }
        let request = UnsafeRawBufferPointer(rebasing: payload[..<300])
        let response = UnsafeRawBufferPointer(payload)
        let empty = UnsafeRawBufferPointer(rebasing: payload[..<0])
        let server = Endpoint(address: IPAddress(ipv4: 0x0A00_0002), port: 8080)
        func client(_ n: Int) -> Endpoint {
            Endpoint(address: IPAddress(ipv4: 0x0A01_0000 | UInt32(n >> 8)), port: UInt16(40_000 + n & 0xFF))
        }

        var segments: [TCPSegment] = []
        segments.reserveCapacity(connections * (3 + exchanges * 3))
        var time: Int64 = 1_000_000_000
        func add(
            _ from: Endpoint, _ to: Endpoint, _ seq: UInt32, _ ack: UInt32, _ flags: TCPFlags,
            _ bytes: UnsafeRawBufferPointer
        ) {
            time += 1_000
            segments.append(TCPSegment(source: from, destination: to, sequenceNumber: seq, acknowledgmentNumber: ack,
                                       flags: flags, window: 65535, payload: bytes, payloadLength: bytes.count,
                                       timestamp: Timestamp(nanoseconds: time)))
        }
        var clientSeq = [UInt32](repeating: 1, count: connections)
        var serverSeq = [UInt32](repeating: 1, count: connections)
        for n in 0..<connections {
            add(client(n), server, 0, 0, .syn, empty)
            add(server, client(n), 0, 1, [.syn, .ack], empty)
            add(client(n), server, 1, 1, .ack, empty)
        }
        for _ in 0..<exchanges {
            for n in 0..<connections {
                add(client(n), server, clientSeq[n], serverSeq[n], [.ack, .psh], request)
                clientSeq[n] &+= 300
                add(server, client(n), serverSeq[n], clientSeq[n], [.ack, .psh], response)
                serverSeq[n] &+= 1_400
                add(client(n), server, clientSeq[n], serverSeq[n], .ack, empty)
            }
        }
        let consumer = CountingConsumer()
        let reassembler = TCPReassembler(factory: consumer)
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = threadCPUNanoseconds()
        for segment in segments { reassembler.process(segment) }
        let cpu = Double(threadCPUNanoseconds() - cpuStart) / 1e9
        let elapsed = clock.now - start
        reassembler.finish(at: Timestamp(nanoseconds: time + 1))
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("keep-alive: \(segments.count) segments, \(connections) connections, \(consumer.bytes) bytes delivered; "
              + "wall \(Int(seconds * 1000)) ms (\(Int(Double(segments.count) / seconds)) segments/s); "
              + "thread CPU \(Int(cpu * 1000)) ms (\(Int(Double(segments.count) / cpu)) segments/s, "
              + "\(Int(cpu * 1e9 / Double(segments.count))) ns/segment)")
        #expect(consumer.bytes == connections * exchanges * 1_700)
        #expect(consumer.gaps == 0)
    }

    /// Memory for 100,000 connections open at once (each has seen its handshake and one request).
    @Test func memoryForOneHundredThousandConnections() {
        let count = 100_000
        let payload: [UInt8] = Array(repeating: 0x41, count: 100)
        let consumer = CountingConsumer()
        let before = residentKiB()
        let reassembler = TCPReassembler(factory: consumer)
        let server = Endpoint(address: IPAddress(ipv4: 0x0A00_0002), port: 8080)
        payload.withUnsafeBytes { bytes in
            for n in 0..<count {
                let address = IPAddress(ipv4: 0x0A01_0000 | UInt32(n >> 8))
                let client = Endpoint(address: address, port: UInt16(1024 + n & 0xFF))
                let time = Timestamp(nanoseconds: Int64(n) * 1_000)
                let none = UnsafeRawBufferPointer(rebasing: bytes[..<0])
                reassembler.process(TCPSegment(
                    source: client, destination: server, sequenceNumber: 0, acknowledgmentNumber: 0, flags: .syn,
                    window: 0, payload: none, payloadLength: 0, timestamp: time))
                reassembler.process(TCPSegment(
                    source: client, destination: server, sequenceNumber: 1, acknowledgmentNumber: 1, flags: .ack,
                    window: 0, payload: bytes, payloadLength: bytes.count, timestamp: time))
            }
        }
        let after = residentKiB()
        print("100k connections: \(reassembler.activeConnections) active, RSS \(before) KiB -> \(after) KiB "
              + "(+\(after - before) KiB, \((after - before) * 1024 / count) bytes/connection)")
        #expect(reassembler.activeConnections == count)
    }
}

/// CPU time of the calling thread: less disturbed than wall time on a shared machine.
private func threadCPUNanoseconds() -> Int64 {
    #if canImport(Glibc)
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    #else
    return 0
    #endif
}

private func readEnvironment(_ name: String) -> String? {
    #if canImport(Glibc)
    return getenv(name).map { String(cString: $0) }
    #else
    return nil
    #endif
}
