/// An unnamed temporary file: written through stdio, then read back mapped.
#if canImport(Glibc)
import Glibc
#endif

/// A file in `$TMPDIR` (else /tmp), unlinked as soon as it is made: nothing is left behind, whatever
/// ends the process. A sharded replay's workers write their exchange log lines and their connections'
/// openings to such files (a million exchanges are 300 MB of lines: not for memory), and the merge
/// reads them mapped.
final class ShardTempFile {
    private let file: UnsafeMutablePointer<FILE>
    private var mapped: UnsafeMutableRawPointer?
    private var mappedCount = 0
    /// The first write that failed (errno): the file is then incomplete.
    private(set) var writeError: Int32 = 0

    init() throws(ExporterError) {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array((directory + "/channel-exporter-shard.XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw ExporterError("cannot make a temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        guard let file = fdopen(descriptor, "w+") else {
            close(descriptor)
            throw ExporterError("cannot make a temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        // A megabyte at a time: a million lines in 300 writes rather than 75,000.
        setvbuf(file, nil, _IOFBF, 1 << 20)
        self.file = file
    }

    deinit {
        if let mapped { munmap(mapped, mappedCount) }
        fclose(file)
    }

    @inline(__always)
    func write(_ bytes: UnsafeRawPointer, count: Int) {
        if fwrite(bytes, 1, count, file) != count && writeError == 0 { writeError = errno == 0 ? EIO : errno }
    }

    func write<T: BitwiseCopyable>(value: T) {
        withUnsafeBytes(of: value) { write($0.baseAddress!, count: $0.count) }
    }

    /// Lets the pages before `offset` of the mapping go (read once, in order: the merge's resident
    /// memory stays that of the pages being read, whatever the file's size).
    func release(upTo offset: Int) {
        guard let mapped else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let end = offset / page * page
        guard end > releasedUpTo else { return }
        madvise(mapped + releasedUpTo, end - releasedUpTo, MADV_DONTNEED)
        releasedUpTo = end
    }
    private var releasedUpTo = 0

    /// Everything written, mapped for reading (after the last write).
    func contents() throws(ExporterError) -> UnsafeRawBufferPointer {
        if fflush(file) != 0 && writeError == 0 { writeError = errno }
        guard writeError == 0 else {
            throw ExporterError("cannot write a temporary file: \(String(cString: strerror(writeError)))")
        }
        if let mapped { return UnsafeRawBufferPointer(start: mapped, count: mappedCount) }
        let count = Int(ftello(file))
        guard count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        guard let address = mmap(nil, count, PROT_READ, MAP_PRIVATE, fileno(file), 0), address != MAP_FAILED else {
            throw ExporterError("cannot read a temporary file back: \(String(cString: strerror(errno)))")
        }
        madvise(address, count, MADV_SEQUENTIAL)
        mapped = address
        mappedCount = count
        return UnsafeRawBufferPointer(start: address, count: count)
    }
}
