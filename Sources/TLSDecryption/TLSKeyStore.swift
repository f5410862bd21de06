/// The secrets read from key logs, by client random: bounded in entries, oldest given up first.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PacketDecoding

/// What a key log holds for one connection.
public struct TLSSecrets: Sendable, Equatable {
    public var masterSecret: [UInt8]?
    public var clientHandshakeTrafficSecret: [UInt8]?
    public var serverHandshakeTrafficSecret: [UInt8]?
    public var clientTrafficSecret0: [UInt8]?
    public var serverTrafficSecret0: [UInt8]?

    public init() {}

    mutating func set(_ label: KeyLogLabel, _ secret: [UInt8]) {
        switch label {
        case .clientRandom: masterSecret = secret
        case .clientHandshakeTrafficSecret: clientHandshakeTrafficSecret = secret
        case .serverHandshakeTrafficSecret: serverHandshakeTrafficSecret = secret
        case .clientTrafficSecret0: clientTrafficSecret0 = secret
        case .serverTrafficSecret0: serverTrafficSecret0 = secret
        case .clientEarlyTrafficSecret, .exporterSecret: break
        }
    }
}

/// Counters of the key store and its sources.
public struct TLSKeyStoreStatistics: Sendable, Equatable {
    /// Key log lines taken (a secret of a connection).
    public var linesRead = 0
    /// Lines not of the key log format (skipped).
    public var malformedLines = 0
    /// Connections whose secrets were dropped to stay within the entry bound.
    public var evicted = 0
    /// Connections whose secrets were dropped for their age (`TLSKeyStore.maxAge`).
    public var expired = 0
    /// Connections whose secrets are held now.
    public var held = 0
    /// Key log files that could not be read (missing, unreadable) when polled.
    public var fileErrors = 0

    public init() {}

    /// Adds another store's counts (one a reload replaced, or one of a pipeline before).
    public mutating func add(_ other: TLSKeyStoreStatistics) {
        linesRead += other.linesRead
        malformedLines += other.malformedLines
        evicted += other.evicted
        expired += other.expired
        held += other.held
        fileErrors += other.fileErrors
    }
}

/// The secrets by client random. One pipeline thread uses it; files are polled for what was
/// appended when a connection's secrets are missing (`refresh`), at most once per `refreshInterval`
/// of packet time, so that a key log written while the service runs is read as it grows.
public final class TLSKeyStore {
    /// Most connections whose secrets are held; the oldest are dropped past it (a connection's
    /// secrets are needed only at its handshake, which comes right after they are logged).
    public let maxEntries: Int
    /// Secrets read while running are dropped this long (packet time, nanoseconds) after they were
    /// read: a connection needs them at its handshake, just after its client logged them. Those
    /// read before the first packet (a replay's key log, a service's log so far) do not age.
    public let maxAge: Int64
    private var secrets: [ClientRandom: TLSSecrets] = [:]
    /// Client randoms read before any packet, oldest first (`initialHead` is the next to go): they
    /// are the first dropped for room, and never for age.
    private var initial: [ClientRandom] = []
    private var initialHead = 0
    /// Client randoms read since, with the packet time they were read at, oldest first.
    private var order: [(random: ClientRandom, readAt: Timestamp)] = []
    private var head = 0
    private var files: [KeyLogFollower]
    private var lastRefresh: Timestamp?
    /// 100 ms, in nanoseconds.
    public static let refreshInterval: Int64 = 100_000_000
    public private(set) var statistics = TLSKeyStoreStatistics()

    /// One hour, in nanoseconds: how long secrets are kept by default.
    public static let defaultMaxAge: Int64 = 3_600_000_000_000

    public init(files: [String] = [], maxEntries: Int = 100_000, maxAge: Int64 = TLSKeyStore.defaultMaxAge) {
        self.maxEntries = max(1, maxEntries)
        self.maxAge = maxAge
        self.files = files.map { KeyLogFollower(path: $0) }
        refreshNow()
    }

    public var isEmpty: Bool { secrets.isEmpty && files.isEmpty }

    public func secrets(for random: ClientRandom) -> TLSSecrets? { secrets[random] }

