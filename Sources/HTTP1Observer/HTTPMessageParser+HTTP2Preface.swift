/// HTTP/2's connection preface (RFC 9113 §3.4) where an HTTP/1 request line was expected: the connection is HTTP/2.

// A client that knows the server speaks HTTP/2 over cleartext TCP (prior knowledge, RFC 9113 §3.3:
// gRPC, h2c proxies, `curl --http2-prior-knowledge`) begins the connection with these 24 bytes,
// then binary frames:
//
//   P R I SP * SP H T T P / 2 . 0 CR LF CR LF S M CR LF CR LF
//   |<------ rejected at the 2 ----->|<---- matched here ---->|
//
// Its first line looks like a request line until the version, so the start line scanner rejects
// it at the `2` (12th byte). Only there, on that rare path, is the preface looked for: ordinary
// request lines never reach it, and it costs them nothing. The rest is matched byte by byte, so
// the preface may be cut anywhere over deliveries. Anything else than the exact 24 bytes (a `PRI`
// request in HTTP/1.1, or `PRI * HTTP/2.0` followed by something else) is a bad request line as
// before.
//
// The server's preface is a SETTINGS frame (§3.4, §6.5). A server may send it as soon as it accepts
// the connection, before it reads the client's (gRPC-Go's does), so in a capture it can come first:
//
//   +-----------------------------------------------+
//   |                 Length (24)                   |   0x00 0x00 6n (a few settings)
//   +---------------+---------------+---------------+
//   |   Type (8)    |   Flags (8)   |                   0x04, 0x00
//   +-+-------------+---------------+-------------------------------+
//   |R|                 Stream Identifier (31)                      |   0
//   +=+=============================================================+
//
// An HTTP/1 status line never begins with 0x00. Such a first line is still a bad status line, but
// the connection observer counts it only once the client's first bytes show they are not HTTP/2's
// preface (see `HTTPConnectionObserver.lostSync` and `countDeferredServerLineLoss`).
extension HTTPMessageParser {
    /// RFC 9113 §3.4.
    static let http2Preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    /// Bytes of the preface read when the start line scanner rejects it (`PRI * HTTP/2`).
    static let http2PrefaceRejectedAt = 12

    /// The start line being scanned was rejected at byte `b`, just read at `bytes[index - 1]`: true
    /// when the line so far is the preface's first 12 bytes (then the rest is matched in
    /// `.http2Preface`). The line's bytes are those kept from earlier deliveries, then `bytes` from
    /// `headStart`.
    func isHTTP2PrefaceStart(_ b: UInt8, _ bytes: UnsafeRawBufferPointer, index: Int) -> Bool {
        // Cheap tests first: the byte and the length (a rejection elsewhere in a line is the usual one).
        guard b == 0x32, headBytes == Self.http2PrefaceRejectedAt, expectedKind != .response else { return false }
        guard headBuffer.count + (index - (headStart ?? 0)) == Self.http2PrefaceRejectedAt else { return false }
        return lineBegins(with: Self.http2Preface[..<Self.http2PrefaceRejectedAt], bytes)
    }

    /// The first line of a response direction was rejected at its first byte `b` (read at
    /// `bytes[index - 1]`): true when it may be a SETTINGS frame, a server's HTTP/2 preface: 0x00 and,
    /// as far as the delivery holds them, the frame header's type 4, no flags, stream 0.
    func mayBeHTTP2Settings(_ b: UInt8, _ bytes: UnsafeRawBufferPointer, index: Int) -> Bool {
        guard b == 0, headBytes == 1 else { return false }
        // Offsets in the frame header: 3 type, 4 flags, 5-8 stream identifier (`index` is offset 1).
        let expected: [(offset: Int, byte: UInt8)] = [(3, 0x04), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0)]
        return expected.allSatisfy { index + $0.offset - 1 >= bytes.count || bytes[index + $0.offset - 1] == $0.byte }
    }

    /// The preface's first 12 bytes were read: what was kept of them is let go, the rest is matched next.
    mutating func beginHTTP2Preface() {
        resetHead()
        state = .http2Preface(matched: Self.http2PrefaceRejectedAt)
    }

    /// Matches more of the preface from `bytes[index...]`: `.http2Preface` once all 24 bytes are
    /// read (the direction then ignores what follows until its owner decides), nil when the
    /// delivery ended first, and the rejection the scanner would have made when a byte differs.
    /// Out of line, as `startLineRejected`: inlined, it cost `nextEvent` instructions on every call.
    @inline(never)
    mutating func continueHTTP2Preface(matched: Int, _ bytes: UnsafeRawBufferPointer, index: inout Int) -> Event? {
        let preface = Self.http2Preface
        var matched = matched
        while matched < preface.count {
            guard index < bytes.count else {
                state = .http2Preface(matched: matched)
                return nil
            }
            let b = bytes[index]
            guard b == preface[matched] else { return notHTTP2Preface(b, index: &index) }
            index += 1
            matched += 1
        }
        state = .ignoring
        messageFirstByte = nil
        messageLastByte = nil
        return .http2Preface
    }

    /// A byte of `PRI * HTTP/2...` differs from the preface: the line is rejected there, as the
    /// scanner rejects a start line (quietly while resynchronising, the byte possibly beginning the
    /// next candidate; else a bad request line and a resynchronisation).
    private mutating func notHTTP2Preface(_ b: UInt8, index: inout Int) -> Event? {
        if isResynchronising {
            messageFirstByte = nil
            if b == 0x0A {
                index += 1
                state = .startLine(StartLineScanner(kind: expectedKind))
            } else if canStartLine(b) {
                state = .startLine(StartLineScanner(kind: expectedKind))
            } else {
                index += 1
                state = .skipLine
            }
            return nil
        }
        index += 1
        loseSync(atLineStart: b == 0x0A)
        return .lost(.badRequestLine)
    }
}
