/// One connection's TLS records read back to the application data they carry.

// The connection is decided at its first byte: a handshake record (0x16) is TLS, anything else is
// handed on untouched. A TLS connection's records are gathered per direction; those in the clear
// (ClientHello, ServerHello, ChangeCipherSpec) are read for the client random, the cipher suite
// and the version, which find the secrets in the key store; the protected ones are opened, and
// their application data goes to the inner consumer as ordinary stream data. Lost ciphertext (a
// gap) is a gap in the plaintext: reading goes on at the next record header whose record opens
// with one of the next `maxRecordsSkipped` sequence numbers, and the inner consumer is told of a
// gap as long as the plaintext the lost records held. A connection that cannot be read (no key,
// an unsupported suite, records that do not open) is counted by reason and left as TLS: the inner
// consumer gets its first bytes, a TLS record header, as it would have without decryption.
//
// TLS 1.3 (RFC 8446 §7): after the ServerHello each direction reads with its handshake traffic
// secret until its Finished, then with its application traffic secret, renewed at each KeyUpdate.
// Outer records of type application_data only are protected (a ChangeCipherSpec is sent in the
// clear for compatibility). TLS 1.2 (RFC 5246 §6–7): each direction turns protected after its
// ChangeCipherSpec, keys from the master secret.

import Foundation
import PacketDecoding
import TCPReassembly

final class TLSConnectionDecryptor: StreamConsumer {
    let inner: any StreamConsumer
    let decryptor: TLSDecryptor

    enum Mode {
        case undecided
        /// Not TLS: every call goes to the inner consumer as it came.
        case plaintext
        case tls
        /// TLS that is not read: nothing more goes to the inner consumer but gaps and ends.
        case notDecrypted
    }
    /// One thread drives a connection (the pipeline's) and no call into it overlaps another: no
    /// dynamic exclusivity checks on the state touched at every segment and record (as `Pipeline`).
    @exclusivity(unchecked) var mode = Mode.undecided

    enum Version { case tls12, tls13 }
    var version: Version?
    var suite: TLSCipherSuite?
    var clientRandom: [UInt8]?
    var serverHelloSeen = false
    var decryptedAny = false
    /// The first bytes of the client's first record, given to the inner consumer when the
    /// connection is not read (so that it counts a TLS connection, as without decryption).
    var firstBytes: [UInt8] = []
    var firstBytesDirection = StreamDirection.clientToServer

    struct Direction {
        /// The record being gathered, header included.
        var record: [UInt8] = []
        /// Handshake messages not yet whole (in the clear, or from protected records).
        var handshake: [UInt8] = []
        var protection: TLSRecordProtection?
        /// TLS 1.3: the application traffic read state, taken at this direction's Finished.
        /// TLS 1.2: the read state taken at this direction's ChangeCipherSpec.
        var next: TLSRecordProtection?
        /// TLS 1.3: the current application traffic secret (for KeyUpdate).
        var trafficSecret: [UInt8]?
        /// Whether the handshake messages of this record end this epoch (Finished, KeyUpdate).
        var switchAfterRecord = false
        var keyUpdateAfterRecord = false
        /// Ciphertext lost since the last record read (a gap, bytes passed over looking for a header).
        var lostBytes = 0
        var resynchronising = false
        var failuresInARow = 0
    }
    @exclusivity(unchecked) var directions = [Direction(), Direction()]

    /// While the key log lacks this connection's secrets: its ServerHello, until when to wait, and
    /// the records that came since (both directions, in order), replayed once the secrets are read.
    struct AwaitedKey {
        var hello: ServerHello
        var deadline: Timestamp
        var held: [(direction: StreamDirection, record: [UInt8])] = []
        var heldBytes = 0
    }
    var awaited: AwaitedKey?

    /// The last TLS handshake record (either direction) before the client's first application data:
    /// where the connection is ready for a call, told to the inner consumer as the handshake's end
    /// (`HTTPExchange.callStart`). The TCP handshake's end made a TLS handshake over 100 ms (a loaded
    /// host: 154 of 1,429 in docs/testing.md's live check) time the call from its request.
    var lastHandshakeRecordTime: Timestamp?
    var applicationDataBegun = false

