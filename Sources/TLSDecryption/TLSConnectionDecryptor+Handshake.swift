// TLSConnectionDecryptor: the handshake messages read (the ServerHello's suite and version, the
// keys installed from the key log), records held while their key is awaited, and giving up.

import PacketDecoding
import TCPReassembly

extension TLSConnectionDecryptor {
    func handshake(_ bytes: UnsafeRawBufferPointer, _ d: Int, _ direction: StreamDirection, _ time: Timestamp) {
        guard directions[d].handshake.count + bytes.count <= Self.maxHandshakeBytes else {
            dropHandshake(d)
            // Protected: the epoch change is found by trying the next keys. In the clear: unreadable.
            if directions[d].protection == nil { giveUp(.handshakeUnreadable, time: time) }
            return
        }
        directions[d].handshake.append(contentsOf: bytes)
        decryptor.bufferedBytes += bytes.count
        decryptor.noteUncheckedGrowth()
        var start = 0
        let buffer = directions[d].handshake
        while buffer.count - start >= 4 {
            let length = Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
            guard buffer.count - start - 4 >= length else { break }
            let body = buffer[start + 4..<start + 4 + length]
            message(type: buffer[start], body: body, d, direction, time)
            start += 4 + length
            if mode != .tls { return }
        }
        if start > 0 {
            decryptor.bufferedBytes -= start
            // A new array of what is left: `removeFirst` would keep the capacity (up to 64 KiB) uncounted.
            directions[d].handshake = start == buffer.count ? [] : Array(buffer[start...])
        }
    }

    /// Forgets the handshake messages held for direction `d` (a new epoch), giving back what they counted.
    func dropHandshake(_ d: Int) {
        decryptor.bufferedBytes -= directions[d].handshake.count
        directions[d].handshake = []
    }

    func message(type: UInt8, body: ArraySlice<UInt8>, _ d: Int, _ direction: StreamDirection, _ time: Timestamp) {
        switch (type, directions[d].protection == nil) {
        case (1, true) where direction == .clientToServer:
            // A second ClientHello (after a HelloRetryRequest) keeps the random.
            if clientRandom == nil {
                guard let random = clientHelloRandom(body: body) else {
                    giveUp(.handshakeUnreadable, time: time)
                    return
                }
                clientRandom = random
                // Read what the key logs gained now (at most every 100 ms): lines are taken before a
                // rotation or truncation can take them away, and the ServerHello finds them.
                decryptor.keys.refresh(now: time)
            }
        case (2, true) where direction == .serverToClient:
            guard let hello = ServerHello(body: body) else {
                giveUp(.handshakeUnreadable, time: time)
                return
            }
            if hello.isHelloRetryRequest { return }
            serverHelloSeen = true
            installKeys(hello, time: time)
        case (20, false) where version == .tls13:
            // Finished: this direction's handshake epoch ends with this record.
            directions[d].switchAfterRecord = true
        case (24, false) where version == .tls13:
            directions[d].keyUpdateAfterRecord = true
        default:
            break
        }
    }

    func installKeys(_ hello: ServerHello, time: Timestamp) {
        guard let clientRandom, let random = ClientRandom(clientRandom) else {
            giveUp(.noHandshake, time: time)
            return
        }
        let suite: TLSCipherSuite?
        switch hello.version {
        case 0x0304:
            version = .tls13
            suite = TLSCipherSuite.tls13(hello.cipherSuite)
        case 0x0303:
            version = .tls12
            suite = TLSCipherSuite.tls12(hello.cipherSuite)
        default:
            suite = nil
        }
        guard let suite else {
            giveUp(.unsupportedCipher, time: time)
            return
        }
        self.suite = suite
        var found = decryptor.keys.secrets(for: random)
        if found == nil || !Self.complete(found!, version) {
            decryptor.keys.refresh(now: time, force: true)
            found = decryptor.keys.secrets(for: random)
        }
        guard let secrets = found, Self.complete(secrets, version) else {
            if awaited == nil { awaited = AwaitedKey(hello: hello, deadline: time + decryptor.limits.keyWait) }
            return
        }
        let client = Int(StreamDirection.clientToServer.rawValue)
        let server = Int(StreamDirection.serverToClient.rawValue)
        switch version {
        case .tls13:
            guard let clientTraffic = secrets.clientTrafficSecret0,
                let serverTraffic = secrets.serverTrafficSecret0
            else {
                giveUp(.noKey, time: time)
                return
            }
            directions[client].trafficSecret = clientTraffic
            directions[server].trafficSecret = serverTraffic
            let clientApplication = TLSRecordProtection(tls13: suite, secret: clientTraffic)
            let serverApplication = TLSRecordProtection(tls13: suite, secret: serverTraffic)
            guard let clientHandshake = secrets.clientHandshakeTrafficSecret,
                let serverHandshake = secrets.serverHandshakeTrafficSecret
            else {
                giveUp(.noKey, time: time)
                return
            }
            directions[client].protection = TLSRecordProtection(tls13: suite, secret: clientHandshake)
            directions[server].protection = TLSRecordProtection(tls13: suite, secret: serverHandshake)
            directions[client].next = clientApplication
            directions[server].next = serverApplication
        case .tls12:
            guard let master = secrets.masterSecret else {
                giveUp(.noKey, time: time)
                return
            }
            let keys = TLSKeySchedule.tls12Keys(suite, masterSecret: master, clientRandom: clientRandom, serverRandom: hello.random)
            directions[client].next = TLSRecordProtection(
                version: .tls12, suite: suite, key: keys.clientKey, iv: keys.clientIV, macKey: keys.clientMACKey,
                encryptThenMAC: hello.encryptThenMAC)
            directions[server].next = TLSRecordProtection(
                version: .tls12, suite: suite, key: keys.serverKey, iv: keys.serverIV, macKey: keys.serverMACKey,
                encryptThenMAC: hello.encryptThenMAC)
        case nil:
            break
        }
    }

