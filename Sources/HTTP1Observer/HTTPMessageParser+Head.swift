/// Keeping a message head across deliveries and parsing it once it is complete (RFC 9112 §2.1), and a start line read whole.

import PacketDecoding

extension HTTPMessageParser {
    /// Copies the part of a head that lies in this delivery, since the next delivery will not have it;
    /// false when the observer's `Budget` has no room for it (nothing kept: see
    /// `keptBytesExhausted`).
    mutating func stashHead(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let start = headStart ?? 0
        if headBytes > 0 && start < bytes.count {
            let count = bytes.count - start
            let budget = shared.keptBytes
            guard budget.room(for: count) == count else { return false }
            if headBuffer.isEmpty { headBuffer.reserveCapacity(min(maxHeaderBytes, 1024)) }
            headBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
            budget.charge(count)
            headCharged &+= count
        }
        headStart = nil
        return true
    }

    /// A head that cannot be kept over to the next delivery (the budget is spent) is given up as a
    /// head too large is: the direction resynchronises at the next start line.
    mutating func keptBytesExhausted() -> Event {
        loseSync(atLineStart: false)
        return .lost(.keptBytesLimit)
    }

    mutating func completeHead(_ bytes: UnsafeRawBufferPointer, end: Int) -> Event {
        let start = headStart ?? 0
        let isRequest: Bool
        switch expectedKind {
        case .request: isRequest = true
        case .response: isRequest = false
        case .either:
            // The start line was accepted; its first byte tells which kind it was.
            let firstFive = headBuffer.isEmpty ? Array(bytes[start..<min(end, start + 5)]) : Array(headBuffer.prefix(5))
            isRequest = !(firstFive.elementsEqual("HTTP/".utf8))
        }
        // Parsed in place into the shared head, which the connection observer reads at once.
        let parsed: MessageHead.ParseOutcome
        if headBuffer.isEmpty {
            parsed = shared.parseHead(
                UnsafeRawBufferPointer(rebasing: bytes[start..<end]), isRequest: isRequest, maxHeaderCount: maxHeaderCount)
        } else {
            headBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            let shared = shared
            let maxHeaderCount = maxHeaderCount
            parsed = headBuffer.withUnsafeBytes {
                shared.parseHead($0, isRequest: isRequest, maxHeaderCount: maxHeaderCount)
            }
        }
        resetHead()
        // Most heads: neither check is on (a store each cost more than this test).
        if unsyncedBytesLeft != -1 || otherProtocolCheck != .off { noteHeadRead() }
        isResynchronising = false
        guard case .complete = parsed else {
            // (`bytes` ran through the empty line, so the head is complete: too many field lines.)
            loseSync(atLineStart: true)
            return .lost(.tooManyHeaders)
        }
        state = .awaitingFraming
        return .head
    }

    /// The common case: a head whose start line was just accepted lies whole in this delivery.
    /// Parsed at once in one pass (finding its end while reading its fields) instead of being
    /// scanned for its end line by line first. Nil, with nothing changed, when it is not whole
    /// here, is larger than `maxHeaderBytes` or has too many field lines: the line-by-line path
    /// then decides, as it always did.
    /// `startLineLF` is the start line's LF, in `bytes`.
    /// Always inlined: once `nextEvent` grew (session 19's early answers and optimistic CONNECTs),
    /// the compiler stopped inlining it, +20 M instructions on keepalive.pcap (+67 an exchange).
    @inline(__always)
    mutating func completeWholeHead(
        _ bytes: UnsafeRawBufferPointer, start: Int, startLineLF: Int, isRequest: Bool, index: inout Int
    ) -> Event? {
        let available = min(bytes.count - start, maxHeaderBytes)
        let outcome = shared.parseHead(
            UnsafeRawBufferPointer(rebasing: bytes[start..<(start + available)]), isRequest: isRequest,
            maxHeaderCount: maxHeaderCount, startLineLF: startLineLF - start)
        guard case .complete(let end) = outcome else { return nil }
        index = start + end
        resetHead()
        // Most heads: neither check is on (a store each cost more than this test).
        if unsyncedBytesLeft != -1 || otherProtocolCheck != .off { noteHeadRead() }
        isResynchronising = false
        state = .awaitingFraming
        return .head
    }

    /// The LF ending the start line that begins at `start`, when it is in `bytes` and within the head
    /// limit (the line can then be checked whole, see `acceptWholeStartLine`).
    @inline(__always)
    func wholeStartLineEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let lf = bytes.firstIndex(of: 0x0A, from: start), lf - start < maxHeaderBytes else { return nil }
        return lf
    }

    /// The start line at `index` lies whole in `bytes` up to `startLineLF` and is plausible: it is accepted
    /// at once (the byte-by-byte path decides the same, and also handles rejections and lines split
    /// over deliveries), and the head read whole when it is here (the event), else line by line.
    @inline(__always)
    mutating func acceptWholeStartLine(
        _ bytes: UnsafeRawBufferPointer, index: inout Int, startLineLF lf: Int, isRequest: Bool, time: Timestamp
    ) -> Event? {
        messageFirstByte = time
        messageLastByte = time
        if let event = completeWholeHead(bytes, start: index, startLineLF: lf, isRequest: isRequest, index: &index) {
            return event
        }
        headStart = index
        headBytes = lf + 1 - index
        index = lf + 1
        state = .fieldLines(lineBytes: 0, lastWasCR: false)
        return nil
    }

    /// A byte that can begin a start line of the expected kind: `H` of `HTTP/1.x`, or a method's first letter.
    @inline(__always)
    func canStartLine(_ b: UInt8) -> Bool {
        expectedKind == .response ? b == 0x48 : (b >= 0x41 && b <= 0x5A)
    }
}
