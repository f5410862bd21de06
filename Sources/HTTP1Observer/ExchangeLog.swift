/// The exchange log: one JSON object per line per exchange, the incident-review view (like Zeek's http.log, with latency).
import PacketDecoding

/// Writes exchanges as JSON Lines without Foundation.
///
/// Keys: `ts` (request's first byte, else the response's, epoch seconds with
/// ns), `connection`, `client`, `server` (`address:port`), `method`,
/// `target`, `path`, `host`, `status`, `request_body_bytes`,
/// `response_body_bytes`, the four byte times, `server_time_s` (response's
/// first byte − request's last byte), `total_time_s` (response's last byte −
/// `HTTPExchange.callStart`: the SYN when this request opened the connection,
/// else the request's first byte), `completeness`, `saw_gap`,
/// `first_on_connection`. Unknown values are `null`.
///
/// A line is written as UTF-8 bytes into a buffer the caller keeps (`append(_:to:)`): built by
/// appending Strings, a line cost about 103,000 instructions (every character of every value
/// appended on its own), ten times the rest of the pipeline's work for that exchange.
public enum ExchangeLog {
    public static func jsonLine(_ e: HTTPExchange) -> String {
        var bytes: [UInt8] = []
        append(e, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `e`'s line, without a newline, to `bytes`: room for the longest line these values can
    /// make is reserved once, and the line is written into it in place.
    public static func append(_ e: HTTPExchange, to bytes: inout [UInt8]) {
        let bound = longestLine(e)
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: bound))
        let written = bytes.withUnsafeMutableBufferPointer { buffer in
            var out = JSONObjectWriter(UnsafeMutableBufferPointer(rebasing: buffer[start...]))
            out.line(e)
            return out.count
        }
        bytes.removeLast(bound - written)
    }

    /// At least the bytes `e`'s line takes: the fixed part (keys, numbers, literals: under 1 KiB) and
    /// every string at 6 bytes a byte (`\u00XX`), with its quotes.
    private static func longestLine(_ e: HTTPExchange) -> Int {
        var strings = 0
        if let request = e.request {
            strings += request.method.utf8.count + request.rawPath.utf8.count + (request.query?.utf8.count ?? 0)
                + (request.storedTarget?.utf8.count ?? 0) + request.path.utf8.count + (request.host?.utf8.count ?? 0)
        }
        if e.client.address.isIPv6 || e.server.address.isIPv6 {
            strings += e.client.description.utf8.count + e.server.description.utf8.count
        }
        return 1024 + 6 * strings
    }

    /// Seconds with 9 decimals (`-1.500000000`).
    static func fixedNine(_ nanoseconds: Int64) -> String {
        withWriter(room: 64) { $0.fixedNine(nanoseconds) }
    }

    /// The request's target as `quoted` gives it (made from its parts when it is not kept whole).
    static func quotedTarget(_ request: HTTPRequestSummary) -> String {
        let room = 8 + 6 * (request.rawPath.utf8.count + (request.query?.utf8.count ?? 0) + (request.storedTarget?.utf8.count ?? 0))
        return withWriter(room: room) { $0.target(request) }
    }

    /// `text` as a JSON string (RFC 8259 §7): quotes, backslash and control characters escaped; other
    /// characters, non-ASCII included, written as UTF-8.
    public static func quoted(_ text: String) -> String {
        withWriter(room: 8 + 6 * text.utf8.count) { $0.string(text) }
    }

    /// What `write` writes into `room` bytes, as a String.
    private static func withWriter(room: Int, _ write: (inout JSONObjectWriter) -> Void) -> String {
        String(unsafeUninitializedCapacity: room) { buffer in
            var out = JSONObjectWriter(buffer)
            write(&out)
            return out.count
        }
    }
}