    /// Whether `secrets` hold all a connection of `version` needs.
    static func complete(_ secrets: TLSSecrets, _ version: Version?) -> Bool {
        switch version {
        case .tls13:
            secrets.clientHandshakeTrafficSecret != nil && secrets.serverHandshakeTrafficSecret != nil
                && secrets.clientTrafficSecret0 != nil && secrets.serverTrafficSecret0 != nil
        case .tls12: secrets.masterSecret != nil
        case nil: false
        }
    }

    /// Keeps a record while the key is awaited, and looks at the key log again: once the secrets
    /// are there, the held records are read in order; past the wait or the bound, the connection
    /// is given up.
    func hold(_ record: [UInt8], _ direction: StreamDirection, _ time: Timestamp) {
        awaited!.held.append((direction, record))
        // Each record held costs its array and its place in `held` besides its bytes: counted, so
        // that a flood of empty records (5 bytes each) is held to the bounds as their bytes would be.
        let cost = record.count + Self.heldRecordOverhead
        awaited!.heldBytes += cost
        decryptor.bufferedBytes += cost
        decryptor.noteUncheckedGrowth()
        guard awaited!.heldBytes <= decryptor.limits.maxHeldBytesPerConnection else {
            giveUp(.keyWaitOverflow, time: time)
            return
        }
        retryAwaitedKey(time: time)
    }

    /// Reads the key log again for an awaited key (every call: only while one is awaited).
    func retryAwaitedKey(time: Timestamp) {
        guard let waiting = awaited else { return }
        guard time <= waiting.deadline else {
            giveUp(.noKey, time: time)
            return
        }
        installKeys(waiting.hello, time: time)
        guard mode == .tls, let still = awaited else { return }
        // installKeys left `awaited` as it was when the key is still missing; found, it installed them.
        if directions[0].protection != nil || directions[0].next != nil || directions[1].protection != nil
            || directions[1].next != nil
        {
            awaited = nil
            decryptor.bufferedBytes -= still.heldBytes
            decryptor.statistics.keysAwaited += 1
            for (direction, record) in still.held {
                guard mode == .tls else { return }
                record.withUnsafeBytes { read(record: $0, Int(direction.rawValue), direction, time) }
            }
        }
    }

    /// The connection is not read further: counted by `reason` (once), its buffers freed; when
    /// nothing was decrypted, the inner consumer gets the first bytes it would have seen.
    func giveUp(_ reason: TLSFailureReason, time: Timestamp) {
        guard mode == .tls else { return }
        mode = .notDecrypted
        decryptor.statistics.add(failure: reason)
        release()
        if !decryptedAny, !firstBytes.isEmpty {
            firstBytes.withUnsafeBytes { inner.streamData($0, direction: firstBytesDirection, time: time) }
        }
        firstBytes = []
    }

    /// A record sent in the clear: handshake messages, TLS 1.2's turn to protected records, or
    /// application data where none can be yet.
    func readInTheClear(type: UInt8, fragment: UnsafeRawBufferPointer, _ d: Int, _ direction: StreamDirection, _ time: Timestamp) {
        switch type {
        case 0x16:
            handshake(fragment, d, direction, time)
        case 0x14:
            // ChangeCipherSpec: TLS 1.2's turn to protected records (TLS 1.3's is for middleboxes only).
            if version == .tls12 {
                guard let next = directions[d].next else {
                    giveUp(.handshakeUnreadable, time: time)
                    return
                }
                directions[d].protection = next
                directions[d].next = nil
                dropHandshake(d)
            }
        case 0x17:
            if clientRandom != nil, !serverHelloSeen, direction == .clientToServer {
                // 0-RTT early data, sent before the ServerHello: not decrypted.
                decryptor.statistics.earlyDataRecords += 1
            } else {
                giveUp(.handshakeUnreadable, time: time)
            }
        default:
            break
        }
    }
}
