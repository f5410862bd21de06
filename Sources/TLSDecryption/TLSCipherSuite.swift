/// The cipher suites whose records can be read: TLS 1.3's three, TLS 1.2's AEAD ones and its
/// AES-CBC ones with an HMAC.

/// A record protection algorithm: an AEAD (RFC 5116, as TLS uses them), or TLS 1.2's AES-CBC, which
/// comes with an HMAC (`TLSCipherSuite.mac`: MAC-then-encrypt, RFC 5246 §6.2.3.2).
public enum TLSRecordCipher: Sendable, Equatable {
    case aes128GCM, aes256GCM, chaChaPoly, aes128CBC, aes256CBC

    var keyLength: Int { self == .aes128GCM || self == .aes128CBC ? 16 : 32 }
    var isCBC: Bool { self == .aes128CBC || self == .aes256CBC }
}

/// The hash of a suite's key schedule (TLS 1.3 HKDF) or PRF (TLS 1.2).
public enum TLSHash: Sendable, Equatable {
    case sha256, sha384

    var length: Int { self == .sha256 ? 32 : 48 }
}

/// The HMAC of a TLS 1.2 CBC suite's records.
public enum TLSMAC: Sendable, Equatable {
    case sha1, sha256, sha384

    /// Its key's and its code's length (RFC 5246 §6.2.3.2: mac_key_length = mac_length).
    var length: Int {
        switch self {
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        }
    }
}

/// A negotiated cipher suite this reader can decrypt.
public struct TLSCipherSuite: Sendable, Equatable {
    public var code: UInt16
    public var cipher: TLSRecordCipher
    public var hash: TLSHash
    /// The records' HMAC: CBC suites only (nil for an AEAD).
    public var mac: TLSMAC?

    /// TLS 1.3 (RFC 8446 §B.4); TLS_AES_128_CCM_* are not supported.
    public static func tls13(_ code: UInt16) -> TLSCipherSuite? {
        switch code {
        case 0x1301: TLSCipherSuite(code: code, cipher: .aes128GCM, hash: .sha256)
        case 0x1302: TLSCipherSuite(code: code, cipher: .aes256GCM, hash: .sha384)
        case 0x1303: TLSCipherSuite(code: code, cipher: .chaChaPoly, hash: .sha256)
        default: nil
        }
    }

    /// TLS 1.2 AEAD suites (RFC 5288, RFC 5289, RFC 7905) and AES-CBC suites (RFC 5246 §A.5, RFC 4492,
    /// RFC 5289) with RSA, DHE or ECDHE key exchange: the key exchange does not matter here, the
    /// master secret comes from the key log. The PRF is SHA-256 unless the suite names SHA-384
    /// (RFC 5246 §5, RFC 5289 §3); the CBC suites named _SHA have HMAC-SHA1 records.
    public static func tls12(_ code: UInt16) -> TLSCipherSuite? {
        switch code {
        case 0x009C, 0x009E, 0xC02B, 0xC02F: TLSCipherSuite(code: code, cipher: .aes128GCM, hash: .sha256)
        case 0x009D, 0x009F, 0xC02C, 0xC030: TLSCipherSuite(code: code, cipher: .aes256GCM, hash: .sha384)
        case 0xCCA8, 0xCCA9, 0xCCAA: TLSCipherSuite(code: code, cipher: .chaChaPoly, hash: .sha256)
        // RSA, DHE_RSA, ECDHE_ECDSA, ECDHE_RSA … _WITH_AES_128_CBC_SHA, _WITH_AES_256_CBC_SHA
        case 0x002F, 0x0033, 0xC009, 0xC013: TLSCipherSuite(code: code, cipher: .aes128CBC, hash: .sha256, mac: .sha1)
        case 0x0035, 0x0039, 0xC00A, 0xC014: TLSCipherSuite(code: code, cipher: .aes256CBC, hash: .sha256, mac: .sha1)
        // … _WITH_AES_128_CBC_SHA256, RSA and DHE_RSA _WITH_AES_256_CBC_SHA256
        case 0x003C, 0x0067, 0xC023, 0xC027: TLSCipherSuite(code: code, cipher: .aes128CBC, hash: .sha256, mac: .sha256)
        case 0x003D, 0x006B: TLSCipherSuite(code: code, cipher: .aes256CBC, hash: .sha256, mac: .sha256)
        // ECDHE_ECDSA and ECDHE_RSA _WITH_AES_256_CBC_SHA384
        case 0xC024, 0xC028: TLSCipherSuite(code: code, cipher: .aes256CBC, hash: .sha384, mac: .sha384)
        default: nil
        }
    }
}
