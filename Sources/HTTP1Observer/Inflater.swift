/// Bounded gzip / zlib / raw-deflate inflation of a response body prefix (RFC 1952, RFC 1950, RFC 1951).
private import CZlib

/// Inflates a body fed in pieces into at most `limit` bytes, then stops reading.
///
/// The format is chosen from the first two bytes: a gzip or zlib header →
/// `inflateInit2(15 + 32)` (zlib's automatic header detection); anything
/// else → raw deflate (`-15`), which is what some servers send for
/// `Content-Encoding: deflate`.
final class Inflater {
    enum Status {
        case inflating
        /// The compressed stream ended (Z_STREAM_END).
        case finished
        /// `limit` inflated bytes were produced; the rest is not inflated.
        case limitReached
        case failed
    }

    private(set) var status = Status.inflating
    private(set) var output: [UInt8] = []
    /// Compressed bytes handed to zlib.
    private(set) var consumed = 0
    private let limit: Int
    private var stream: UnsafeMutablePointer<z_stream>?
    /// The first byte, held until the second decides the format.
    private var firstByte: UInt8?

    init(limit: Int) {
        self.limit = limit
    }

    deinit {
        if let stream {
            inflateEnd(stream)
            stream.deallocate()
        }
    }

    func feed(_ input: UnsafeRawBufferPointer) {
        guard status == .inflating, !input.isEmpty else { return }
        if stream == nil {
            if let first = firstByte {
                start(first, input[0])
                guard status == .inflating else { return }
                withUnsafeBytes(of: first) { inflate($0) }
            } else if input.count == 1 {
                firstByte = input[0]
                return
            } else {
                start(input[0], input[1])
            }
            guard status == .inflating else { return }
        }
        inflate(input)
    }

    private func start(_ b0: UInt8, _ b1: UInt8) {
        let isGzip = b0 == 0x1F && b1 == 0x8B
        let isZlib = b0 & 0x0F == 8 && (UInt16(b0) << 8 | UInt16(b1)) % 31 == 0
        let windowBits: Int32 = isGzip || isZlib ? 15 + 32 : -15
        let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        z.initialize(to: z_stream())
        let result = inflateInit2_(z, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard result == Z_OK else {
            z.deallocate()
            status = .failed
            return
        }
        stream = z
    }

    private func inflate(_ input: UnsafeRawBufferPointer) {
        guard let z = stream, let base = input.baseAddress else { return }
        z.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        z.pointee.avail_in = uInt(input.count)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { scratch in
            while status == .inflating && z.pointee.avail_in > 0 {
                let room = min(scratch.count, limit - output.count)
                z.pointee.next_out = scratch.baseAddress
                z.pointee.avail_out = uInt(room)
                let before = z.pointee.avail_in
                let result = CZlib.inflate(z, Z_NO_FLUSH)
                consumed += Int(before - z.pointee.avail_in)
                let produced = room - Int(z.pointee.avail_out)
                output.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[0..<produced]))
                switch result {
                case Z_STREAM_END: status = .finished
                case Z_OK, Z_BUF_ERROR:
                    if output.count >= limit {
                        status = .limitReached
                    } else if produced == 0 && before == z.pointee.avail_in {
                        // No progress with input and room left: zlib wants nothing more from this input.
                        return
                    }
                default: status = .failed
                }
            }
        }
        z.pointee.next_in = nil
        z.pointee.avail_in = 0
    }
}
