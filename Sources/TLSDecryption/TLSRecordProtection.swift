/// Opening protected TLS records: TLS 1.3 (RFC 8446 §5.2–5.3) and TLS 1.2 AEAD (RFC 5246 §6.2.3.3,
/// RFC 5288 §3, RFC 7905 §2); TLS 1.2 CBC in TLSRecordProtection+CBC.swift.

import Crypto
import Foundation

/// The read state of one direction in one epoch: cipher, key, IV (MAC key) and the next record's sequence number.
struct TLSRecordProtection {
    enum Version { case tls12, tls13 }
    let version: Version
    let suite: TLSCipherSuite
    let key: SymmetricKey
    /// The IV: 12 bytes (TLS 1.3, ChaCha20-Poly1305), or TLS 1.2 GCM's 4-byte salt.
    let iv: [UInt8]
    /// TLS 1.2 CBC: the HMAC key, and whether the MAC follows the encryption (RFC 7366).
    let macKey: SymmetricKey?
    let encryptThenMAC: Bool
    /// The sequence number of the next record (each epoch starts at 0).
    var sequence: UInt64 = 0

    init(version: Version, suite: TLSCipherSuite, key: [UInt8], iv: [UInt8], macKey: [UInt8] = [], encryptThenMAC: Bool = false) {
        self.version = version
        self.suite = suite
        self.key = SymmetricKey(data: key)
        self.iv = iv
        self.macKey = suite.mac == nil ? nil : SymmetricKey(data: macKey)
        self.encryptThenMAC = encryptThenMAC
    }

    /// A TLS 1.3 traffic secret's read state.
    init(tls13 suite: TLSCipherSuite, secret: [UInt8]) {
        let (key, iv) = TLSKeySchedule.trafficKeys(suite, secret: secret)
        self.init(version: .tls13, suite: suite, key: key, iv: iv)
    }

    /// Bytes a record carries beyond its plaintext: the tag, TLS 1.2 GCM's explicit nonce, TLS 1.3's
    /// inner content type (padding aside).
    var overhead: Int {
        switch version {
        case .tls13: 17
        case .tls12:
            // CBC: the explicit IV, the MAC and at least the padding length byte. Its padding (0 to
            // 15 bytes more as senders make it) varies: the plaintext told lost after lost records
            // is that much too long at most (and no more than 2^14 a record: `open` in TLSConnectionDecryptor).
            if let mac = suite.mac { 16 + mac.length + 1 } else { suite.cipher == .chaChaPoly ? 16 : 24 }
        }
    }

    /// The protected `record` (its 5-byte header, then its fragment) opened with sequence number
    /// `sequence`: the content type and the plaintext, nil when it does not authenticate.
    ///
    /// The record is read where it lies (in the segment, or where it was gathered) and the plaintext
    /// handed on as swift-crypto returns it; the ciphertext is copied only into the sealed box (its
    /// API takes nothing else). Nonce and additional data are built on the stack.
    func open(record: UnsafeRawBufferPointer, sequence: UInt64) -> (type: UInt8, plaintext: Data)? {
        if suite.mac != nil { return openCBC(record: record, sequence: sequence) }
        let tagLength = 16
        let explicitLength = version == .tls12 && suite.cipher != .chaChaPoly ? 8 : 0
        guard record.count >= 5 + explicitLength + tagLength else { return nil }
        let header = UnsafeRawBufferPointer(rebasing: record[0..<5])
        let ciphertext = UnsafeRawBufferPointer(rebasing: record[(5 + explicitLength)..<(record.count - tagLength)])
        let tag = UnsafeRawBufferPointer(rebasing: record[(record.count - tagLength)...])
        // 13 bytes: the 12-byte nonce, then TLS 1.2's 13 bytes of additional data.
        return withUnsafeTemporaryAllocation(byteCount: 25, alignment: 8) { scratch in
            let nonce = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<12])
            if explicitLength == 0 {
                // The IV with the sequence number XORed into its last 8 bytes (RFC 8446 §5.3, RFC 7905 §2).
                for i in 0..<12 { nonce[i] = iv[i] }
                for i in 0..<8 { nonce[4 + i] ^= UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64(i))) }
            } else {
                // TLS 1.2 GCM: the salt, then the explicit part the record carries (RFC 5288 §3).
                for i in 0..<4 { nonce[i] = iv[i] }
                for i in 0..<8 { nonce[4 + i] = record[5 + i] }
            }
            switch version {
            case .tls13:
                // The record header is the additional data; TLSInnerPlaintext: content, the real
                // content type, zero padding.
                guard let inner = openBox(nonce: UnsafeRawBufferPointer(nonce), ciphertext: ciphertext, tag: tag, aad: header)
                else { return nil }
                guard let end = inner.lastIndex(where: { $0 != 0 }) else { return nil }
                return (inner[end], inner[inner.startIndex..<end])
            case .tls12:
                let aad = UnsafeMutableRawBufferPointer(rebasing: scratch[12..<25])
                for i in 0..<8 { aad[i] = UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64(i))) }
                aad[8] = header[0]
                aad[9] = header[1]
                aad[10] = header[2]
                aad[11] = UInt8(ciphertext.count >> 8)
                aad[12] = UInt8(ciphertext.count & 0xff)
                guard let plaintext = openBox(nonce: UnsafeRawBufferPointer(nonce), ciphertext: ciphertext, tag: tag, aad: UnsafeRawBufferPointer(aad))
                else { return nil }
                return (header[0], plaintext)
            }
        }
    }

    /// Opens nonce, ciphertext and tag through swift-crypto's sealed box, made from one `Data` filled
    /// in place: the box's initializer from the three parts appends each through `Data`'s generic
    /// `append` (58,140 records, the whole replay: 1,549 M instructions that way, 1,497 M this way).
    private func openBox(nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer) -> Data? {
        var combined = Data(count: nonce.count + ciphertext.count + tag.count)
        combined.withUnsafeMutableBytes { out in
            out.baseAddress!.copyMemory(from: nonce.baseAddress!, byteCount: nonce.count)
            if ciphertext.count > 0 { (out.baseAddress! + nonce.count).copyMemory(from: ciphertext.baseAddress!, byteCount: ciphertext.count) }
            (out.baseAddress! + nonce.count + ciphertext.count).copyMemory(from: tag.baseAddress!, byteCount: tag.count)
        }
        switch suite.cipher {
        case .aes128GCM, .aes256GCM:
            guard let box = try? AES.GCM.SealedBox(combined: combined) else { return nil }
            return try? AES.GCM.open(box, using: key, authenticating: aad)
        case .chaChaPoly:
            guard let box = try? ChaChaPoly.SealedBox(combined: combined) else { return nil }
            return try? ChaChaPoly.open(box, using: key, authenticating: aad)
        case .aes128CBC, .aes256CBC:
            return nil
        }
    }
}