    /// Most bytes of handshake messages held for one direction (a certificate chain is a few KiB).
    static let maxHandshakeBytes = 64 << 10
    /// A record's most ciphertext: 2^14 plaintext plus 256 (RFC 8446 §5.2; RFC 5246 allows 2048 more).
    static let maxRecordLength = (1 << 14) + 2048
    /// What a record held while its key is awaited costs besides its bytes: an array's header and
    /// allocation rounding, and its entry in the list held. Without it, 100 connections of empty
    /// records (5 bytes each) took 1.7 GB of RSS under the 64 MiB bound; with it, 97 MB.
    static let heldRecordOverhead = 64
    /// Protected records that fail in a row before a connection is given up.
    static let maxFailuresInARow = 4

    init(inner: any StreamConsumer, decryptor: TLSDecryptor) {
        self.inner = inner
        self.decryptor = decryptor
    }

    deinit { release() }

    func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
        switch mode {
        case .plaintext:
            inner.streamData(bytes, direction: direction, time: time)
        case .tls:
            feed(bytes, direction, time)
        case .notDecrypted:
            return
        case .undecided:
            guard let first = bytes.first else { return }
            guard first == 0x16 || first == 0x17 else {
                mode = .plaintext
                inner.streamData(bytes, direction: direction, time: time)
                return
            }
            // 0x16: a handshake record; 0x17: application data, a TLS connection picked up in its middle.
            mode = .tls
            decryptor.statistics.connections += 1
            firstBytes = Array(bytes.prefix(3))
            firstBytesDirection = direction
            if first == 0x17 {
                giveUp(.noHandshake, time: time)
                return
            }
            feed(bytes, direction, time)
        }
    }

    func streamGap(length: Int, direction: StreamDirection, time: Timestamp) {
        switch mode {
        case .plaintext, .notDecrypted, .undecided:
            inner.streamGap(length: length, direction: direction, time: time)
        case .tls:
            let d = Int(direction.rawValue)
            guard directions[d].protection != nil else {
                // A handshake in the clear cut: its ServerHello or ChangeCipherSpec may be lost.
                giveUp(.handshakeUnreadable, time: time)
                inner.streamGap(length: length, direction: direction, time: time)
                return
            }
            decryptor.bufferedBytes -= directions[d].record.count
            directions[d].lostBytes += directions[d].record.count + length
            directions[d].record = []
            directions[d].resynchronising = true
        }
    }

    func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) {
        if mode == .tls, awaited != nil {
            retryAwaitedKey(time: time)
            if awaited != nil { giveUp(.noKey, time: time) }
        }
        if mode == .tls {
            let d = Int(direction.rawValue)
            if directions[d].resynchronising || !directions[d].record.isEmpty {
                // What was lost or left unfinished at the end: a gap, so that a message cut by it is reported as cut.
                let lost = directions[d].lostBytes + directions[d].record.count
                if decryptedAny, lost > 0 { inner.streamGap(length: lost, direction: direction, time: time) }
            }
            decryptor.bufferedBytes -= directions[d].record.count + directions[d].handshake.count
            directions[d] = Direction()
        }
        inner.streamEnd(direction: direction, reason: reason, time: time)
    }

    func streamHandshakeEnd(time: Timestamp) {
        inner.streamHandshakeEnd(time: time)
    }

    /// Bytes of capacity the buffers of both directions keep, used or not (for tests: what is
    /// kept between records must be what `bufferedBytes` counts, not a record's worth more).
    var retainedCapacity: Int {
        directions.reduce(0) { $0 + $1.record.capacity + $1.handshake.capacity }
    }

    func release() {
        if let awaited {
            decryptor.bufferedBytes -= awaited.heldBytes
            self.awaited = nil
        }
        for d in directions.indices {
            decryptor.bufferedBytes -= directions[d].record.count + directions[d].handshake.count
        }
        directions = [Direction(), Direction()]
    }

    // MARK: Records

    func feed(_ bytes: UnsafeRawBufferPointer, _ direction: StreamDirection, _ time: Timestamp) {
        let d = Int(direction.rawValue)
        var index = 0
        while index < bytes.count, mode == .tls {
            if directions[d].resynchronising, directions[d].record.isEmpty {
                // Look for an application data record header: 0x17 0x03 0x03.
                var found: Int?
                var i = index
                while i + 2 < bytes.count {
                    if bytes[i] == 0x17, bytes[i + 1] == 0x03, bytes[i + 2] == 0x03 {
                        found = i
                        break
                    }
                    i += 1
                }
                let start = found ?? bytes.count
                directions[d].lostBytes += start - index
                index = start
                if found == nil { return }
            }
            if directions[d].record.isEmpty, let length = Self.wholeRecord(in: bytes, at: index) {
                // A whole record in these bytes and nothing gathered: read where it lies, uncopied.
                read(record: UnsafeRawBufferPointer(rebasing: bytes[index..<index + 5 + length]), d, direction, time)
                index += 5 + length
                continue
            }
            let have = directions[d].record.count
            let need: Int
            if have < 5 {
                need = 5 - have
            } else {
                need = 5 + Int(directions[d].record[3]) << 8 + Int(directions[d].record[4]) - have
            }
            let n = min(need, bytes.count - index)
            guard decryptor.bufferedBytes + n <= decryptor.limits.maxBufferedBytesTotal else {
                decryptor.reachedGlobalBudget = true
                giveUp(.bufferOverflow, time: time)
                return
            }
            directions[d].record.append(contentsOf: bytes[index..<index + n])
            decryptor.bufferedBytes += n
            index += n
            let count = directions[d].record.count
            if count == 5 {
                let r = directions[d].record
                let length = Int(r[3]) << 8 + Int(r[4])
                guard (0x14...0x17).contains(r[0]), r[1] == 0x03, length <= Self.maxRecordLength else {
                    if directions[d].protection != nil {
                        // Not a record header where one was due: read on from the next one found.
                        decryptor.bufferedBytes -= count
                        directions[d].lostBytes += count
                        directions[d].record = []
                        directions[d].resynchronising = true
                        continue
                    }
                    giveUp(.handshakeUnreadable, time: time)
                    return
                }
                if length > 0 {
                    // Its whole size at once: appending segment by segment grew it 4 times for 16 KiB.
                    directions[d].record.reserveCapacity(5 + length)
                    continue
                }
            } else if count < 5 || count < 5 + Int(directions[d].record[3]) << 8 + Int(directions[d].record[4]) {
                continue
            }
            // Taken, not copied: a buffer kept with its capacity (up to a record's 18 KiB, per
            // direction, per connection) would be memory no bound counts.
            let record = directions[d].record
            decryptor.bufferedBytes -= record.count
            directions[d].record = []
            record.withUnsafeBytes { read(record: $0, d, direction, time) }
        }
    }

    /// The length of the record at `index` if it is whole in `bytes` with a header `feed` takes (else `feed` gathers it).
    @inline(__always)
    static func wholeRecord(in bytes: UnsafeRawBufferPointer, at index: Int) -> Int? {
        guard bytes.count - index >= 5 else { return nil }
        let length = Int(bytes[index + 3]) << 8 | Int(bytes[index + 4])
        guard (0x14...0x17).contains(bytes[index]), bytes[index + 1] == 0x03, length > 0, length <= maxRecordLength,
            bytes.count - index - 5 >= length
        else { return nil }
        return length
    }

    /// Reads one whole record (header included), where it lies: valid only during the call.
    func read(record: UnsafeRawBufferPointer, _ d: Int, _ direction: StreamDirection, _ time: Timestamp) {
        if awaited != nil {
            hold(Array(record), direction, time)
            return
        }
        let type = record[0]
        let protected: Bool
        switch version {
        case .tls13: protected = type == 0x17 && directions[d].protection != nil
        case .tls12: protected = directions[d].protection != nil
        case nil: protected = false
        }
        guard protected else {
            if !applicationDataBegun, type == 0x16 || type == 0x14 { lastHandshakeRecordTime = time }
            readInTheClear(type: type, fragment: UnsafeRawBufferPointer(rebasing: record[5...]), d, direction, time)
            return
        }
        guard let (innerType, plaintext) = open(record, d, direction, time) else { return }
        switch innerType {
        case 0x17:
            if !applicationDataBegun, direction == .clientToServer {
                applicationDataBegun = true
                if let end = lastHandshakeRecordTime { inner.streamHandshakeEnd(time: end) }
            }
            decryptor.statistics.plaintextBytes += plaintext.count
            plaintext.withUnsafeBytes { inner.streamData($0, direction: direction, time: time) }
        case 0x16:
            if !applicationDataBegun { lastHandshakeRecordTime = time }
            if version == .tls13 { plaintext.withUnsafeBytes { handshake($0, d, direction, time) } }
        default:
            // Alerts (close_notify) and anything else: not application data.
            break
        }
        if directions[d].switchAfterRecord {
            directions[d].switchAfterRecord = false
            if let next = directions[d].next {
                directions[d].protection = next
                directions[d].next = nil
            }
        }
        if directions[d].keyUpdateAfterRecord, let suite, let secret = directions[d].trafficSecret {
            directions[d].keyUpdateAfterRecord = false
            let updated = TLSKeySchedule.nextTrafficSecret(suite, secret: secret)
            directions[d].trafficSecret = updated
            directions[d].protection = TLSRecordProtection(tls13: suite, secret: updated)
            decryptor.statistics.keyUpdates += 1
        }
    }

    /// Opens a protected record with the expected sequence number, or after lost ciphertext with one
    /// of the next few; TLS 1.3 also tries the application keys when the handshake ones fail (a
    /// Finished not seen). Nil when none authenticates (counted).
    func open(_ record: UnsafeRawBufferPointer, _ d: Int, _ direction: StreamDirection, _ time: Timestamp) -> (UInt8, Data)? {
        guard var protection = directions[d].protection else { return nil }
        let expected = protection.sequence
        let tries = directions[d].resynchronising ? UInt64(decryptor.limits.maxRecordsSkipped) : 1
        for sequence in expected..<expected + tries {
            if let opened = protection.open(record: record, sequence: sequence) {
                if directions[d].resynchronising {
                    // The records lost were `sequence - expected`, each with its header and overhead,
                    // and none holds more than 2^14 bytes of plaintext (RFC 5246 §6.2.1, RFC 8446 §5.1):
                    // that bound makes a lost full CBC record's plaintext exact although its padding,
                    // which the overhead leaves out, is not known.
                    let skipped = Int(sequence - expected)
                    var lostPlaintext = max(1, directions[d].lostBytes - skipped * (5 + protection.overhead))
                    if skipped > 0 { lostPlaintext = min(lostPlaintext, skipped << 14) }
                    directions[d].resynchronising = false
                    directions[d].lostBytes = 0
                    decryptor.statistics.resynchronisations += 1
                    if decryptedAny { inner.streamGap(length: lostPlaintext, direction: direction, time: time) }
                }
                protection.sequence = sequence + 1
                directions[d].protection = protection
                countOpened(d)
                return opened
            }
        }
        if version == .tls13, !directions[d].resynchronising, var next = directions[d].next,
            let opened = next.open(record: record, sequence: 0)
        {
            next.sequence = 1
            directions[d].protection = next
            directions[d].next = nil
            dropHandshake(d)
            countOpened(d)
            return opened
        }
        decryptor.statistics.recordsFailed += 1
        if directions[d].resynchronising {
            // Not a record after all, or further on than tried: look on.
            directions[d].lostBytes += record.count
            return nil
        }
        directions[d].failuresInARow += 1
        if directions[d].failuresInARow >= Self.maxFailuresInARow || !decryptedAny {
            giveUp(.decryptFailed, time: time)
        }
        return nil
    }

    func countOpened(_ d: Int) {
        directions[d].failuresInARow = 0
        decryptor.statistics.recordsDecrypted += 1
        if !decryptedAny {
            decryptedAny = true
            decryptor.statistics.decryptedConnections += 1
        }
    }
}
