// The exchange log file under log rotation: moved away and reopened, or truncated in place.
import ChannelExporter
import Foundation
import PacketCapture
import Testing

@Suite struct ExchangeLogFileTests {
    static let fixture = "http/pipeline-wrk.pcap"

    /// logrotate's default: the file is renamed, then SIGHUP makes the exporter reopen the path.
    @Test func afterAMoveAndAReopenTheLinesGoToANewFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let whole = try Self.lines(writtenTo: directory.file("whole.jsonl")) { _, _ in }
        #expect(whole.count >= 30)

        let path = directory.file("exchanges.jsonl")
        let moved = directory.file("exchanges.jsonl.1")
        let log = try ExchangeLogFile(path: path)
        try Self.replay(into: log) { packets, log in
            guard packets == 20 else { return }
            #expect(rename(path, moved) == 0)
            try log.reopen()
        }
        try log.close()
        let before = try Self.lines(of: moved)
        let after = try Self.lines(of: path)
        #expect(!before.isEmpty && !after.isEmpty)
        #expect(before + after == whole)
    }

    /// logrotate's `copytruncate`: the file is copied, then emptied in place, with no signal.
    @Test func afterATruncationTheLinesStartAtTheTopOfTheFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let whole = try Self.lines(writtenTo: directory.file("whole.jsonl")) { _, _ in }
        let path = directory.file("exchanges.jsonl")
        let log = try ExchangeLogFile(path: path)
        var copied = [String]()
        try Self.replay(into: log) { packets, log in
            guard packets == 20 else { return }
            log.flush()
            copied = try Self.lines(of: path)
            #expect(truncate(path, 0) == 0)
        }
        try log.close()
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(!data.contains(0), "a hole of zeros where the truncated lines were")
        let after = try Self.lines(of: path)
        #expect(!copied.isEmpty && !after.isEmpty)
        #expect(copied + after == whole)
    }

    /// A path that cannot be opened any more: the error is thrown and the old file kept.
    @Test func aFailedReopenKeepsTheOldFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let whole = try Self.lines(writtenTo: directory.file("whole.jsonl")) { _, _ in }
        let inner = directory.file("logs")
        #expect(mkdir(inner, 0o755) == 0)
        let path = inner + "/exchanges.jsonl"
        let moved = directory.file("exchanges.jsonl.1")
        let log = try ExchangeLogFile(path: path)
        try Self.replay(into: log) { packets, log in
            guard packets == 20 else { return }
            #expect(rename(path, moved) == 0)
            #expect(rmdir(inner) == 0)
            #expect(throws: ExporterError.self) { try log.reopen() }
        }
        try log.close()
        #expect(try Self.lines(of: moved) == whole)
    }

    /// The fixture's exchange lines, written to `path` with `during` called after each packet.
    static func lines(writtenTo path: String, during: (Int, ExchangeLogFile) throws -> Void) throws -> [String] {
        let log = try ExchangeLogFile(path: path)
        try replay(into: log, during: during)
        try log.close()
        return try lines(of: path)
    }

    static func replay(into log: ExchangeLogFile, during: (Int, ExchangeLogFile) throws -> Void) throws {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [18080]
        let pipeline = try Pipeline(configuration: config, exchangeLog: log)
        var packets = 0
        var failure: (any Error)?
        _ = try PacketSource.files([Fixtures.path(fixture)]).run { packet in
            pipeline.process(packet)
            packets += 1
            do { try during(packets, log) } catch { failure = error }
        }
        if let failure { throw failure }
        pipeline.finish()
    }

    static func lines(of path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }
}
