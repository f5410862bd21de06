/// Record keys from logged secrets: TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1, §7.3) and TLS 1.2's
/// PRF key block (RFC 5246 §5, §6.3).

import Crypto

public enum TLSKeySchedule {
    /// HKDF-Expand-Label(Secret, Label, Context, Length) of RFC 8446 §7.1:
    ///
    ///   struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255>; } HkdfLabel;
    public static func expandLabel(_ hash: TLSHash, secret: [UInt8], label: String, context: [UInt8] = [], length: Int) -> [UInt8] {
        let fullLabel = Array("tls13 \(label)".utf8)
        var info: [UInt8] = [UInt8(length >> 8), UInt8(length & 0xff), UInt8(fullLabel.count)]
        info += fullLabel
        info.append(UInt8(context.count))
        info += context
        let prk = SymmetricKey(data: secret)
        let key: SymmetricKey
        switch hash {
        case .sha256: key = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: info, outputByteCount: length)
        case .sha384: key = HKDF<SHA384>.expand(pseudoRandomKey: prk, info: info, outputByteCount: length)
        }
        return key.withUnsafeBytes { Array($0) }
    }

    /// The write key and IV of a TLS 1.3 traffic secret (RFC 8446 §7.3).
    public static func trafficKeys(_ suite: TLSCipherSuite, secret: [UInt8]) -> (key: [UInt8], iv: [UInt8]) {
        (
            expandLabel(suite.hash, secret: secret, label: "key", length: suite.cipher.keyLength),
            expandLabel(suite.hash, secret: secret, label: "iv", length: 12)
        )
    }

    /// The traffic secret after a KeyUpdate (RFC 8446 §7.2).
    public static func nextTrafficSecret(_ suite: TLSCipherSuite, secret: [UInt8]) -> [UInt8] {
        expandLabel(suite.hash, secret: secret, label: "traffic upd", length: suite.hash.length)
    }

    /// TLS 1.2's PRF(secret, label, seed) = P_hash(secret, label + seed) (RFC 5246 §5), `length` bytes.
    public static func prf(_ hash: TLSHash, secret: [UInt8], label: String, seed: [UInt8], length: Int) -> [UInt8] {
        switch hash {
        case .sha256: pHash(SHA256.self, secret: secret, seed: Array(label.utf8) + seed, length: length)
        case .sha384: pHash(SHA384.self, secret: secret, seed: Array(label.utf8) + seed, length: length)
        }
    }

    private static func pHash<H: HashFunction>(_: H.Type, secret: [UInt8], seed: [UInt8], length: Int) -> [UInt8] {
        let key = SymmetricKey(data: secret)
        var output = [UInt8]()
        output.reserveCapacity(length + H.Digest.byteCount)
        // A(0) = seed, A(i) = HMAC(secret, A(i-1)); output HMAC(secret, A(i) + seed) for i = 1, 2, …
        var a = Array(HMAC<H>.authenticationCode(for: seed, using: key))
        while output.count < length {
            output += Array(HMAC<H>.authenticationCode(for: a + seed, using: key))
            a = Array(HMAC<H>.authenticationCode(for: a, using: key))
        }
        return Array(output.prefix(length))
    }

    /// TLS 1.2 write keys (and IVs, MAC keys) from the master secret (RFC 5246 §6.3):
    /// key_block = PRF(master, "key expansion", server_random + client_random) split as client MAC
    /// key, server MAC key, client key, server key, client IV, server IV. An AEAD has no MAC keys;
    /// its IV is the 4-byte salt of AES-GCM (RFC 5288 §3) or the 12-byte nonce mask of
    /// ChaCha20-Poly1305 (RFC 7905 §2). A CBC suite has no IVs in TLS 1.2 (each record carries its own).
    public static func tls12Keys(
        _ suite: TLSCipherSuite, masterSecret: [UInt8], clientRandom: [UInt8], serverRandom: [UInt8]
    ) -> (clientKey: [UInt8], serverKey: [UInt8], clientIV: [UInt8], serverIV: [UInt8], clientMACKey: [UInt8], serverMACKey: [UInt8]) {
        let keyLength = suite.cipher.keyLength
        let ivLength = suite.cipher.isCBC ? 0 : suite.cipher == .chaChaPoly ? 12 : 4
        let macLength = suite.mac?.length ?? 0
        let block = prf(
            suite.hash, secret: masterSecret, label: "key expansion", seed: serverRandom + clientRandom,
            length: 2 * (macLength + keyLength + ivLength))
        var i = 0
        func take(_ n: Int) -> [UInt8] {
            defer { i += n }
            return Array(block[i..<i + n])
        }
        let clientMACKey = take(macLength)
        let serverMACKey = take(macLength)
        let clientKey = take(keyLength)
        let serverKey = take(keyLength)
        let clientIV = take(ivLength)
        let serverIV = take(ivLength)
        return (clientKey, serverKey, clientIV, serverIV, clientMACKey, serverMACKey)
    }
}
