#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HTTP1Observer

/// Writes one JSON line per HTTP exchange (`--exchanges FILE`): the
/// incident-review view Zeek's http.log gives, with latencies.
public final class ExchangeLogFile: HTTPExchangeSink {
    /// Changed only by `reopen`, on the thread that writes.
    private var file: UnsafeMutablePointer<FILE>
    private let path: String
    public private(set) var linesWritten = 0
    /// The first write that failed (a full disk, a closed pipe): the lines after it are dropped,
    /// reported once on standard error when it happens, and by `close()`.
    public private(set) var writeError: String?
    /// Lines not written because of it.
    public private(set) var linesDropped = 0
    /// The line being written, its storage kept from line to line.
    private var line: [UInt8] = []

    /// Opens (truncates) `path`; `-` means standard output.
    public init(path: String) throws(ExporterError) {
        self.path = path
        if path == "-" {
            guard let handle = fdopen(STDOUT_FILENO, "w") else { throw ExporterError("cannot write to standard output") }
            file = handle
        } else {
            file = try openAppending(path, truncating: true)
        }
    }

    /// Goes on in a file opened anew at `path` (appended to, created when gone): after logrotate
    /// moved the log away, the lines go to a new file instead of following the old one. On failure
    /// the old file is kept and the error thrown. Standard output is left as it is.
    public func reopen() throws(ExporterError) {
        guard path != "-" else { return }
        let next = try openAppending(path, truncating: false)
        if fflush(file) != 0 { failed(errno) }
        fclose(file)
        file = next
    }

    public func observe(_ exchange: HTTPExchange) {
        guard writeError == nil else {
            linesDropped += 1
            return
        }
        line.removeAll(keepingCapacity: true)
        ExchangeLog.append(exchange, to: &line)
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeBytes { write(line: $0) }
    }

    /// Writes one whole line, its newline included (also a sharded replay's lines, merged: `ShardLogMerge`).
    func write(line: UnsafeRawBufferPointer) {
        guard writeError == nil else {
            linesDropped += 1
            return
        }
        let written = fwrite(line.baseAddress, 1, line.count, file)
        guard written == line.count else {
            failed(errno)
            linesDropped += 1
            return
        }
        linesWritten += 1
    }

    private func failed(_ code: Int32) {
        guard writeError == nil else { return }
        writeError = String(cString: strerror(code))
        printError("exchange log \(path): \(writeError!); the lines after the \(linesWritten)th are dropped")
    }

    /// The log holds body sizes, not bodies: a lent body is not copied.
    public func observe(_ exchange: HTTPExchange, responseBody: UnsafeRawBufferPointer) {
        observe(exchange)
    }

    /// Hands the lines written so far to the system. Live, the runner calls it about once a second:
    /// a file is buffered 4 KiB at a time, so a quiet service's last exchanges otherwise stayed out
    /// of the file (and out of `tail -f`) until more came or the exporter stopped.
    public func flush() {
        guard writeError == nil else { return }
        if fflush(file) != 0 { failed(errno) }
    }

    /// Flushes and closes the log; a one-line error when a line could not be written (then or before).
    public func close() throws(ExporterError) {
        if fflush(file) != 0 { failed(errno) }
        if path != "-" && fclose(file) != 0 { failed(errno) }
        if let writeError {
            throw ExporterError(
                "cannot write exchange log \(path): \(writeError) (\(linesDropped) of \(linesWritten + linesDropped) lines not written)")
        }
    }
}

/// Opens `path` in append mode: when logrotate's `copytruncate` empties the file, the next line goes
/// to its start (written at a kept offset, it left a hole of zeros as long as the old content).
private func openAppending(_ path: String, truncating: Bool) throws(ExporterError) -> UnsafeMutablePointer<FILE> {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncating ? O_TRUNC : 0), 0o644)
    guard descriptor >= 0, let handle = fdopen(descriptor, "a") else {
        let reason = String(cString: strerror(errno))
        if descriptor >= 0 { close(descriptor) }
        throw ExporterError("cannot write exchange log \(path): \(reason)")
    }
    return handle
}

/// A one-line, user-facing error (no stack trace).
public struct ExporterError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
