// AMQPByteReader.swift — reads AMQP 0-9-1 field types (§4.2.5) from borrowed bytes; nil when too short.

/// A cursor over a method frame's arguments. Integers are big-endian (§4.2.5.1);
/// strings are returned as borrowed slices, valid as long as the bytes are.
struct AMQPByteReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func readOctet() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readShort() -> UInt16? {
        guard bytes.count - offset >= 2 else { return nil }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func readLong() -> UInt32? {
        guard bytes.count - offset >= 4 else { return nil }
        var value: UInt32 = 0
        for i in 0..<4 { value = value << 8 | UInt32(bytes[offset + i]) }
        offset += 4
        return value
    }

    mutating func readLongLong() -> UInt64? {
        guard bytes.count - offset >= 8 else { return nil }
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return value
    }

    /// shortstr: one length octet, then up to 255 octets (§4.2.5.3).
    mutating func readShortString() -> UnsafeRawBufferPointer? {
        guard let length = readOctet().map(Int.init), bytes.count - offset >= length else { return nil }
        defer { offset += length }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
    }
}

extension UnsafeRawBufferPointer {
    /// The bytes as a String (UTF-8, invalid sequences repaired).
    var utf8String: String { String(decoding: self, as: UTF8.self) }
}
