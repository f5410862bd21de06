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
// start line is the right answer, for a while: a connection pool of Redis or PostgreSQL open when
// the exporter starts would be searched through every byte for as long as it lives (a byte-by-byte
// search: replaying redis-benchmark's traffic took ten times as long as reading the file). While a
// body streams one way, HTTP/1 leaves the other way silent (a download's client waits, an upload's
// server too); other protocols talk both ways. So a connection picked up mid-stream that skipped
// `unsyncedLimit` bytes in each direction without finding a single head is taken as another
// protocol too. A rejected candidate line counts as at least `unsyncedLineCharge` bytes: a search
// costs per candidate as much as per byte, and a direction of short replies (Redis's `+OK`, 5 bytes)
// would otherwise take thousands of them to reach the limit while the other way (the commands and
// their values) is searched all along.
//
// Only a head read in sync stops the count: one where a message was due (the direction's first
// bytes, or right after the message before it), not one the search found. A Redis connection whose
// values hold HTTP text (a cached request, a cached response) gives the search a head now and then,
// and loses sync again on the next command or reply; each head found had ended the count for good,
// so such a connection, open when the exporter started, was searched for as long as it lived and made
// an exchange of every request and response text it carried (live, a cache connection reading two
// such values 20 times a second beside a busy pool made 296 exchanges, an `external_calls_total` series
// of `status="error"`, and 5,614 unanswered requests in 5 minutes; with this rule, 15 unanswered
// requests in 3 minutes, all in its first tenth of a second). On HTTP/1 the message after a found
// head is read in sync. And a direction counts as far from sync only while it is resynchronising:
// one whose head the search found and that has kept sync since (a response after a long body, the
// client silent) is HTTP for now, whatever the other direction skips.
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

    /// What each direction of a connection picked up mid-stream may skip without finding a head
    /// before the connection is taken as another protocol (when the other direction has too).
    static let unsyncedLimit = 16 * 1024
    /// What a candidate line rejected while resynchronising counts at least, towards the limit.
    static let unsyncedLineCharge = 64

    /// `n` more bytes skipped while resynchronising before any head (`unsyncedBytesLeft` > 0).
    @inline(never)
    mutating func countUnsynced(_ n: Int) {
        unsyncedBytesLeft = Swift.max(unsyncedBytesLeft - n, 0)
    }

    /// `unsyncedBytesLeft` once the limit was reached and reported.
    static let unsyncedLimitReported = -2

    /// The limit was reached: reported once (the search goes on until the owner decides).
    @inline(never)
    mutating func foundFarFromSync() -> Event {
        unsyncedBytesLeft = Self.unsyncedLimitReported
        return .farFromSync
    }

    /// This direction skipped the limit without reading a head in sync, and is resynchronising now.
    var isFarFromSync: Bool {
        (unsyncedBytesLeft == 0 || unsyncedBytesLeft == Self.unsyncedLimitReported) && isResynchronising
    }

    /// A head was read (called before `isResynchronising` is cleared, when a check is on): the
    /// first line's check ends; read in sync, it ends the count; found by the search, the count goes
    /// on, and the limit, when already reached, is reported anew the next time the direction skips.
    /// Out of line: the usual head has neither check on.
    @inline(never)
    mutating func noteHeadRead() {
        otherProtocolCheck = .off
        if !isResynchronising {
            unsyncedBytesLeft = -1
        } else if unsyncedBytesLeft == Self.unsyncedLimitReported {
            unsyncedBytesLeft = 0
        }
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