    /// Reads what the key log files gained, when `refreshInterval` has passed since the last look.
    /// `force`: look now whatever the interval (a connection awaiting its key: a `stat` per record).
    public func refresh(now: Timestamp, force: Bool = false) {
        if !force, let last = lastRefresh, now < last + Self.refreshInterval { return }
        lastRefresh = now
        refreshNow()
        dropExpired(now: now)
    }

    /// Drops the secrets read more than `maxAge` before `now` (oldest first; they were read in order).
    private func dropExpired(now: Timestamp) {
        while head < order.count, now - order[head].readAt > maxAge {
            if secrets.removeValue(forKey: order[head].random) != nil { statistics.expired += 1 }
            head += 1
        }
        compactOrder()
        statistics.held = secrets.count
    }

    private func compactOrder() {
        if head > 4096, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
        if initialHead > 4096, initialHead * 2 > initial.count {
            initial.removeFirst(initialHead)
            initialHead = 0
        }
    }

    func refreshNow() {
        for index in files.indices {
            let ok = files[index].poll { self.addLine($0) }
            if !ok { statistics.fileErrors += 1 }
        }
    }

    /// Adds every line of `text` (a key log's whole content, or a Decryption Secrets Block's).
    /// One line at a time: `split` would make an array of every line first (a 16 MiB block of
    /// short lines: 8 million substrings, 256 MB, seen as 323 MB of RSS).
    public func add(text: some StringProtocol) {
        var rest = text[...]
        while !rest.isEmpty {
            let end = rest.firstIndex(where: \.isNewline) ?? rest.endIndex
            if end > rest.startIndex { addLine(rest[rest.startIndex..<end]) }
            rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
        }
    }

    func addLine(_ line: some StringProtocol) {
        switch KeyLogLine(line) {
        case .entry(let entry): add(entry)
        case .ignored: break
        case .malformed: statistics.malformedLines += 1
        }
    }

    public func add(_ entry: KeyLogEntry) {
        statistics.linesRead += 1
        if secrets[entry.clientRandom] == nil {
            if secrets.count >= maxEntries { evictOldest() }
            if let lastRefresh { order.append((entry.clientRandom, lastRefresh)) } else { initial.append(entry.clientRandom) }
        }
        secrets[entry.clientRandom, default: TLSSecrets()].set(entry.label, entry.secret)
        statistics.held = secrets.count
    }

    private func evictOldest() {
        while initialHead < initial.count || head < order.count {
            let random: ClientRandom
            if initialHead < initial.count {
                random = initial[initialHead]
                initialHead += 1
            } else {
                random = order[head].random
                head += 1
            }
            if secrets.removeValue(forKey: random) != nil {
                statistics.evicted += 1
                break
            }
        }
        compactOrder()
    }
}

/// A key log file read as it grows: what was appended since the last poll, whole lines only. A file
/// that became shorter (truncated) or was replaced (another inode: rotated) is read from its start.
struct KeyLogFollower {
    let path: String
    private var offset: Int64 = 0
    private var inode: UInt64 = 0
    /// The start of a line whose end has not been written yet (bounded: a line is under 300 bytes).
    private var partial: [UInt8] = []
    static let maxLineBytes = 4096
    /// Most bytes read at one poll (the rest at the next).
    static let maxBytesPerPoll = 16 << 20

    init(path: String) { self.path = path }

    /// Calls `line` for each new whole line; false when the file could not be read.
    mutating func poll(_ line: (Substring) -> Void) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0 else { return false }
        let node = UInt64(status.st_ino)
        if node != inode || Int64(status.st_size) < offset {
            inode = node
            offset = 0
            partial = []
        }
        guard Int64(status.st_size) > offset else { return true }
        guard let file = fopen(path, "rb") else { return false }
        defer { fclose(file) }
        guard fseeko(file, off_t(offset), SEEK_SET) == 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        var total = 0
        while total < Self.maxBytesPerPoll {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n == 0 { break }
            total += n
            offset += Int64(n)
            var start = 0
            for i in 0..<n where chunk[i] == UInt8(ascii: "\n") {
                partial.append(contentsOf: chunk[start..<i])
                line(Substring(decoding: partial, as: UTF8.self))
                partial.removeAll(keepingCapacity: true)
                start = i + 1
            }
            partial.append(contentsOf: chunk[start..<n])
            if partial.count > Self.maxLineBytes { partial.removeAll() }
        }
        return true
    }
}
