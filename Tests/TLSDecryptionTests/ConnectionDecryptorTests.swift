import Crypto
import Foundation
import PacketDecoding
import TCPReassembly
import Testing

@testable import TLSDecryption

@Suite struct ConnectionDecryptorTests {
    @Test(arguments: [0x1301, 0x1302, 0x1303] as [UInt16])
    func tls13ReadsBothDirections(suite: UInt16) {
        for cut in [Int.max, 1, 7, 1000] {
            let c = Conversation.tls13(suite: suite, keyUpdate: true)
            let decryptor = c.decryptor()
            let r = c.play(into: decryptor, cut: cut)
            #expect(r.data(.clientToServer) == c.request, "cut \(cut)")
            #expect(r.data(.serverToClient) == c.responses.joined().map { $0 }, "cut \(cut)")
            #expect(decryptor.statistics.decryptedConnections == 1)
            #expect(decryptor.statistics.keyUpdates == 1)
            #expect(decryptor.statistics.recordsFailed == 0)
            #expect(decryptor.bufferedBytes == 0)
        }
    }

    @Test func tls13AfterAHelloRetryRequest() {
        let c = Conversation.tls13(suite: 0x1301, helloRetry: true)
        let decryptor = c.decryptor()
        let r = c.play(into: decryptor)
        #expect(r.data(.serverToClient) == c.responses.joined().map { $0 })
        #expect(decryptor.statistics.recordsFailed == 0)
    }

    @Test(arguments: [0xC02F, 0x009D, 0xCCA8, 0xC02C, 0xC013, 0x0035, 0xC027, 0xC028] as [UInt16])
    func tls12ReadsBothDirections(suite: UInt16) {
        for cut in [Int.max, 1, 5] {
            let c = Conversation.tls12(suite: suite)
            let decryptor = c.decryptor()
            let r = c.play(into: decryptor, cut: cut)
            #expect(r.data(.clientToServer) == c.request)
            #expect(r.data(.serverToClient) == c.responses.joined().map { $0 })
            #expect(decryptor.statistics.recordsFailed == 0)
        }
    }

    @Test func withoutItsKeyTheConnectionStaysTLS() {
        let c = Conversation.tls13(suite: 0x1301)
        let decryptor = c.decryptor(keyLog: "")
        let r = c.play(into: decryptor)
        #expect(decryptor.statistics.count(of: .noKey) == 1)
        #expect(decryptor.statistics.decryptedConnections == 0)
        // The inner consumer sees the start of a TLS record, as it would without decryption.
        #expect(r.data(.clientToServer) == [0x16, 0x03, 0x01])
        #expect(r.data(.serverToClient).isEmpty)
    }

    /// AES-GCM, and CBC (ECDHE-RSA-AES128-SHA, HMAC-SHA1): no record's MAC is right.
    @Test(arguments: [0xC02F, 0xC013] as [UInt16])
    func aWrongKeyDecryptsNothing(suite: UInt16) {
        let c = Conversation.tls12(suite: suite)
        let wrong = c.keyLog.replacingOccurrences(of: String(repeating: "05", count: 48), with: String(repeating: "06", count: 48))
        let decryptor = c.decryptor(keyLog: wrong)
        let r = c.play(into: decryptor)
        #expect(decryptor.statistics.count(of: .decryptFailed) == 1)
        #expect(r.data(.serverToClient).isEmpty)
        #expect(r.data(.clientToServer) == [0x16, 0x03, 0x01])
    }

    @Test func aLostRecordIsAGapOfItsPlaintext() {
        let bodies = Conversation.threeBodies
        let c = Conversation.tls13(suite: 0x1302, responses: bodies)
        let decryptor = c.decryptor()
        // The server's records: SH, CCS, 2 handshake, ticket, then the three responses: lose the second.
        let r = c.play(into: decryptor, cut: 300, lose: (server: 6, ()))
        let server = r.calls.filter {
            switch $0 {
            case .data(.serverToClient, _), .gap(.serverToClient, _): true
            default: false
            }
        }
        #expect(server == [.data(.serverToClient, bodies[0]), .gap(.serverToClient, 1000), .data(.serverToClient, bodies[2])])
        #expect(decryptor.statistics.resynchronisations == 1)
    }

    @Test func plaintextIsHandedOnUntouched() {
        let decryptor = TLSDecryptor(keys: TLSKeyStore())
        let r = Recorder()
        let consumer = decryptor.consumer(wrapping: r)
        let request = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        request.withUnsafeBytes { consumer.streamData($0, direction: .clientToServer, time: .zero) }
        consumer.streamGap(length: 3, direction: .serverToClient, time: .zero)
        #expect(r.calls == [.data(.clientToServer, request), .gap(.serverToClient, 3)])
        #expect(decryptor.statistics.connections == 0)
    }
}

