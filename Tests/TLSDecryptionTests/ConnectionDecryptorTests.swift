import Crypto
import Foundation
import PacketDecoding
import TCPReassembly
import Testing

@testable import TLSDecryption

/// What the inner consumer was handed.
final class Recorder: StreamConsumer {
    enum Call: Equatable {
        case data(StreamDirection, [UInt8])
        case gap(StreamDirection, Int)
        case end(StreamDirection)
    }
    var calls: [Call] = []

    func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
        // Consecutive data of one direction joined: how it was cut does not matter.
        if case .data(let d, let previous) = calls.last, d == direction {
            calls[calls.count - 1] = .data(d, previous + Array(bytes))
        } else {
            calls.append(.data(direction, Array(bytes)))
        }
    }
    func streamGap(length: Int, direction: StreamDirection, time: Timestamp) { calls.append(.gap(direction, length)) }
    func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) { calls.append(.end(direction)) }

    func data(_ direction: StreamDirection) -> [UInt8] {
        calls.reduce(into: []) { all, call in if case .data(direction, let bytes) = call { all += bytes } }
    }
}

/// Builds records the way a TLS stack writes them.
enum Build {
    static func record(_ type: UInt8, _ fragment: [UInt8], version: UInt16 = 0x0303) -> [UInt8] {
        [type, UInt8(version >> 8), UInt8(version & 0xff), UInt8(fragment.count >> 8), UInt8(fragment.count & 0xff)] + fragment
    }

    static func message(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
        [type, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
    }

    static func clientHello(random: [UInt8]) -> [UInt8] {
        // legacy_version, random, session id, cipher suites, compression methods, no extensions
        message(1, [3, 3] + random + [0, 0, 2, 0x13, 0x01, 1, 0, 0, 0])
    }

    static func serverHello(random: [UInt8], suite: UInt16, tls13: Bool) -> [UInt8] {
        let extensions: [UInt8] = tls13 ? [0x00, 0x2b, 0x00, 0x02, 0x03, 0x04] : []
        return message(
            2, [3, 3] + random + [0, UInt8(suite >> 8), UInt8(suite & 0xff), 0]
                + [UInt8(extensions.count >> 8), UInt8(extensions.count & 0xff)] + extensions)
    }
}

/// Seals records as a sender would, with swift-crypto directly (not the code under test).
struct Sealer {
    let aead: TLSAEAD
    let tls13: Bool
    let key: SymmetricKey
    let iv: [UInt8]
    var sequence: UInt64 = 0

    init(tls13 suite: TLSCipherSuite, secret: [UInt8]) {
        let (key, iv) = TLSKeySchedule.trafficKeys(suite, secret: secret)
        aead = suite.aead
        tls13 = true
        self.key = SymmetricKey(data: key)
        self.iv = iv
    }

    init(tls12 suite: TLSCipherSuite, key: [UInt8], iv: [UInt8]) {
        aead = suite.aead
        tls13 = false
        self.key = SymmetricKey(data: key)
        self.iv = iv
    }

    private func bigEndian(_ x: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: x >> (56 - 8 * UInt64($0))) } }

    private func seal(_ plaintext: [UInt8], nonce: [UInt8], aad: [UInt8]) -> [UInt8] {
        switch aead {
        case .aes128GCM, .aes256GCM:
            let box = try! AES.GCM.seal(plaintext, using: key, nonce: AES.GCM.Nonce(data: nonce), authenticating: aad)
            return Array(box.ciphertext) + Array(box.tag)
        case .chaChaPoly:
            let box = try! ChaChaPoly.seal(plaintext, using: key, nonce: ChaChaPoly.Nonce(data: nonce), authenticating: aad)
            return Array(box.ciphertext) + Array(box.tag)
        }
    }

    mutating func record(_ type: UInt8, _ content: [UInt8], padding: Int = 0) -> [UInt8] {
        defer { sequence += 1 }
        let masked = zip(iv, [0, 0, 0, 0] + bigEndian(sequence)).map { $0 ^ $1 }
        if tls13 {
            let inner = content + [type] + [UInt8](repeating: 0, count: padding)
            let length = inner.count + 16
            let header: [UInt8] = [0x17, 3, 3, UInt8(length >> 8), UInt8(length & 0xff)]
            return header + seal(inner, nonce: masked, aad: header)
        }
        let aad = bigEndian(sequence) + [type, 3, 3, UInt8(content.count >> 8), UInt8(content.count & 0xff)]
        if aead == .chaChaPoly {
            return Build.record(type, seal(content, nonce: masked, aad: aad))
        }
        let explicit = bigEndian(sequence)
        return Build.record(type, explicit + seal(content, nonce: iv + explicit, aad: aad))
    }
}

