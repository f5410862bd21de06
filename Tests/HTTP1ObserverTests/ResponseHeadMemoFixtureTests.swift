/// Every HTTP capture fixture gives the same exchanges and counters with the response head memo as without it.
import Foundation
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

/// captures/http in the package.
let httpCapturesDirectory: String = {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path + "/captures/http"
}()

/// The classic pcap files under captures/http (microsecond or nanosecond, little-endian, as the fixtures are).
private let httpFixtures: [String] = {
    let root = httpCapturesDirectory
    let files = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? []
    return files.filter { $0.hasSuffix(".pcap") }.sorted().map { root + "/" + $0 }
}()

/// Replays a classic pcap file through decoding, reassembly and an HTTP observer (as the pipeline
/// does): the exchanges and the observer's counters.
func replayCapture(_ file: String, responseHeadMemo: Bool = true) throws -> (run: RunResult, hits: Int) {
    let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
    func u32(_ at: Int) -> UInt32 {
        UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24
    }
    let magic = u32(0)
    #expect(magic == 0xA1B2_C3D4 || magic == 0xA1B2_3C4D, "\(file): not a little-endian classic pcap")
    let nanoseconds = magic == 0xA1B2_3C4D
    let linkType = try #require(LinkType(dlt: Int32(u32(20) & 0x0FFF_FFFF)))
    let sink = CollectingSink()
    let observer = HTTPObserver(sink: sink)
    observer.sharedParserState.usesResponseHeadMemo = responseHeadMemo
    let reassembler = TCPReassembler(factory: observer)
    var decoder = PacketDecoder()
    var offset = 24
    var last = Timestamp.zero
    while offset + 16 <= data.count {
        let seconds = Int64(u32(offset))
        let fraction = Int64(u32(offset + 4))
        let captured = Int(u32(offset + 8))
        let original = Int(u32(offset + 12))
        offset += 16
        guard offset + captured <= data.count else { break }
        let time = Timestamp(seconds: seconds, nanoseconds: nanoseconds ? fraction : fraction * 1_000)
        last = time
        data[offset..<(offset + captured)].withUnsafeBytes { packet in
            decoder.decode(packet, originalLength: original, linkType: linkType, timestamp: time) { reassembler.process($0) }
        }
        offset += captured
    }
    reassembler.finish(at: last)
    return (RunResult(exchanges: sink.exchanges, statistics: observer.statistics), observer.sharedParserState.responseHeads.hits)
}

@Suite("Response head memo on the capture fixtures")
struct ResponseHeadMemoFixtureTests {
    /// The fixtures are found, and in some of them heads are recalled (else the comparison below proved nothing).
    @Test func theFixturesAreFoundAndHeadsRecalled() throws {
        #expect(httpFixtures.count >= 20)
        let hits = try httpFixtures.map { try replayCapture($0, responseHeadMemo: true).hits }
        #expect(hits.filter { $0 > 0 }.count >= 3, "\(zip(httpFixtures, hits).map { "\($0.split(separator: "/").last!): \($1)" })")
        #expect(hits.reduce(0, +) >= 10)
    }

    @Test(arguments: httpFixtures)
    func sameExchangesWithAndWithoutTheMemo(_ file: String) throws {
        let without = try replayCapture(file, responseHeadMemo: false).run
        let with = try replayCapture(file, responseHeadMemo: true).run
        #expect(with.exchanges == without.exchanges, "\(file)")
        #expect(with.statistics == without.statistics, "\(file)")
    }
}