@Suite struct KeyLogFileTests {
    @Test func aGrowingTruncatedAndReplacedFileIsFollowed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tls-keylog-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("keys.log").path
        func line(_ r: UInt8) -> String { "CLIENT_RANDOM \(String(repeating: String(format: "%02x", r), count: 32)) \(String(repeating: "01", count: 48))\n" }
        func random(_ r: UInt8) -> ClientRandom { ClientRandom([UInt8](repeating: r, count: 32))! }
        try (line(1) + String(line(2).prefix(20))).write(toFile: path, atomically: false, encoding: .utf8)
        let store = TLSKeyStore(files: [path])
        #expect(store.secrets(for: random(1)) != nil)
        #expect(store.secrets(for: random(2)) == nil)  // its line is not whole yet
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.seekToEndOfFile()
        handle.write(String(line(2).dropFirst(20)).data(using: .utf8)!)
        try handle.close()
        store.refresh(now: Timestamp(nanoseconds: 1_000_000_000))
        #expect(store.secrets(for: random(2)) != nil)
        // Truncated and written anew (shorter): read from the start.
        try line(3).write(toFile: path, atomically: false, encoding: .utf8)
        store.refresh(now: Timestamp(nanoseconds: 1_050_000_000))
        #expect(store.secrets(for: random(3)) == nil)  // within the refresh interval: not looked at
        store.refresh(now: Timestamp(nanoseconds: 2_000_000_000))
        #expect(store.secrets(for: random(3)) != nil)
        // Replaced (rotated): another file at the path.
        try (line(4) + line(5) + line(6)).write(toFile: path, atomically: true, encoding: .utf8)
        store.refresh(now: Timestamp(nanoseconds: 3_000_000_000))
        #expect(store.secrets(for: random(6)) != nil)
        #expect(store.statistics.malformedLines == 0)
    }
}

/// Live: the client logs its secrets after the ServerHello went by; its records wait for them, bounded.
@Suite struct AwaitedKeyTests {
    /// Feeds the client's first record and the server's first `serverFirst` records, then `between`,
    /// then the rest at `laterTime`.
    func play(_ c: Conversation, into decryptor: TLSDecryptor, serverFirst: Int = 1, laterTime: Int64 = 1_000_000, between: () throws -> Void) rethrows -> Recorder {
        let r = Recorder()
        let consumer = decryptor.consumer(wrapping: r)
        func send(_ bytes: [UInt8], _ d: StreamDirection, _ t: Int64) {
            bytes.withUnsafeBytes { consumer.streamData($0, direction: d, time: Timestamp(nanoseconds: t)) }
        }
        send(c.client[0], .clientToServer, 0)
        for record in c.server.prefix(serverFirst) { send(record, .serverToClient, 0) }
        try between()
        for record in c.server.dropFirst(serverFirst) { send(record, .serverToClient, laterTime) }
        for record in c.client.dropFirst() { send(record, .clientToServer, laterTime) }
        consumer.streamEnd(direction: .clientToServer, reason: .fin, time: Timestamp(nanoseconds: laterTime))
        consumer.streamEnd(direction: .serverToClient, reason: .fin, time: Timestamp(nanoseconds: laterTime))
        return r
    }

    func withKeyLogFile(_ body: (String) throws -> Void) throws {
        let path = NSTemporaryDirectory() + "awaited-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).keylog"
        try "".write(toFile: path, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    @Test(arguments: [true, false])
    func recordsWaitForAKeyLoggedLate(tls13: Bool) throws {
        try withKeyLogFile { path in
            let c = tls13 ? Conversation.tls13(suite: 0x1303) : Conversation.tls12(suite: 0xC030)
            let decryptor = TLSDecryptor(keys: TLSKeyStore(files: [path]))
            // The ServerHello and a few records more arrive before the key log line is written.
            let r = try play(c, into: decryptor, serverFirst: 3) {
                try c.keyLog.write(toFile: path, atomically: false, encoding: .utf8)
            }
            #expect(r.data(.clientToServer) == c.request)
            #expect(r.data(.serverToClient) == c.responses.joined().map { $0 })
            #expect(decryptor.statistics.keysAwaited == 1)
            #expect(decryptor.statistics.failures.allSatisfy { $0 == 0 })
            #expect(decryptor.bufferedBytes == 0)
        }
    }

    @Test func aKeyLaterThanTheWaitIsNoKey() throws {
        try withKeyLogFile { path in
            let c = Conversation.tls13(suite: 0x1301)
            let decryptor = TLSDecryptor(keys: TLSKeyStore(files: [path]), limits: TLSDecryptionLimits(keyWait: 1_000))
            let r = try play(c, into: decryptor, laterTime: 5_000) {
                try c.keyLog.write(toFile: path, atomically: false, encoding: .utf8)
            }
            // Seen fail with the deadline not checked: the connection was decrypted.
            #expect(decryptor.statistics.count(of: .noKey) == 1)
            #expect(r.data(.serverToClient).isEmpty)
            #expect(decryptor.bufferedBytes == 0)
        }
    }

    @Test func whatWaitsIsBounded() throws {
        try withKeyLogFile { path in
            let c = Conversation.tls13(suite: 0x1301)
            let decryptor = TLSDecryptor(keys: TLSKeyStore(files: [path]), limits: TLSDecryptionLimits(maxHeldBytesPerConnection: 4096))
            // The key never comes; the server's 20 kB certificate flight is more than may be held.
            _ = play(c, into: decryptor) {}
            #expect(decryptor.statistics.count(of: .keyWaitOverflow) == 1)
            #expect(decryptor.bufferedBytes == 0)
        }
    }
}
