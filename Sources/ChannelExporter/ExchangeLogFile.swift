#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HTTP1Observer

/// Writes one JSON line per HTTP exchange (`--exchanges FILE`): the
/// incident-review view Zeek's http.log gives, with latencies.
public final class ExchangeLogFile: HTTPExchangeSink {
    private let file: UnsafeMutablePointer<FILE>
    private let path: String
    public private(set) var linesWritten = 0
    /// The line being written, its storage kept from line to line.
    private var line: [UInt8] = []

    /// Opens (truncates) `path`; `-` means standard output.
    public init(path: String) throws(ExporterError) {
        self.path = path
        if path == "-" {
            guard let handle = fdopen(STDOUT_FILENO, "w") else { throw ExporterError("cannot write to standard output") }
            file = handle
        } else {
            guard let handle = fopen(path, "w") else {
                throw ExporterError("cannot write exchange log \(path): \(String(cString: strerror(errno)))")
            }
            file = handle
        }
    }

    public func observe(_ exchange: HTTPExchange) {
        line.removeAll(keepingCapacity: true)
        ExchangeLog.append(exchange, to: &line)
        line.append(UInt8(ascii: "\n"))
        _ = line.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        linesWritten += 1
    }

    /// The log holds body sizes, not bodies: a lent body is not copied.
    public func observe(_ exchange: HTTPExchange, responseBody: UnsafeRawBufferPointer) {
        observe(exchange)
    }

    public func close() {
        fflush(file)
        if path != "-" { fclose(file) }
    }
}

/// A one-line, user-facing error (no stack trace).
public struct ExporterError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
