/// Opening protected TLS records: TLS 1.3 (RFC 8446 §5.2–5.3) and TLS 1.2 AEAD (RFC 5246 §6.2.3.3,
/// RFC 5288 §3, RFC 7905 §2).

import Crypto
import Foundation

/// The read state of one direction in one epoch: AEAD, key, IV and the next record's sequence number.
struct TLSRecordProtection {
    enum Version { case tls12, tls13 }
    let version: Version
    let suite: TLSCipherSuite
    let key: SymmetricKey
    let iv: [UInt8]
    /// The sequence number of the next record (each epoch starts at 0).
    var sequence: UInt64 = 0

    init(version: Version, suite: TLSCipherSuite, key: [UInt8], iv: [UInt8]) {
        self.version = version
        self.suite = suite
        self.key = SymmetricKey(data: key)
        self.iv = iv
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
        case .tls12: suite.aead == .chaChaPoly ? 16 : 24
        }
    }

    /// The record `header` (5 bytes) and its `fragment` opened with sequence number `sequence`: the
    /// content type and the plaintext, nil when it does not authenticate.
    func open(header: ArraySlice<UInt8>, fragment: ArraySlice<UInt8>, sequence: UInt64) -> (type: UInt8, plaintext: [UInt8])? {
        let tagLength = 16
        switch version {
        case .tls13:
            guard fragment.count > tagLength else { return nil }
            guard var inner = openBox(nonce: maskedNonce(sequence), ciphertext: fragment.dropLast(tagLength),
                tag: fragment.suffix(tagLength), aad: header)
            else { return nil }
            // TLSInnerPlaintext: content, then the real content type, then zero padding.
            while let last = inner.last, last == 0 { inner.removeLast() }
            guard let type = inner.popLast() else { return nil }
            return (type, inner)
        case .tls12:
            let explicitLength = suite.aead == .chaChaPoly ? 0 : 8
            guard fragment.count >= explicitLength + tagLength, header.count == 5 else { return nil }
            let nonce: [UInt8] = explicitLength == 0 ? maskedNonce(sequence) : iv + fragment.prefix(explicitLength)
            let ciphertext = fragment.dropFirst(explicitLength).dropLast(tagLength)
            var aad = [UInt8](repeating: 0, count: 13)
            for i in 0..<8 { aad[i] = UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64(i))) }
            let h = header.startIndex
            aad[8] = header[h]
            aad[9] = header[h + 1]
            aad[10] = header[h + 2]
            aad[11] = UInt8(ciphertext.count >> 8)
            aad[12] = UInt8(ciphertext.count & 0xff)
            guard let plaintext = openBox(nonce: nonce, ciphertext: ciphertext, tag: fragment.suffix(tagLength), aad: aad[...])
            else { return nil }
            return (header[h], plaintext)
        }
    }

    /// The IV with the sequence number XORed into its last 8 bytes (RFC 8446 §5.3, RFC 7905 §2).
    private func maskedNonce(_ sequence: UInt64) -> [UInt8] {
        var nonce = iv
        for i in 0..<8 { nonce[4 + i] ^= UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64(i))) }
        return nonce
    }

    private func openBox(nonce: [UInt8], ciphertext: ArraySlice<UInt8>, tag: ArraySlice<UInt8>, aad: ArraySlice<UInt8>) -> [UInt8]? {
        switch suite.aead {
        case .aes128GCM, .aes256GCM:
            guard let n = try? AES.GCM.Nonce(data: nonce),
                let box = try? AES.GCM.SealedBox(nonce: n, ciphertext: ciphertext, tag: tag),
                let plain = try? AES.GCM.open(box, using: key, authenticating: aad)
            else { return nil }
            return Array(plain)
        case .chaChaPoly:
            guard let n = try? ChaChaPoly.Nonce(data: nonce),
                let box = try? ChaChaPoly.SealedBox(nonce: n, ciphertext: ciphertext, tag: tag),
                let plain = try? ChaChaPoly.open(box, using: key, authenticating: aad)
            else { return nil }
            return Array(plain)
        }
    }
}
