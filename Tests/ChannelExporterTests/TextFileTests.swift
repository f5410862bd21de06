import ChannelExporter
import Foundation
import Testing

@Suite struct TextFileTests {
    /// A label value may hold NUL (a path with `%00`, a JSON `"\u0000"`): the file gets every byte
    /// after it too (found by a random parity campaign: `replay --output` stopped at the first NUL).
    @Test func writesEveryByteIncludingNUL() throws {
        let path = NSTemporaryDirectory() + "text-file-\(getpid()).prom"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = "a{path=\"/x\u{0}y\"} 1\n# caf\u{E9} \u{1F600}\nend\n"
        try TextFile.write(text, to: path)
        let written = try #require(FileManager.default.contents(atPath: path))
        #expect(Array(written) == Array(text.utf8))
    }

    @Test func anUnwritablePathIsAnError() {
        #expect(throws: ExporterError.self) { try TextFile.write("x", to: "/nonexistent-dir-\(getpid())/f") }
    }
}
