/// The cipher suites whose records can be read: TLS 1.3's three and TLS 1.2's AEAD ones.

/// A record protection algorithm (RFC 5116 AEADs as TLS uses them).
public enum TLSAEAD: Sendable, Equatable {
    case aes128GCM, aes256GCM, chaChaPoly

    var keyLength: Int { self == .aes128GCM ? 16 : 32 }
}

/// The hash of a suite's key schedule (TLS 1.3 HKDF) or PRF (TLS 1.2).
public enum TLSHash: Sendable, Equatable {
    case sha256, sha384

    var length: Int { self == .sha256 ? 32 : 48 }
}

/// A negotiated cipher suite this reader can decrypt.
public struct TLSCipherSuite: Sendable, Equatable {
    public var code: UInt16
    public var aead: TLSAEAD
    public var hash: TLSHash

    /// TLS 1.3 (RFC 8446 §B.4); TLS_AES_128_CCM_* are not supported.
    public static func tls13(_ code: UInt16) -> TLSCipherSuite? {
        switch code {
        case 0x1301: TLSCipherSuite(code: code, aead: .aes128GCM, hash: .sha256)
        case 0x1302: TLSCipherSuite(code: code, aead: .aes256GCM, hash: .sha384)
        case 0x1303: TLSCipherSuite(code: code, aead: .chaChaPoly, hash: .sha256)
        default: nil
        }
    }

    /// TLS 1.2 AEAD suites (RFC 5288, RFC 5289, RFC 7905) with RSA, DHE or ECDHE key exchange: the
    /// key exchange does not matter here, the master secret comes from the key log. CBC suites
    /// (MAC-then-encrypt) are not supported.
    public static func tls12(_ code: UInt16) -> TLSCipherSuite? {
        switch code {
        case 0x009C, 0x009E, 0xC02B, 0xC02F: TLSCipherSuite(code: code, aead: .aes128GCM, hash: .sha256)
        case 0x009D, 0x009F, 0xC02C, 0xC030: TLSCipherSuite(code: code, aead: .aes256GCM, hash: .sha384)
        case 0xCCA8, 0xCCA9, 0xCCAA: TLSCipherSuite(code: code, aead: .chaChaPoly, hash: .sha256)
        default: nil
        }
    }
}
