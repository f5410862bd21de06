/// NSS key log lines (SSLKEYLOGFILE, and pcapng Decryption Secrets Blocks of type TLSK).

// The format (https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/), written by
// OpenSSL, BoringSSL, NSS, Go's `KeyLogWriter`, rustls and Java agents: one secret a line,
//
//   LABEL <client random: 64 hex digits> <secret: hex>
//
// `#` begins a comment. The client random (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) names the
// connection: both ends log it, and it is in the clear in the ClientHello a capture holds.

/// The 32-byte random of a ClientHello: the key a connection's secrets are found by.
public struct ClientRandom: Hashable, Sendable, CustomStringConvertible {
    var words: (UInt64, UInt64, UInt64, UInt64)

    /// From exactly 32 bytes; nil for any other count.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        var w: [UInt64] = [0, 0, 0, 0]
        for (i, b) in bytes.enumerated() { w[i >> 3] = w[i >> 3] << 8 | UInt64(b) }
        words = (w[0], w[1], w[2], w[3])
    }

    public static func == (a: ClientRandom, b: ClientRandom) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    public var description: String {
        [words.0, words.1, words.2, words.3].map { w in
            let s = String(w, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }.joined()
    }
}

/// The secrets of one connection a key log can hold, by its label.
public enum KeyLogLabel: String, CaseIterable, Sendable {
    /// TLS 1.2 and earlier: the 48-byte master secret.
    case clientRandom = "CLIENT_RANDOM"
    case clientHandshakeTrafficSecret = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
    case serverHandshakeTrafficSecret = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
    case clientTrafficSecret0 = "CLIENT_TRAFFIC_SECRET_0"
    case serverTrafficSecret0 = "SERVER_TRAFFIC_SECRET_0"
    /// 0-RTT data: not decrypted (counted as such), kept so that a line of it is not an error.
    case clientEarlyTrafficSecret = "CLIENT_EARLY_TRAFFIC_SECRET"
    /// For exporters (RFC 8446 §7.5); never needed to read records.
    case exporterSecret = "EXPORTER_SECRET"
}

/// One line of a key log.
public struct KeyLogEntry: Equatable, Sendable {
    public var label: KeyLogLabel
    public var clientRandom: ClientRandom
    public var secret: [UInt8]

    public init(label: KeyLogLabel, clientRandom: ClientRandom, secret: [UInt8]) {
        self.label = label
        self.clientRandom = clientRandom
        self.secret = secret
    }
}

public enum KeyLogLine: Equatable, Sendable {
    case entry(KeyLogEntry)
    /// Empty, a comment, or a label this reader does not use (RSA pre-master secrets, QUIC's).
    case ignored
    /// Not of the format: counted, skipped.
    case malformed
}

extension KeyLogLine {
    /// Secrets are 32 to 64 bytes (SHA-256 or SHA-384 sized; a TLS 1.2 master secret is 48).
    static let maxSecretBytes = 64

    /// The longest line read: a label, 64 hex digits and 128 at most, with room for odd spacing.
    /// Longer is malformed without being split (a 16 MiB line of spaces would be millions of fields).
    static let maxLineBytes = 1024

    /// Parses one line (without its line end; a trailing CR is allowed).
    public init(_ line: some StringProtocol) {
        guard line.utf8.count <= Self.maxLineBytes else {
            self = .malformed
            return
        }
        var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        guard let first = fields.first, !first.hasPrefix("#") else {
            self = .ignored
            return
        }
        guard let label = KeyLogLabel(rawValue: String(first)) else {
            // RSA Session-ID lines, QUIC and other labels: not ours, not wrong.
            self = first.allSatisfy({ $0 == "_" || $0.isUppercase || $0.isNumber }) ? .ignored : .malformed
            return
        }
        fields.removeFirst()
        guard fields.count == 2, let random = hexBytes(fields[0]), let clientRandom = ClientRandom(random),
            let secret = hexBytes(fields[1]), (16...Self.maxSecretBytes).contains(secret.count)
        else {
            self = .malformed
            return
        }
        self = .entry(KeyLogEntry(label: label, clientRandom: clientRandom, secret: secret))
    }
}

/// Hex digits to bytes; nil for an odd count or a non-hex character.
func hexBytes(_ text: some StringProtocol) -> [UInt8]? {
    let utf8 = Array(text.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
    var bytes = [UInt8]()
    bytes.reserveCapacity(utf8.count / 2)
    var i = 0
    while i < utf8.count {
        guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
        bytes.append(hi << 4 | lo)
        i += 2
    }
    return bytes
}
