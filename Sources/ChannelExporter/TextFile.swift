#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a whole text (an exposition) to a file: `replay --output`.
public enum TextFile {
    /// Writes every UTF-8 byte of `text` to `path`, replacing the file. By length, not as a C
    /// string: a label value may hold NUL (a path with `%00`), where `fputs` stopped.
    public static func write(_ text: String, to path: String) throws {
        guard let file = fopen(path, "w") else {
            throw ExporterError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        var text = text
        let written = text.withUTF8 { fwrite($0.baseAddress, 1, $0.count, file) }
        var error: Int32 = written == text.utf8.count ? 0 : errno
        let flushed = fflush(file) == 0
        if !flushed && error == 0 { error = errno }
        // (On a full disk or quota the error may come only now, when the last block is written.)
        let closed = fclose(file) == 0
        if !closed && error == 0 { error = errno }
        guard written == text.utf8.count, flushed, closed else {
            throw ExporterError("cannot write \(path): \(String(cString: strerror(error == 0 ? EIO : error)))")
        }
    }
}
