/// Puts TLS decryption in front of a connection's protocol observer, with shared keys, limits and counters.

import PacketDecoding
import TCPReassembly

/// The bounds of TLS decryption.
public struct TLSDecryptionLimits: Sendable, Equatable {
    /// Ciphertext held for all connections at once (records being gathered): past it a connection
    /// that needs more is given up (`buffer_overflow`).
    public var maxBufferedBytesTotal: Int
    /// Records tried ahead after lost ciphertext to find the next record's sequence number.
    public var maxRecordsSkipped: Int
    /// A connection whose secrets are not in the key log yet when its ServerHello comes keeps its
    /// records for this long (packet time, nanoseconds) while the key log is read again at each: a
    /// client logs its secrets as it computes them, after the ServerHello has gone by on the wire.
    public var keyWait: Int64
    /// Most bytes of records one connection keeps while its key is awaited (`key_wait_overflow` past it).
    public var maxHeldBytesPerConnection: Int

    public init(
        maxBufferedBytesTotal: Int = 64 << 20, maxRecordsSkipped: Int = 64, keyWait: Int64 = 5_000_000_000,
        maxHeldBytesPerConnection: Int = 1 << 20
    ) {
        self.maxBufferedBytesTotal = maxBufferedBytesTotal
        self.maxRecordsSkipped = maxRecordsSkipped
        self.keyWait = keyWait
        self.maxHeldBytesPerConnection = maxHeldBytesPerConnection
    }
}

/// Shared by the connections of one flow table (one thread): the key store, limits, counters.
///
/// A reload that names other key logs replaces the key store (`replaceKeys`), not the decryptor:
/// its counters are the process's (`channel_exporter_tls_*`, which must never go down), and the
/// bound on ciphertext held stays one bound over all connections, old and new.
public final class TLSDecryptor {
    /// Where connections find their secrets (the one `replaceKeys` put last).
    public private(set) var keys: TLSKeyStore
    public let limits: TLSDecryptionLimits
    /// One thread drives a decryptor and its connections: no dynamic exclusivity checks on the
    /// counters and the bound, updated at every record.
    @exclusivity(unchecked) public internal(set) var statistics = TLSDecryptionStatistics()
    /// Ciphertext held now by all connections (records being gathered, handshake messages).
    @exclusivity(unchecked) var bufferedBytes = 0
    /// Whether `maxBufferedBytesTotal` ever held anything back or was passed (handshake messages and
    /// records held for a key are counted without a check).
    @exclusivity(unchecked) public internal(set) var reachedGlobalBudget = false
    /// What the key stores `replaceKeys` took out had counted.
    private var replacedKeyStatistics = TLSKeyStoreStatistics()

    public init(keys: TLSKeyStore, limits: TLSDecryptionLimits = TLSDecryptionLimits()) {
        self.keys = keys
        self.limits = limits
    }

    /// A consumer that hands `inner` the connection's bytes as they are when it is not TLS, and its
    /// decrypted application data when it is and its keys are known.
    public func consumer(wrapping inner: any StreamConsumer) -> any StreamConsumer {
        TLSConnectionDecryptor(inner: inner, decryptor: self)
    }

    /// Looks secrets up in `store` from now on, for the connections open too (those awaiting
    /// their keys find them in the key logs named now); the old store's counters go on in
    /// `keyStatistics`, its secrets are dropped.
    public func replaceKeys(with store: TLSKeyStore) {
        var old = keys.statistics
        old.held = 0
        replacedKeyStatistics.add(old)
        keys = store
    }

    /// After `bufferedBytes` grew without a check against the bound.
    func noteUncheckedGrowth() {
        if bufferedBytes > limits.maxBufferedBytesTotal { reachedGlobalBudget = true }
    }

    /// The key stores' counters: the current one's, and those of the stores it replaced.
    public var keyStatistics: TLSKeyStoreStatistics {
        var statistics = keys.statistics
        statistics.add(replacedKeyStatistics)
        return statistics
    }
}
