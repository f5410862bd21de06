/// Where a start line is rejected: HTTP/2's preface, a resynchronisation going on, a TLS record,
/// a PROXY protocol header, another protocol, or a lost sync.

extension HTTPMessageParser {
    /// The start line being scanned was rejected at `b` (just read), `inFirstToken` when in its first
    /// token (the method): HTTP/2's preface may begin there; else, while resynchronising, the search goes
    /// on quietly; else a TLS record header may begin there; else a PROXY protocol header; else the
    /// connection may carry another protocol; otherwise sync is lost (the event). Out of line: rare, and kept out of `nextEvent`'s loop.
    @inline(never)
    mutating func startLineRejected(
        at b: UInt8, _ bytes: UnsafeRawBufferPointer, index: inout Int, inFirstToken: Bool
    ) -> Event? {
        if isHTTP2PrefaceStart(b, bytes, index: index) {
            beginHTTP2Preface()
            return nil
        }
        if isResynchronising {
            let failedAfterFirstByte = headBytes > 1
            if unsyncedBytesLeft > 0 { countUnsynced(Swift.max(headBytes, Self.unsyncedLineCharge)) }
            resetHead()
            messageFirstByte = nil
            if b != 0x0A && failedAfterFirstByte && canStartLine(b) {
                // The byte that broke this candidate may start the next one (`xxGET /`, `HHTTP/1.1`).
                index -= 1
                state = .startLine(StartLineScanner(kind: expectedKind))
            } else {
                state = b == 0x0A ? .startLine(StartLineScanner(kind: expectedKind)) : .skipLine
            }
            // Not `index`: `.startLine` takes the index it starts at, and a delivery ending here left
            // that index, stale, to the next one (whose head was then stashed from it: status 240 for 200).
            headStart = nil
            return nil
        }
        if !hasLostSync && isTLSContentType(b) {
            resetHead()
            return continueTLSRecordHeader(matched: 1, bytes, index: &index)
        }
        if otherProtocolCheck != .off && !hasLostSync && beginsProxyHeader(b, bytes, index: index) { return nil }
        if showsOtherProtocol(inFirstToken: inFirstToken) { return otherProtocolFound() }
        let reason: HTTPParseAnomaly = expectedKind == .response ? .badStatusLine : .badRequestLine
        if reason == .badStatusLine && !hasLostSync {
            firstLineMayBeHTTP2Settings = mayBeHTTP2Settings(b, bytes, index: index)
        }
        loseSync(atLineStart: b == 0x0A)
        return .lost(reason)
    }
}

extension HTTPMessageParser {
    /// Whether the start line read so far (the bytes kept from earlier deliveries, then `bytes` from
    /// `headStart`) begins with `prefix`; the caller knows that many bytes of it were read.
    func lineBegins(with prefix: ArraySlice<UInt8>, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let start = headStart ?? 0
        let kept = headBuffer.count
        for (i, expected) in zip(0..., prefix) where expected != (i < kept ? headBuffer[i] : bytes[start + i - kept]) {
            return false
        }
        return true
    }
}
