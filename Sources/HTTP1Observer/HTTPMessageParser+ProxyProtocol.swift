/// A PROXY protocol header before a connection's first request: skipped, and the requests after it read.

// A load balancer that passes the client's address on (HAProxy `send-proxy`/`send-proxy-v2`, AWS
// NLB, nginx `proxy_protocol`) writes a header before the first request of each connection it
// opens to the service (the PROXY protocol, haproxy.org/download/2.6/doc/proxy-protocol.txt):
//
//   v1  `PROXY TCP4 192.0.2.1 198.51.100.7 56324 8080\r\n` (text, at most 107 bytes)
//   v2  `\r\n\r\n\0\r\nQUIT\n` (12 bytes), version and command (0x2?), family, length (2 bytes,
//       big-endian), then that many bytes of addresses and TLVs
//
// The start line scanner rejects v1 after `PROXY TCP4 ` (no `HTTP/1.` there), and v2 at its 0x00
// (the idle state skips the CR LF CR LF before it as empty lines). Only there, on the first line of
// a client direction read from its start (`otherProtocolCheck` not `.off`), is a header looked for;
// it is read to its end, byte by byte where it is cut over deliveries, and the requests after it
// are read as usual. A v2 signature that breaks off shows another protocol (its first byte was 0x00);
// a v1 line longer than the limit is a bad request line.
extension HTTPMessageParser {
    /// The longest v1 header, CR LF included.
    static let proxyV1MaxLength = 107
    static let proxyV1Prefix: [UInt8] = Array("PROXY ".utf8)
    /// The v2 signature; its first four bytes are skipped by the idle state before the 0x00.
    static let proxyV2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    /// The first line of a client direction read from its start was rejected at `b`, just read at
    /// `bytes[index - 1]`: true when it begins a PROXY header, which the direction now reads.
    mutating func beginsProxyHeader(_ b: UInt8, _ bytes: UnsafeRawBufferPointer, index: Int) -> Bool {
        if b == 0x00 && headBytes == 1 {
            resetHead()
            state = .proxyHeaderV2(read: 5, length: 0)
            return true
        }
        // A v1 line ends with CR LF: rejected at a bare LF, it is no header (a bad line as before).
        guard b != 0x0A, headBytes > Self.proxyV1Prefix.count, expectedKind != .response,
            lineBegins(with: Self.proxyV1Prefix[...], bytes)
        else { return false }
        let lineBytes = headBytes
        resetHead()
        state = .proxyHeaderV1(lineBytes: lineBytes)
        return true
    }

    /// Reads a v1 header's rest from `bytes[index...]` through its LF: `.proxyHeader` at its end, nil
    /// when the delivery ended first, a bad request line when it is longer than a header can be.
    mutating func continueProxyHeaderV1(lineBytes: Int, _ bytes: UnsafeRawBufferPointer, index: inout Int) -> Event? {
        guard let lf = bytes.firstIndex(of: 0x0A, from: index) else {
            let total = lineBytes + bytes.count - index
            index = bytes.count
            guard total <= Self.proxyV1MaxLength else { return proxyHeaderTooLong() }
            state = .proxyHeaderV1(lineBytes: total)
            return nil
        }
        let total = lineBytes + lf + 1 - index
        index = lf + 1
        guard total <= Self.proxyV1MaxLength else { return proxyHeaderTooLong() }
        state = .idle
        return .proxyHeader
    }

    private mutating func proxyHeaderTooLong() -> Event {
        loseSync(atLineStart: false)
        return .lost(.badRequestLine)
    }

    /// Reads a v2 header from `bytes[index...]`, `read` of its bytes (signature first) read and
    /// `length` the length field once read: `.proxyHeader` at its end, nil when the delivery ended
    /// first, another protocol when the signature or the version breaks off.
    mutating func continueProxyHeaderV2(read: Int, length: Int, _ bytes: UnsafeRawBufferPointer, index: inout Int) -> Event? {
        var read = read
        var length = length
        let signature = Self.proxyV2Signature
        while read < 16 {
            guard index < bytes.count else {
                state = .proxyHeaderV2(read: read, length: length)
                return nil
            }
            let b = bytes[index]
            switch read {
            case 0..<12: guard b == signature[read] else { return otherProtocolFound() }
            case 12: guard b >> 4 == 0x2 else { return otherProtocolFound() }
            case 14, 15: length = length << 8 | Int(b)
            default: break
            }
            index += 1
            read += 1
        }
        // The addresses and TLVs: `length` bytes after the 16 of the fixed part.
        let remaining = 16 + length - read
        let n = min(remaining, bytes.count - index)
        index += n
        read += n
        if n < remaining {
            state = .proxyHeaderV2(read: read, length: length)
            return nil
        }
        state = .idle
        return .proxyHeader
    }
}
