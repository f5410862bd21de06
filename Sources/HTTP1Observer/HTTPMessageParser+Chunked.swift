/// Chunked transfer coding (RFC 9112 §7.1): chunk-size lines with extensions, and the trailer section.
import PacketDecoding

/// The state of a chunk-size line read so far.
struct ChunkSizeLine {
    var value = 0
    var digits = 0
    var inExtension = false
    var sawCR = false
    var lineBytes = 0
}

extension HTTPMessageParser {
    /// Reads a chunk-size line (`1*HEXDIG [ chunk-ext ] CRLF`); nil when more bytes are needed or the line ended.
    mutating func scanChunkSize(
        _ line: ChunkSizeLine, _ bytes: UnsafeRawBufferPointer, index: inout Int, time: Timestamp
    ) -> Event? {
        var line = line
        messageLastByte = time
        while index < bytes.count {
            let b = bytes[index]
            index += 1
            line.lineBytes += 1
            if b == 0x0A {
                guard line.digits > 0 else {
                    loseSync(atLineStart: true)
                    return .lost(.badChunkSize)
                }
                state = line.value == 0 ? .trailers(lineBytes: 0, lastWasCR: false, total: 0) : .chunkData(remaining: line.value)
                return line.sawCR ? nil : .anomaly(.bareLF)
            }
            if line.sawCR {
                loseSync(atLineStart: false)
                return .lost(.badChunkSize)
            }
            if b == 0x0D {
                line.sawCR = true
            } else if line.inExtension {
                // chunk-ext (RFC 9112 §7.1.1) is skipped, within the head limit.
                if line.lineBytes > maxHeaderBytes {
                    loseSync(atLineStart: false)
                    return .lost(.badChunkSize)
                }
            } else if let digit = Self.hexValue(b) {
                line.digits += 1
                // More than 15 hex digits cannot be a real length (and would overflow).
                guard line.digits <= 15 else {
                    loseSync(atLineStart: false)
                    return .lost(.badChunkSize)
                }
                line.value = line.value << 4 | digit
            } else if (b == 0x3B || b == 0x20 || b == 0x09) && line.digits > 0 {
                line.inExtension = true
            } else {
                loseSync(atLineStart: false)
                return .lost(.badChunkSize)
            }
        }
        state = .chunkSize(line)
        return nil
    }

    /// Skips the trailer section (RFC 9112 §7.1.2) up to its empty line, bounded like a head;
    /// nil when more bytes are needed.
    mutating func scanTrailers(
        lineBytes: Int, lastWasCR: Bool, total: Int, _ bytes: UnsafeRawBufferPointer, index: inout Int, time: Timestamp
    ) -> Event? {
        var lineBytes = lineBytes
        var lastWasCR = lastWasCR
        var total = total
        messageLastByte = time
        while true {
            guard let lf = bytes.firstIndex(of: 0x0A, from: index) else {
                let n = bytes.count - index
                lineBytes += n
                total += n
                if n > 0 { lastWasCR = bytes[bytes.count - 1] == 0x0D }
                index = bytes.count
                if total > maxHeaderBytes {
                    loseSync(atLineStart: false)
                    return .lost(.headerTooLarge)
                }
                state = .trailers(lineBytes: lineBytes, lastWasCR: lastWasCR, total: total)
                return nil
            }
            let n = lf - index
            let crBeforeLF = n > 0 ? bytes[lf - 1] == 0x0D : lastWasCR
            let lineLength = lineBytes + n
            total += n + 1
            index = lf + 1
            if lineLength == 0 || (lineLength == 1 && crBeforeLF) {
                endMessage()
                return .complete
            }
            if total > maxHeaderBytes {
                loseSync(atLineStart: false)
                return .lost(.headerTooLarge)
            }
            lineBytes = 0
            lastWasCR = false
        }
    }

    /// The value of a hexadecimal digit (chunk sizes), nil for any other byte.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: return Int(b - 0x30)
        case 0x41...0x46: return Int(b - 0x41 + 10)
        case 0x61...0x66: return Int(b - 0x61 + 10)
        default: return nil
        }
    }
}
