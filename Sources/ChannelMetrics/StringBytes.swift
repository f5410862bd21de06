// Byte-level facts about label texts, read in place.

extension String {
    /// True when every UTF-8 byte is ASCII; over the bytes in place (iterating the UTF-8
    /// view decodes a small string byte by byte).
    var utf8IsASCII: Bool {
        utf8.withContiguousStorageIfAvailable { bytes in bytes.allSatisfy { $0 < 0x80 } } ?? utf8.allSatisfy { $0 < 0x80 }
    }
}
