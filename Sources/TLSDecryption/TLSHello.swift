/// The two handshake messages read in the clear: the ClientHello's random and the ServerHello's
/// random, cipher suite and version (RFC 8446 §4.1.2–4.1.3, §4.2.1; RFC 5246 §7.4.1.2–7.4.1.3).

/// What a ServerHello says.
struct ServerHello: Equatable {
    var random: [UInt8]
    var cipherSuite: UInt16
    /// The negotiated version: supported_versions' selected_version when present (TLS 1.3), else legacy_version.
    var version: UInt16
    /// A HelloRetryRequest: a ServerHello whose random is SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
    var isHelloRetryRequest: Bool
    /// Whether the server chose encrypt_then_mac (RFC 7366 §2): TLS 1.2 CBC records MAC'd after encryption.
    var encryptThenMAC = false

    static let helloRetryRequestRandom: [UInt8] = [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ]

    /// From a ServerHello message's body (after its 4-byte handshake header); nil when malformed.
    init?(body: ArraySlice<UInt8>) {
        var r = ByteReader(body)
        guard let legacyVersion = r.u16(), let random = r.bytes(32), let sessionIDLength = r.u8(),
            r.skip(Int(sessionIDLength)), let suite = r.u16(), r.skip(1)
        else { return nil }
        self.random = Array(random)
        cipherSuite = suite
        version = legacyVersion
        isHelloRetryRequest = self.random == Self.helloRetryRequestRandom
        // Extensions are optional before TLS 1.3.
        guard let extensionsLength = r.u16(), var extensions = r.reader(Int(extensionsLength)) else { return }
        while let type = extensions.u16(), let length = extensions.u16(), var data = extensions.reader(Int(length)) {
            if type == 0x002B, let selected = data.u16() { version = selected }
            if type == 0x0016 { encryptThenMAC = true }
        }
    }
}

/// The random of a ClientHello message's body; nil when malformed.
func clientHelloRandom(body: ArraySlice<UInt8>) -> [UInt8]? {
    var r = ByteReader(body)
    guard r.skip(2), let random = r.bytes(32) else { return nil }
    return Array(random)
}

/// Big-endian reads that return nil past the end.
struct ByteReader {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    mutating func u8() -> UInt8? { bytes.popFirst() }

    mutating func u16() -> UInt16? {
        guard bytes.count >= 2 else { return nil }
        defer { bytes = bytes.dropFirst(2) }
        return UInt16(bytes[bytes.startIndex]) << 8 | UInt16(bytes[bytes.startIndex + 1])
    }

    mutating func bytes(_ n: Int) -> ArraySlice<UInt8>? {
        guard n >= 0, bytes.count >= n else { return nil }
        defer { bytes = bytes.dropFirst(n) }
        return bytes.prefix(n)
    }

    mutating func reader(_ n: Int) -> ByteReader? { bytes(n).map(ByteReader.init) }

    mutating func skip(_ n: Int) -> Bool { bytes(n) != nil }
}
