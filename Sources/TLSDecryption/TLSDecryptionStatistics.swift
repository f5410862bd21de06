/// Counters of TLS decryption, for the replay summary and the self-metrics.

/// Why a TLS connection was not (or no longer) decrypted.
public enum TLSFailureReason: String, CaseIterable, Sendable {
    /// No key log line for its client random, within `TLSDecryptionLimits.keyWait` of its ServerHello.
    case noKey = "no_key"
    /// Its records, held while its key was awaited, passed `TLSDecryptionLimits.maxHeldBytesPerConnection`.
    case keyWaitOverflow = "key_wait_overflow"
    /// A cipher suite or version this reader does not decrypt (CBC suites, TLS 1.1 and older, CCM).
    case unsupportedCipher = "unsupported_cipher"
    /// Records that did not authenticate with the logged key (a wrong key, or damage).
    case decryptFailed = "decrypt_failed"
    /// Picked up after its handshake (no ClientHello and ServerHello seen): nothing to find its key by.
    case noHandshake = "no_handshake"
    /// Its handshake was cut by a gap, or was malformed or too large to read.
    case handshakeUnreadable = "handshake_unreadable"
    /// More ciphertext than the bound was held at once (per connection or in total).
    case bufferOverflow = "buffer_overflow"
}

public struct TLSDecryptionStatistics: Sendable, Equatable {
    /// Connections that began with a TLS handshake record.
    public var connections = 0
    /// Connections at least one of whose records was decrypted.
    public var decryptedConnections = 0
    /// Connections given up, by reason (each counted once, by the first reason).
    public var failures = [Int](repeating: 0, count: TLSFailureReason.allCases.count)
    public var recordsDecrypted = 0
    /// Records that did not authenticate (skipped).
    public var recordsFailed = 0
    /// Plaintext bytes handed on (application data).
    public var plaintextBytes = 0
    /// Lost ciphertext after which reading went on at a later record (a gap in the plaintext).
    public var resynchronisations = 0
    /// 0-RTT early data records, not decrypted.
    public var earlyDataRecords = 0
    /// Connections whose key was not in the key log at their ServerHello and came later.
    public var keysAwaited = 0
    /// KeyUpdates followed.
    public var keyUpdates = 0

    public init() {}

    public func count(of reason: TLSFailureReason) -> Int {
        failures[TLSFailureReason.allCases.firstIndex(of: reason)!]
    }

    mutating func add(failure reason: TLSFailureReason) {
        failures[TLSFailureReason.allCases.firstIndex(of: reason)!] += 1
    }

    public mutating func add(_ other: TLSDecryptionStatistics) {
        connections += other.connections
        decryptedConnections += other.decryptedConnections
        for i in failures.indices { failures[i] += other.failures[i] }
        recordsDecrypted += other.recordsDecrypted
        recordsFailed += other.recordsFailed
        plaintextBytes += other.plaintextBytes
        resynchronisations += other.resynchronisations
        earlyDataRecords += other.earlyDataRecords
        keyUpdates += other.keyUpdates
        keysAwaited += other.keysAwaited
    }
}
