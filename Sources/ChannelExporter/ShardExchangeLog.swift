/// The exchange log of a sharded replay: each worker's lines to a file of its own, tagged with
/// where one pipeline would have written them, then merged into the log in that order.
import HTTP1Observer
import TCPReassembly

/// One worker's exchange log: each line with its `EventOrderKey` (which comes in increasing order)
/// and where its connection id is, to a temporary file; and the connections the worker opened,
/// by opening ordinal (increasing too), to another, from which the merge renumbers connections.
final class ShardLogWriter: HTTPExchangeSink {
    let lines: ShardTempFile
    let openings: ShardTempFile
    private let order: EventOrder
    /// The line being written, its storage kept from line to line.
    private var line: [UInt8] = []

    init(order: EventOrder) throws(ExporterError) {
        self.order = order
        lines = try ShardTempFile()
        openings = try ShardTempFile()
    }

    /// A connection opened by the segment `ordinal` (its id while sharded).
    func opened(_ ordinal: UInt64) {
        openings.write(value: ordinal)
    }

    func observe(_ exchange: HTTPExchange) {
        line.removeAll(keepingCapacity: true)
        ExchangeLog.append(exchange, to: &line)
        line.append(UInt8(ascii: "\n"))
        let key = order.next()
        let id = exchange.connection.id
        let digits = ShardLogRecord.digitsOffset(in: line)
        let record = ShardLogRecord(
            packet: key.packet, connection: key.connection, step: key.step, connectionID: id,
            phase: UInt32(key.phase.rawValue), lineCount: UInt32(line.count), digitsOffset: UInt32(digits),
            digitsCount: UInt32(ShardLogRecord.decimalDigits(id)))
        lines.write(value: record)
        line.withUnsafeBytes { lines.write($0.baseAddress!, count: $0.count) }
    }

    /// The log holds body sizes, not bodies: a lent body is not copied.
    func observe(_ exchange: HTTPExchange, responseBody: UnsafeRawBufferPointer) {
        observe(exchange)
    }
}

/// The fixed part of a line's record; the line's bytes follow it.
struct ShardLogRecord: BitwiseCopyable {
    var packet: UInt64
    var connection: UInt64
    var step: UInt64
    /// The exchange's connection id: the ordinal of the segment that opened it.
    var connectionID: UInt64
    var phase: UInt32
    var lineCount: UInt32
    /// Where the connection id's digits are in the line, and how many.
    var digitsOffset: UInt32
    var digitsCount: UInt32

    var key: EventOrderKey {
        EventOrderKey(packet: packet, phase: EventOrder.Phase(rawValue: UInt8(phase))!, connection: connection, step: step)
    }

    static let connectionField = Array(#""connection":"#.utf8)

    /// The offset of the digits after the first `"connection":` (a string value cannot hold that
    /// sequence: its quotes are escaped).
    static func digitsOffset(in line: [UInt8]) -> Int {
        let field = connectionField
        var at = 0
        while at + field.count <= line.count {
            if line[at] == field[0] && line[at..<at + field.count].elementsEqual(field) { return at + field.count }
            at += 1
        }
        preconditionFailure("exchange log line without a connection field")
    }

    static func decimalDigits(_ value: UInt64) -> Int {
        var value = value
        var count = 1
        while value >= 10 {
            value /= 10
            count += 1
        }
        return count
    }
}

/// Merges the workers' logs into `log`, in the order of their keys (a k-way merge over the mapped
/// files: memory stays that of the pages being read), each connection id renumbered to the one
/// one pipeline gives (1, 2, 3… in opening order over every worker's connections).
enum ShardLogMerge {
    static func merge(_ writers: [ShardLogWriter], into log: ExchangeLogFile) throws(ExporterError) {
        let ranks = try ConnectionRanks(openings: writers.map { w throws(ExporterError) in try w.openings.contents() })
        var cursors = [(bytes: UnsafeRawBufferPointer, offset: Int)]()
        for writer in writers { cursors.append((try writer.lines.contents(), 0)) }
        var heads: [ShardLogRecord?] = cursors.map { read($0.bytes, at: $0.offset) }
        // One write a line, as one pipeline's log makes them (the same buffering: a write that fails, a
        // full disk, fails at the same line, and the error counts the same lines).
        var line: [UInt8] = []
        while true {
            var best = -1
            for (index, head) in heads.enumerated() {
                guard let head else { continue }
                if best < 0 || head.key < heads[best]!.key { best = index }
            }
            guard best >= 0 else { break }
            let record = heads[best]!
            let start = cursors[best].offset + MemoryLayout<ShardLogRecord>.size
            let text = UnsafeRawBufferPointer(rebasing: cursors[best].bytes[start..<start + Int(record.lineCount)])
            let digitsStart = Int(record.digitsOffset)
            let digitsEnd = digitsStart + Int(record.digitsCount)
            line.removeAll(keepingCapacity: true)
            line.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[..<digitsStart]))
            appendDecimal(ranks.rank(of: record.connectionID, worker: best), to: &line)
            line.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[digitsEnd...]))
            line.withUnsafeBytes { log.write(line: $0) }
            cursors[best].offset = start + Int(record.lineCount)
            heads[best] = read(cursors[best].bytes, at: cursors[best].offset)
            if cursors[best].offset & 0xFF_FFFF < start & 0xFF_FFFF { writers[best].lines.release(upTo: start) }
        }
    }

    private static func read(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> ShardLogRecord? {
        guard offset + MemoryLayout<ShardLogRecord>.size <= bytes.count else { return nil }
        return bytes.loadUnaligned(fromByteOffset: offset, as: ShardLogRecord.self)
    }

    private static func appendDecimal(_ value: UInt64, to line: inout [UInt8]) {
        let start = line.count
        var value = value
        repeat {
            line.append(UInt8(ascii: "0") + UInt8(value % 10))
            value /= 10
        } while value > 0
        line[start...].reverse()
    }
}

/// The one-pipeline connection ids: each worker's opening ordinals (increasing), and the rank of
/// each among all workers' openings, found by merging them once.
struct ConnectionRanks {
    private let openings: [UnsafeBufferPointer<UInt64>]
    private let ranks: [UnsafeBufferPointer<UInt64>]
    /// Holds the ranks' storage.
    private let files: [ShardTempFile]

    init(openings bytes: [UnsafeRawBufferPointer]) throws(ExporterError) {
        openings = bytes.map { $0.bindMemory(to: UInt64.self) }
        var files = [ShardTempFile]()
        for _ in openings { files.append(try ShardTempFile()) }
        var positions = [Int](repeating: 0, count: openings.count)
        var rank: UInt64 = 0
        while true {
            var best = -1
            for (worker, list) in openings.enumerated() where positions[worker] < list.count {
                if best < 0 || list[positions[worker]] < openings[best][positions[best]] { best = worker }
            }
            guard best >= 0 else { break }
            rank += 1
            files[best].write(value: rank)
            positions[best] += 1
        }
        var ranks = [UnsafeBufferPointer<UInt64>]()
        for file in files { ranks.append(try file.contents().bindMemory(to: UInt64.self)) }
        self.ranks = ranks
        self.files = files
    }

    /// The one-pipeline id of the connection `worker` opened with the segment `ordinal`.
    func rank(of ordinal: UInt64, worker: Int) -> UInt64 {
        let list = openings[worker]
        var low = 0
        var high = list.count
        while low < high {
            let middle = (low + high) / 2
            if list[middle] < ordinal { low = middle + 1 } else { high = middle }
        }
        precondition(low < list.count && list[low] == ordinal, "an exchange of a connection not opened by its worker")
        return ranks[worker][low]
    }
}
