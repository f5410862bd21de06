/// A connection's first line that is no HTTP/1 at all: the connection carries another protocol.

// Every connection not to a broker port is read as HTTP (`ConnectionRouter`), so on a host the
// exporter also sees its service's Redis, PostgreSQL, MySQL, SSH or SMTP connections. Read as HTTP,
// each one was a `bad_request_line` (and a `bad_status_line` for a server that speaks first) and a
// `resync`, then a search for start lines through every byte it carried, where a value that holds
// HTTP text (a cached response, a logged request) made exchanges the service never had.
//
// A connection seen from its handshake shows what it is in its client's first bytes: an HTTP/1
// client begins with a request line, whose first token is a method (A-Z, `-`, `_`, then SP). When
// the start line scanner rejects the client's first line within that token, no HTTP/1 client
// sent it:
//
//   Redis        `*3\r\n$3\r\nSET`           `*` is no method byte
//   PostgreSQL   `00 00 00 08 04 d2 16 2f`   (SSLRequest), or a StartupMessage: a length first
//   MySQL        a length, then a sequence number (after the server's greeting)
//   SSH          `SSH-2.0-OpenSSH_9.2p1`     `2` (no digit is a method byte)
//   AMQP         `AMQP 00 00 09 01`          on a port not configured as a broker's
//
// A line rejected later (a bad target or version) may still be a broken HTTP request: it stays a
// bad line, and the search for the next request goes on as before. Where the server spoke first
// with a line that is no status line (its own loss is held back, see
// `HTTPConnectionObserver.lostSync`), an HTTP/1 server did not send it, and any rejection of the
// client's first line is taken as another protocol (SMTP's `EHLO host`, FTP's `USER name`).
//
// Only from a connection's start: the client's direction must be read from its SYN
// (`RoleSource.handshake`) with no byte lost before the line (a gap loses sync first). Picked up
// mid-stream, a connection's first bytes may be anywhere in an HTTP body, and the search for a
// start line is the right answer.
extension HTTPMessageParser {
    /// What a rejection of this direction's first line shows.
    enum OtherProtocolCheck: UInt8 {
        /// Nothing: the direction was not read from its start, or a head was read.
        case off
        /// Another protocol when the line is rejected in its first token.
        case firstToken
        /// Another protocol when the line is rejected anywhere (the server spoke first, not in HTTP).
        case wholeLine
    }

    /// A start line rejected now, `inFirstToken` when within its first token, shows another protocol.
    func showsOtherProtocol(inFirstToken: Bool) -> Bool {
        switch otherProtocolCheck {
        case .off: return false
        case .firstToken: return inFirstToken && !hasLostSync
        case .wholeLine: return !hasLostSync
        }
    }

    /// The direction carries another protocol: nothing more of it is read.
    mutating func otherProtocolFound() -> Event {
        stopParsing()
        otherProtocolCheck = .off
        messageFirstByte = nil
        messageLastByte = nil
        return .otherProtocol
    }
}
