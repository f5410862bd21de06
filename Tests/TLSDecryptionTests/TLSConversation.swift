// Test support: a recording inner consumer, and TLS records sealed with known keys into a
// conversation the decryptor is fed (shared by the suites of this target).

import Crypto
import Foundation
import _CryptoExtras
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
    /// The times the inner consumer was told the connection's handshake ended.
    var handshakeEnds: [Timestamp] = []

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
    func streamHandshakeEnd(time: Timestamp) { handshakeEnds.append(time) }

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

    static func serverHello(random: [UInt8], suite: UInt16, tls13: Bool, encryptThenMAC: Bool = false) -> [UInt8] {
        let extensions: [UInt8] = (tls13 ? [0x00, 0x2b, 0x00, 0x02, 0x03, 0x04] : []) + (encryptThenMAC ? [0x00, 0x16, 0x00, 0x00] : [])
        return message(
            2, [3, 3] + random + [0, UInt8(suite >> 8), UInt8(suite & 0xff), 0]
                + [UInt8(extensions.count >> 8), UInt8(extensions.count & 0xff)] + extensions)
    }
}

/// Seals records as a sender would, with swift-crypto directly (not the code under test).
struct Sealer {
    let aead: TLSRecordCipher
    let tls13: Bool
    let key: SymmetricKey
    let iv: [UInt8]
    var sequence: UInt64 = 0
    /// TLS 1.2 CBC: the HMAC and its key, encrypt-then-MAC (RFC 7366), and a flaw to make.
    var mac: TLSMAC?
    var macKey = SymmetricKey(size: .bits128)
    var encryptThenMAC = false
    enum Flaw { case none, padding, ciphertext }
    var flaw = Flaw.none

    init(tls13 suite: TLSCipherSuite, secret: [UInt8]) {
        let (key, iv) = TLSKeySchedule.trafficKeys(suite, secret: secret)
        aead = suite.cipher
        tls13 = true
        self.key = SymmetricKey(data: key)
        self.iv = iv
    }

    init(tls12 suite: TLSCipherSuite, key: [UInt8], iv: [UInt8], macKey: [UInt8] = [], encryptThenMAC: Bool = false) {
        aead = suite.cipher
        tls13 = false
        self.key = SymmetricKey(data: key)
        self.iv = iv
        mac = suite.mac
        if mac != nil { self.macKey = SymmetricKey(data: macKey) }
        self.encryptThenMAC = encryptThenMAC
    }

    private func hmac(_ data: [UInt8]) -> [UInt8] {
        switch mac! {
        case .sha1: Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: macKey))
        case .sha256: Array(HMAC<SHA256>.authenticationCode(for: data, using: macKey))
        case .sha384: Array(HMAC<SHA384>.authenticationCode(for: data, using: macKey))
        }
    }

    /// A TLS 1.2 CBC record (RFC 5246 §6.2.3.2; RFC 7366 §3), with `padding` + 1 bytes of padding at
    /// least (more to fill the last block).
    private func cbcRecord(_ type: UInt8, _ content: [UInt8], padding: Int) -> [UInt8] {
        let explicitIV = (0..<16).map { UInt8(truncatingIfNeeded: Int(sequence) &* 31 &+ $0) }
        func header(_ length: Int) -> [UInt8] { bigEndian(sequence) + [type, 3, 3, UInt8(length >> 8), UInt8(length & 0xff)] }
        var inner = content + (encryptThenMAC ? [] : hmac(header(content.count) + content))
        var p = padding
        while (inner.count + p + 1) % 16 != 0 { p += 1 }
        inner += [UInt8](repeating: UInt8(p), count: p + 1)
        if flaw == .padding { inner[inner.count - 2] ^= 1 }
        var encrypted = explicitIV + Array(try! AES._CBC.encrypt(inner, using: key, iv: AES._CBC.IV(ivBytes: explicitIV), noPadding: true))
        if encryptThenMAC { encrypted += hmac(header(encrypted.count) + encrypted) }
        if flaw == .ciphertext { encrypted[20] ^= 1 }
        return Build.record(type, encrypted)
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
        case .aes128CBC, .aes256CBC:
            fatalError("CBC records are made by cbcRecord")
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
        if mac != nil { return cbcRecord(type, content, padding: padding) }
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

    /// A response of 3,000 body bytes in three records of 1,000 (a head first): one lost is a gap of 1,000.
    static let threeBodies = [
        Array("HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n".utf8) + [UInt8](repeating: 0x61, count: 1000),
        [UInt8](repeating: 0x62, count: 1000), [UInt8](repeating: 0x63, count: 1000),
    ]

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

    static func tls12(suite code: UInt16, encryptThenMAC: Bool = false, flaw: Sealer.Flaw = .none, padding: Int = 0,
        responses: [[UInt8]]? = nil
    ) -> Conversation {
        var c = Conversation()
        if let responses { c.responses = responses }
        let suite = TLSCipherSuite.tls12(code)!
        let master = secret(5, 48)
        c.keyLog = "CLIENT_RANDOM \(hexText(c.clientRandom)) \(hexText(master))\n"
        let keys = TLSKeySchedule.tls12Keys(suite, masterSecret: master, clientRandom: c.clientRandom, serverRandom: c.serverRandom)
        c.client.append(Build.record(0x16, Build.clientHello(random: c.clientRandom), version: 0x0301))
        c.server.append(Build.record(0x16, Build.serverHello(random: c.serverRandom, suite: code, tls13: false, encryptThenMAC: encryptThenMAC)
            + Build.message(11, [UInt8](repeating: 0x42, count: 900)) + Build.message(14, [])))
        c.client.append(Build.record(0x16, Build.message(16, [UInt8](repeating: 0x43, count: 66))))
        c.client.append(Build.record(0x14, [1]))
        var clientSealer = Sealer(
            tls12: suite, key: keys.clientKey, iv: keys.clientIV, macKey: keys.clientMACKey, encryptThenMAC: encryptThenMAC)
        var serverSealer = Sealer(
            tls12: suite, key: keys.serverKey, iv: keys.serverIV, macKey: keys.serverMACKey, encryptThenMAC: encryptThenMAC)
        c.client.append(clientSealer.record(0x16, Build.message(20, secret(7, 12))))
        c.server.append(Build.record(0x14, [1]))
        c.server.append(serverSealer.record(0x16, Build.message(20, secret(6, 12))))
        c.client.append(clientSealer.record(0x17, c.request, padding: padding))
        // The flaw, if any, in the server's first response record.
        serverSealer.flaw = flaw
        for response in c.responses {
            c.server.append(serverSealer.record(0x17, response, padding: padding))
            serverSealer.flaw = .none
        }
        return c
    }

    /// Feeds the conversation (client's first flight, then alternately) in pieces of `cut` bytes;
    /// the n-th record sent (from 1) at 1 + n × `step` ns, after a TCP handshake ended at 1 ns.
    func play(into decryptor: TLSDecryptor, cut: Int = .max, lose: (server: Int, Void)? = nil, step: Int64 = 0) -> Recorder {
        let recorder = Recorder()
        let consumer = decryptor.consumer(wrapping: recorder)
        var t = Timestamp(nanoseconds: 1)
        consumer.streamHandshakeEnd(time: t)
        func send(_ bytes: [UInt8], _ d: StreamDirection) {
            t = Timestamp(nanoseconds: t.nanoseconds + step)
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
