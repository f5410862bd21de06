/// A TLS record where an HTTP/1 start line was expected: the connection is encrypted.

// HTTPS on a port the exporter reads as HTTP (a service that terminates TLS itself, calls to
// partners over HTTPS when every port is watched) is a stream of TLS records (RFC 8446 §5.1,
// RFC 5246 §6.2.1), each behind a 5-byte header:
//
//   content type (1)   20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data
//   version (2)        0x03 0x00-0x04 (0x0301 in a TLS 1.3 ClientHello, 0x0303 after it)
//   length (2)
//
// A connection seen from its start begins with the client's handshake record (a ClientHello);
// one picked up in its middle usually shows a record header first in each direction (records are
// written whole, and small ones one to a segment). No HTTP/1 start line begins with a byte below
// 0x20, so the start line scanner rejects such a line at its first byte: only there is a record
// header looked for, which costs ordinary messages nothing. Its next two bytes are matched one at
// a time, so the header may be cut anywhere over deliveries; a byte that differs makes the line a
// bad one, as the scanner's rejection did before.
extension HTTPMessageParser {
    /// A TLS record's content type: a start line rejected at its first byte `b` may be a record header.
    func isTLSContentType(_ b: UInt8) -> Bool {
        (0x14...0x17).contains(b) && headBytes == 1
    }

    /// Matches the version bytes of a record header from `bytes[index...]`, `matched` of its bytes
    /// read: `.tlsRecord` once they are (the direction then ignores what follows until its owner
    /// decides), nil when the delivery ended first, and the bad line the scanner's rejection was
    /// when a byte differs (that byte is then the first one skipped, as the line's rest would be).
    @inline(never)
    mutating func continueTLSRecordHeader(matched: Int, _ bytes: UnsafeRawBufferPointer, index: inout Int) -> Event? {
        var matched = matched
        while matched < 3 {
            guard index < bytes.count else {
                state = .tlsRecordHeader(matched: matched)
                return nil
            }
            let b = bytes[index]
            guard matched == 1 ? b == 0x03 : b <= 0x04 else {
                // Still the first token: a byte below 0x20 began the line.
                if showsOtherProtocol(inFirstToken: true) { return otherProtocolFound() }
                loseSync(atLineStart: false)
                return .lost(expectedKind == .response ? .badStatusLine : .badRequestLine)
            }
            index += 1
            matched += 1
        }
        stopParsing()
        messageFirstByte = nil
        messageLastByte = nil
        return .tlsRecord
    }
}
