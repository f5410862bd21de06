/// The exchange log: one JSON object per line per exchange, the incident-review view (like Zeek's http.log, with latency).
import PacketDecoding

/// Writes exchanges as JSON Lines without Foundation.
///
/// Keys: `ts` (request's first byte, else the response's, epoch seconds with
/// ns), `connection`, `client`, `server` (`address:port`), `method`,
/// `target`, `path`, `host`, `status`, `request_body_bytes`,
/// `response_body_bytes`, the four byte times, `server_time_s` (response's
/// first byte − request's last byte), `total_time_s` (response's last byte −
/// the SYN when this was the connection's first request and the SYN was
/// seen, else − the request's first byte), `completeness`, `saw_gap`,
/// `first_on_connection`. Unknown values are `null`.
public enum ExchangeLog {
    public static func jsonLine(_ e: HTTPExchange) -> String {
        var out = JSONObjectWriter()
        out.raw("ts", seconds(e.requestFirstByte ?? e.responseFirstByte))
        out.raw("connection", String(e.connection.id))
        out.string("client", e.client.description)
        out.string("server", e.server.description)
        out.string("method", e.request?.method)
        // An origin-form target is kept as its raw path and query: quoted part by part (each character
        // is escaped alone), the whole target's String is not made.
        out.raw("target", e.request.map { quotedTarget($0) } ?? "null")
        out.string("path", e.request?.path)
        out.string("host", e.request?.host)
        out.raw("status", e.response.map { String($0.status) } ?? "null")
        out.raw("request_body_bytes", e.request.map { String($0.bodyLength) } ?? "null")
        out.raw("response_body_bytes", e.response.map { String($0.bodyLength) } ?? "null")
        out.raw("request_first_byte", seconds(e.requestFirstByte))
        out.raw("request_last_byte", seconds(e.requestLastByte))
        out.raw("response_first_byte", seconds(e.responseFirstByte))
        out.raw("response_last_byte", seconds(e.responseLastByte))
        out.raw("server_time_s", interval(from: e.requestLastByte, to: e.responseFirstByte))
        let callStart = e.isFirstOnConnection && e.connection.synTime != nil ? e.connection.synTime : e.requestFirstByte
        out.raw("total_time_s", interval(from: callStart, to: e.responseLastByte))
        out.string("completeness", e.completeness.rawValue)
        out.raw("saw_gap", e.sawGap ? "true" : "false")
        out.raw("first_on_connection", e.isFirstOnConnection ? "true" : "false")
        return out.finish()
    }

    /// Epoch seconds with 9 decimals, or `null`.
    static func seconds(_ time: Timestamp?) -> String {
        guard let time else { return "null" }
        return fixedNine(time.nanoseconds)
    }

    /// `end − start` in seconds with 9 decimals, or `null` when either is unknown.
    static func interval(from start: Timestamp?, to end: Timestamp?) -> String {
        guard let start, let end else { return "null" }
        return fixedNine(end - start)
    }

    static func fixedNine(_ nanoseconds: Int64) -> String {
        let negative = nanoseconds < 0
        let magnitude = nanoseconds.magnitude
        let whole = String(magnitude / 1_000_000_000)
        let fraction = String(magnitude % 1_000_000_000)
        return (negative ? "-" : "") + whole + "." + String(repeating: "0", count: 9 - fraction.count) + fraction
    }

    /// `text` as a JSON string (RFC 8259 §7): quotes, backslash and control characters escaped; other
    /// characters, non-ASCII included, written as UTF-8.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        appendEscaped(text, to: &out)
        out += "\""
        return out
    }

    /// The request's target as `quoted` gives it, made from its parts when it is not kept whole.
    static func quotedTarget(_ request: HTTPRequestSummary) -> String {
        guard case .none = request.storedTarget, let query = request.query else { return quoted(request.target) }
        var out = "\""
        out.reserveCapacity(request.rawPath.utf8.count + query.utf8.count + 3)
        appendEscaped(request.rawPath, to: &out)
        out += "?"
        appendEscaped(query, to: &out)
        out += "\""
        return out
    }

    /// `text`'s characters escaped for a JSON string, appended to `out`.
    private static func appendEscaped(_ text: String, to out: inout String) {
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
    }
}

/// Appends `"key":value` pairs into one JSON object.
private struct JSONObjectWriter {
    private var text = "{"
    private var first = true

    mutating func raw(_ key: String, _ value: String) {
        if !first { text += "," }
        first = false
        text += "\"" + key + "\":" + value
    }

    mutating func string(_ key: String, _ value: String?) {
        raw(key, value.map(ExchangeLog.quoted) ?? "null")
    }

    mutating func finish() -> String { text + "}" }
}
