/// State the parsers of one HTTPObserver share: repeated header value strings, and the head just parsed.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Shared by the connections of one `HTTPObserver` (one pipeline, one thread), so that an idle
/// connection keeps none of it.
///
/// - The last ASCII value seen for each cached field (Host, User-Agent, Content-Type...): keep-alive
///   traffic repeats them, and the String is reused instead of built again. Bounded: one string per
///   field, at most `maxLength` bytes each.
/// - The head a parser just read, handed to its connection observer right away (`.head` event).
final class SharedParserState {
    /// The head of the last `.head` event; taken at once by the connection observer.
    @exclusivity(unchecked) var parsedHead: MessageHead?

    enum Slot: Int, CaseIterable {
        case host, userAgent, methodCode, tCode, requestContentType, responseContentType, contentEncoding
    }

    private static let maxLength = 256
    @exclusivity(unchecked) private var values = [String?](repeating: nil, count: Slot.allCases.count)

    /// The value of `bytes` read as ISO-8859-1, reusing the previous String of `slot` when the bytes are the same.
    func string(_ bytes: UnsafeRawBufferPointer, slot: Slot) -> String {
        if let cached = values[slot.rawValue] {
            let same = cached.utf8.withContiguousStorageIfAvailable { stored in
                stored.count == bytes.count
                    && (bytes.isEmpty || memcmp(stored.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
            }
            if same == true { return cached }
        }
        let value = bytes.latin1String()
        if bytes.count <= Self.maxLength && value.utf8.count == bytes.count {
            values[slot.rawValue] = value
        }
        return value
    }
}
