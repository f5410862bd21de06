/// Reuses the String of a header value that repeats (Host, User-Agent, Content-Type...), so keep-alive traffic does not build it again.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The last ASCII value seen for each cached field, shared by the connections of one `HTTPObserver`
/// (one pipeline, one thread). Bounded: one string per field, at most `maxLength` bytes each.
final class HeaderValueCache {
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