/// Writes `"key":value` pairs of one JSON object as UTF-8 bytes into room its caller made: every
/// write checks that it fits (a line longer than its bound is a bug, and stops the process rather
/// than write past the room).
private struct JSONObjectWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private let end: Int
    /// Bytes written.
    private(set) var count = 0

    init(_ room: UnsafeMutableBufferPointer<UInt8>) {
        base = room.baseAddress ?? UnsafeMutablePointer(bitPattern: 1)!  // an empty buffer is never written to
        end = room.count
    }

    @inline(__always)
    private mutating func put(_ byte: UInt8) {
        precondition(count < end, "exchange log line longer than its bound")
        base[count] = byte
        count &+= 1
    }

    @inline(__always)
    private mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        precondition(bytes.count <= end &- count, "exchange log line longer than its bound")
        if let source = bytes.baseAddress { (base + count).update(from: source, count: bytes.count) }
        count &+= bytes.count
    }

    /// The whole line of `e`, from `{` to `}` (each key written with its punctuation in one copy).
    mutating func line(_ e: HTTPExchange) {
        literal(#"{"ts":"#)
        seconds(e.requestFirstByte ?? e.responseFirstByte)
        literal(#","connection":"#)
        digits(e.connection.id, minimumCount: 1)
        literal(#","client":"#)
        endpoint(e.client)
        literal(#","server":"#)
        endpoint(e.server)
        literal(#","method":"#)
        string(e.request?.method)
        literal(#","target":"#)
        if let request = e.request { target(request) } else { null() }
        literal(#","path":"#)
        string(e.request?.path)
        literal(#","host":"#)
        string(e.request?.host)
        literal(#","status":"#)
        integer(e.response.map { Int64($0.status) })
        literal(#","request_body_bytes":"#)
        integer(e.request.map { Int64($0.bodyLength) })
        literal(#","response_body_bytes":"#)
        integer(e.response.map { Int64($0.bodyLength) })
        literal(#","request_first_byte":"#)
        seconds(e.requestFirstByte)
        literal(#","request_last_byte":"#)
        seconds(e.requestLastByte)
        literal(#","response_first_byte":"#)
        seconds(e.responseFirstByte)
        literal(#","response_last_byte":"#)
        seconds(e.responseLastByte)
        literal(#","server_time_s":"#)
        interval(from: e.requestLastByte, to: e.responseFirstByte)
        literal(#","total_time_s":"#)
        interval(from: e.callStart, to: e.responseLastByte)
        literal(#","completeness":"#)
        string(e.completeness.rawValue)
        literal(#","saw_gap":"#)
        literal(e.sawGap ? "true" : "false")
        literal(#","first_on_connection":"#)
        literal(e.isFirstOnConnection ? "true" : "false")
        put(UInt8(ascii: "}"))
    }

    mutating func literal(_ text: StaticString) {
        text.withUTF8Buffer { put($0) }
    }

    mutating func null() { literal("null") }

    mutating func integer(_ value: Int64?) {
        guard let value else { return null() }
        if value < 0 { put(UInt8(ascii: "-")) }
        digits(value.magnitude, minimumCount: 1)
    }

    /// The decimal digits of `value`, zero-padded to `minimumCount`, written in place from the last,
    /// two at a time.
    mutating func digits(_ value: UInt64, minimumCount: Int) {
        var length = 1
        var limit: UInt64 = 10
        while length < 20 && value >= limit {
            length &+= 1
            limit = length < 20 ? limit &* 10 : limit
        }
        length = Swift.max(length, minimumCount)
        precondition(length <= end &- count, "exchange log line longer than its bound")
        var v = value
        var i = count &+ length
        Self.pairs.withUnsafeBufferPointer { pairs in
            while i &- count >= 2 {
                let pair = Int(truncatingIfNeeded: v % 100) &* 2
                v /= 100
                i &-= 2
                base[i] = pairs[pair]
                base[i &+ 1] = pairs[pair &+ 1]
            }
            if i > count {
                i &-= 1
                base[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v % 10)
            }
        }
        count &+= length
    }

    /// "00" to "99", 200 bytes.
    private static let pairs: [UInt8] = (0..<100).flatMap { [UInt8(ascii: "0") &+ UInt8($0 / 10), UInt8(ascii: "0") &+ UInt8($0 % 10)] }

    mutating func fixedNine(_ nanoseconds: Int64) {
        if nanoseconds < 0 { put(UInt8(ascii: "-")) }
        let magnitude = nanoseconds.magnitude
        digits(magnitude / 1_000_000_000, minimumCount: 1)
        put(UInt8(ascii: "."))
        digits(magnitude % 1_000_000_000, minimumCount: 9)
    }

    /// Epoch seconds with 9 decimals, or `null`.
    mutating func seconds(_ time: Timestamp?) {
        guard let time else { return null() }
        fixedNine(time.nanoseconds)
    }

    /// `end − start` in seconds with 9 decimals, or `null` when either is unknown.
    mutating func interval(from start: Timestamp?, to end: Timestamp?) {
        guard let start, let end else { return null() }
        fixedNine(end - start)
    }

    /// `address:port`, an IPv4 address written digit by digit; `[v6]:port` as `Endpoint` describes it.
    mutating func endpoint(_ endpoint: Endpoint) {
        guard !endpoint.address.isIPv6 else { return string(endpoint.description) }
        let v4 = UInt32(truncatingIfNeeded: endpoint.address.low)
        put(UInt8(ascii: "\""))
        digits(UInt64(v4 >> 24), minimumCount: 1)
        put(UInt8(ascii: "."))
        digits(UInt64(v4 >> 16 & 0xFF), minimumCount: 1)
        put(UInt8(ascii: "."))
        digits(UInt64(v4 >> 8 & 0xFF), minimumCount: 1)
        put(UInt8(ascii: "."))
        digits(UInt64(v4 & 0xFF), minimumCount: 1)
        put(UInt8(ascii: ":"))
        digits(UInt64(endpoint.port), minimumCount: 1)
        put(UInt8(ascii: "\""))
    }

    /// A JSON string, or `null`.
    mutating func string(_ text: String?) {
        guard var text else { return null() }
        put(UInt8(ascii: "\""))
        escape(&text)
        put(UInt8(ascii: "\""))
    }

    /// The request's target as a JSON string. An origin-form target is kept as its raw path and
    /// query: quoted part by part, the whole target's String is not made.
    mutating func target(_ request: HTTPRequestSummary) {
        if case .none = request.storedTarget, let query = request.query {
            quotedParts(request.rawPath, query)
        } else {
            string(request.target)
        }
    }

    /// `first?second` as one JSON string.
    mutating func quotedParts(_ first: String, _ second: String) {
        var first = first
        var second = second
        put(UInt8(ascii: "\""))
        escape(&first)
        put(UInt8(ascii: "?"))
        escape(&second)
        put(UInt8(ascii: "\""))
    }

    /// `text`'s UTF-8 bytes with JSON's escapes: `"` `\` and the control characters (U+0000–U+001F,
    /// U+007F). Every byte of a multi-byte UTF-8 sequence is 0x80 or more, so bytes are looked at
    /// one at a time, and runs of plain bytes are copied whole.
    mutating func escape(_ text: inout String) {
        text.withUTF8 { utf8 in
            var plainStart = 0
            for i in utf8.indices {
                let byte = utf8[i]
                guard byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else {
                    continue
                }
                put(UnsafeBufferPointer(rebasing: utf8[plainStart..<i]))
                plainStart = i + 1
                put(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): put(byte)
                case 0x0A: put(UInt8(ascii: "n"))
                case 0x0D: put(UInt8(ascii: "r"))
                case 0x09: put(UInt8(ascii: "t"))
                case 0x08: put(UInt8(ascii: "b"))
                case 0x0C: put(UInt8(ascii: "f"))
                default:
                    let hex: StaticString = "0123456789abcdef"
                    put(UInt8(ascii: "u"))
                    put(UInt8(ascii: "0"))
                    put(UInt8(ascii: "0"))
                    hex.withUTF8Buffer { digits in
                        put(digits[Int(byte >> 4)])
                        put(digits[Int(byte & 0xF)])
                    }
                }
            }
            put(UnsafeBufferPointer(rebasing: utf8[plainStart...]))
        }
    }
}