/// A TLS 1.3 or 1.2 conversation with its key log.
struct Conversation {
    var clientRandom = (0..<32).map { UInt8($0) }
    var serverRandom = (0..<32).map { UInt8(0x80 + $0) }
    var keyLog = ""
    var client: [[UInt8]] = []  // records, client → server
    var server: [[UInt8]] = []
    var request = Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
    var responses = [Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)]

    static func secret(_ byte: UInt8, _ count: Int) -> [UInt8] { [UInt8](repeating: byte, count: count) }
    static func hexText(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    static func tls13(suite code: UInt16, keyUpdate: Bool = false, helloRetry: Bool = false, responses: [[UInt8]]? = nil) -> Conversation {
        var c = Conversation()
        if let responses { c.responses = responses }
        let suite = TLSCipherSuite.tls13(code)!
        let n = suite.hash.length
        let chs = secret(1, n), shs = secret(2, n), cap = secret(3, n), sap = secret(4, n)
        let random = hexText(c.clientRandom)
        c.keyLog = """
            CLIENT_HANDSHAKE_TRAFFIC_SECRET \(random) \(hexText(chs))
            SERVER_HANDSHAKE_TRAFFIC_SECRET \(random) \(hexText(shs))
            CLIENT_TRAFFIC_SECRET_0 \(random) \(hexText(cap))
            SERVER_TRAFFIC_SECRET_0 \(random) \(hexText(sap))

            """
        c.client.append(Build.record(0x16, Build.clientHello(random: c.clientRandom), version: 0x0301))
        if helloRetry {
            c.server.append(Build.record(0x16, Build.serverHello(random: ServerHello.helloRetryRequestRandom, suite: code, tls13: true)))
            c.client.append(Build.record(0x16, Build.clientHello(random: c.clientRandom)))
        }
        c.server.append(Build.record(0x16, Build.serverHello(random: c.serverRandom, suite: code, tls13: true)))
        c.server.append(Build.record(0x14, [1]))
        var serverHS = Sealer(tls13: suite, secret: shs)
        // EncryptedExtensions, Certificate (large: over two records), Finished.
        let flight = Build.message(8, [0, 0]) + Build.message(11, [UInt8](repeating: 0x42, count: 20000)) + Build.message(20, secret(9, n))
        c.server.append(serverHS.record(0x16, Array(flight[0..<16000])))
        c.server.append(serverHS.record(0x16, Array(flight[16000...]), padding: 10))
        c.client.append(Build.record(0x14, [1]))
        var clientHS = Sealer(tls13: suite, secret: chs)
        c.client.append(clientHS.record(0x16, Build.message(20, secret(8, n))))
        var clientApp = Sealer(tls13: suite, secret: cap)
        var serverApp = Sealer(tls13: suite, secret: sap)
        c.server.append(serverApp.record(0x16, Build.message(4, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0])))  // NewSessionTicket
        c.client.append(clientApp.record(0x17, Array(c.request[0..<5])))
        if keyUpdate {
            c.client.append(clientApp.record(0x16, Build.message(24, [0])))
            clientApp = Sealer(tls13: suite, secret: TLSKeySchedule.nextTrafficSecret(suite, secret: cap))
        }
        c.client.append(clientApp.record(0x17, Array(c.request[5...])))
        for response in c.responses { c.server.append(serverApp.record(0x17, response)) }
        c.server.append(serverApp.record(0x15, [1, 0]))  // close_notify
        return c
    }

    static func tls12(suite code: UInt16) -> Conversation {
        var c = Conversation()
        let suite = TLSCipherSuite.tls12(code)!
        let master = secret(5, 48)
        c.keyLog = "CLIENT_RANDOM \(hexText(c.clientRandom)) \(hexText(master))\n"
        let keys = TLSKeySchedule.tls12Keys(suite, masterSecret: master, clientRandom: c.clientRandom, serverRandom: c.serverRandom)
        c.client.append(Build.record(0x16, Build.clientHello(random: c.clientRandom), version: 0x0301))
        c.server.append(Build.record(0x16, Build.serverHello(random: c.serverRandom, suite: code, tls13: false)
            + Build.message(11, [UInt8](repeating: 0x42, count: 900)) + Build.message(14, [])))
        c.client.append(Build.record(0x16, Build.message(16, [UInt8](repeating: 0x43, count: 66))))
        c.client.append(Build.record(0x14, [1]))
        var clientSealer = Sealer(tls12: suite, key: keys.clientKey, iv: keys.clientIV)
        var serverSealer = Sealer(tls12: suite, key: keys.serverKey, iv: keys.serverIV)
        c.client.append(clientSealer.record(0x16, Build.message(20, secret(7, 12))))
        c.server.append(Build.record(0x14, [1]))
        c.server.append(serverSealer.record(0x16, Build.message(20, secret(6, 12))))
        c.client.append(clientSealer.record(0x17, c.request))
        for response in c.responses { c.server.append(serverSealer.record(0x17, response)) }
        return c
    }

    /// Feeds the conversation (client's first flight, then alternately) in pieces of `cut` bytes.
    func play(into decryptor: TLSDecryptor, cut: Int = .max, lose: (server: Int, Void)? = nil) -> Recorder {
        let recorder = Recorder()
        let consumer = decryptor.consumer(wrapping: recorder)
        let t = Timestamp(nanoseconds: 1)
        func send(_ bytes: [UInt8], _ d: StreamDirection) {
            var i = 0
            while i < bytes.count {
                let j = min(bytes.count, i + max(1, cut))
                bytes[i..<j].withUnsafeBytes { consumer.streamData($0, direction: d, time: t) }
                i = j
            }
        }
        var ci = 0, si = 0
        while ci < client.count || si < server.count {
            if ci < client.count { send(client[ci], .clientToServer); ci += 1 }
            if si < server.count {
                if let lose, lose.server == si {
                    consumer.streamGap(length: server[si].count, direction: .serverToClient, time: t)
                } else {
                    send(server[si], .serverToClient)
                }
                si += 1
            }
        }
        consumer.streamEnd(direction: .clientToServer, reason: .fin, time: t)
        consumer.streamEnd(direction: .serverToClient, reason: .fin, time: t)
        return recorder
    }

    func decryptor(keyLog: String? = nil) -> TLSDecryptor {
        let store = TLSKeyStore()
        store.add(text: keyLog ?? self.keyLog)
        return TLSDecryptor(keys: store)
    }
}

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

    @Test(arguments: [0xC02F, 0x009D, 0xCCA8, 0xC02C] as [UInt16])
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

    @Test func aWrongKeyDecryptsNothing() {
        let c = Conversation.tls12(suite: 0xC02F)
        let wrong = c.keyLog.replacingOccurrences(of: String(repeating: "05", count: 48), with: String(repeating: "06", count: 48))
        let decryptor = c.decryptor(keyLog: wrong)
        let r = c.play(into: decryptor)
        #expect(decryptor.statistics.count(of: .decryptFailed) == 1)
        #expect(r.data(.serverToClient).isEmpty)
        #expect(r.data(.clientToServer) == [0x16, 0x03, 0x01])
    }

    @Test func aLostRecordIsAGapOfItsPlaintext() {
        let bodies = [Array("HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n".utf8) + [UInt8](repeating: 0x61, count: 1000),
                      [UInt8](repeating: 0x62, count: 1000), [UInt8](repeating: 0x63, count: 1000)]
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
