// Running the built executable, and small classic-pcap files made by hand for the CLI tests.
import Foundation
import Testing

/// Runs `channel-exporter` with `arguments` to its end.
func runExporter(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> CommandResult {
    try await runCommand(try BuiltExecutable.path(), arguments, timeout: timeout)
}

/// Checks the shape of a refusal: a non-zero exit and exactly one line on standard error,
/// `channel-exporter: …` containing every one of `mentions`, and nothing like a crash.
func expectOneLineError(
    _ result: CommandResult, mentioning mentions: [String], sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(result.status != 0, "exit status 0; stderr: \(result.standardError)", sourceLocation: sourceLocation)
    let lines = result.errorLines
    #expect(lines.count == 1, "expected one line on stderr, got:\n\(result.standardError)", sourceLocation: sourceLocation)
    let line = lines.first ?? ""
    #expect(line.hasPrefix("channel-exporter: "), "\(line)", sourceLocation: sourceLocation)
    for mention in mentions {
        #expect(line.contains(mention), "\"\(line)\" does not mention \"\(mention)\"", sourceLocation: sourceLocation)
    }
    for crashSign in ["Fatal error", "Stack dump", "Backtrace", "Segmentation", "Illegal instruction"] {
        #expect(!result.standardError.contains(crashSign), "\(result.standardError)", sourceLocation: sourceLocation)
    }
    #expect(result.status < 128, "killed by a signal? status \(result.status)", sourceLocation: sourceLocation)
}

/// Classic pcap (little-endian, microseconds): record offsets and hand-made files.
enum ClassicPcap {
    static let globalHeaderLength = 24
    static let recordHeaderLength = 16

    /// A global header for `linkType`.
    static func header(linkType: UInt32, snaplen: UInt32 = 262_144) -> [UInt8] {
        var bytes = [UInt8]()
        bytes += littleEndian(UInt32(0xA1B2_C3D4))
        bytes += littleEndian(UInt16(2)) + littleEndian(UInt16(4))
        bytes += littleEndian(UInt32(0)) + littleEndian(UInt32(0))
        bytes += littleEndian(snaplen) + littleEndian(linkType)
        return bytes
    }

    /// One record holding `payload`.
    static func record(_ payload: [UInt8], seconds: UInt32 = 1_700_000_000) -> [UInt8] {
        littleEndian(seconds) + littleEndian(UInt32(0)) + littleEndian(UInt32(payload.count))
            + littleEndian(UInt32(payload.count)) + payload
    }

    /// Where each record starts (a little-endian microsecond file, as tcpdump writes on x86).
    static func recordOffsets(_ bytes: [UInt8]) throws -> [Int] {
        guard bytes.count >= globalHeaderLength, Array(bytes[0..<4]) == [0xD4, 0xC3, 0xB2, 0xA1] else {
            throw TestFailure("not a little-endian microsecond pcap")
        }
        var offsets = [Int]()
        var offset = globalHeaderLength
        while offset + recordHeaderLength <= bytes.count {
            let included = Int(bytes[offset + 8]) | Int(bytes[offset + 9]) << 8 | Int(bytes[offset + 10]) << 16
                | Int(bytes[offset + 11]) << 24
            guard offset + recordHeaderLength + included <= bytes.count else { break }
            offsets.append(offset)
            offset += recordHeaderLength + included
        }
        return offsets
    }

    private static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}
