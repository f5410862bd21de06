private import CZlib

/// gzip (RFC 1952) of an answer's body, with zlib, for `Content-Encoding: gzip`.
public enum GzipBody {
    /// zlib's level for scrapes, chosen with `bench exposition` (Benchmarks/README.md): on 1,882 inbound series
    /// (6.23 MB rendered in 20.5 ms), level 1 gives 220 KB (3.5 %) in about 11 ms more; 3, 211 KB in 12 ms; 6 (zlib's
    /// and Go's default), 190 KB in 30 ms; 9, 160 KB in 56 ms. Past level 1, 4 to 27 % off bytes that are already a
    /// thirtieth of the text cost 1.1 to 5 times the compression time, on the one event loop that answers
    /// every scraper.
    public static let defaultLevel: Int32 = 1

    /// Compresses `pieces` one after the other into `sink`, each piece emptied once compressed (so a large
    /// exposition is not held twice over), and returns whether zlib could start (it needs about 256 KiB;
    /// false: nothing was compressed and `pieces` are untouched).
    ///
    /// `sink` gets the compressed bytes in chunks of at most 64 KiB; they are valid only during the call.
    public static func compress(
        _ pieces: inout [String], level: Int32 = defaultLevel, to sink: (UnsafeRawBufferPointer) -> Void
    ) -> Bool {
        // On the heap: zlib's state points back at the stream, which must not move between calls.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        // 15 + 16: a 32 KiB window with the gzip header and trailer; memory level 8 as zlib's default.
        guard deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { return false }
        defer { deflateEnd(stream) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64 << 10) { scratch in
            /// Deflates what `stream` holds as input until it is consumed (and, when finishing, the trailer written).
            func drain(_ flush: Int32) {
                var result: Int32
                repeat {
                    stream.pointee.next_out = scratch.baseAddress
                    stream.pointee.avail_out = uInt(scratch.count)
                    result = deflate(stream, flush)
                    // Z_STREAM_ERROR only for a stream zlib did not set up; Z_BUF_ERROR (no progress) cannot
                    // happen with room to write.
                    precondition(result == Z_OK || result == Z_STREAM_END, "deflate returned \(result)")
                    let produced = scratch.count - Int(stream.pointee.avail_out)
                    if produced > 0 { sink(UnsafeRawBufferPointer(start: scratch.baseAddress, count: produced)) }
                    // Input left only when the output was full; finishing goes on to the trailer.
                } while flush == Z_FINISH ? result != Z_STREAM_END : stream.pointee.avail_out == 0
            }
            for i in pieces.indices {
                pieces[i].withUTF8 { text in
                    // zlib counts input in 32 bits: a piece (any size `ExpositionWriter.append` took whole) goes in
                    // slices of 1 GiB.
                    var offset = 0
                    while offset < text.count {
                        let count = min(text.count - offset, 1 << 30)
                        stream.pointee.next_in = UnsafeMutablePointer(mutating: text.baseAddress! + offset)
                        stream.pointee.avail_in = uInt(count)
                        drain(Z_NO_FLUSH)
                        offset += count
                    }
                }
                pieces[i] = ""
            }
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
            drain(Z_FINISH)
        }
        return true
    }
}
