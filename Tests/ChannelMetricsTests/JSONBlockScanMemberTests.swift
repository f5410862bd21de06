import CJSONBlocks
import Testing

@testable import ChannelMetrics

/// The members `cejson_scan` hands back in batches of `TopLevelScanner.memberBatch`: objects
/// with more top-level members than a batch, matches and repeated keys on both sides of each
/// batch edge, names that need decoding there — the same matches as the byte-by-byte scan.
@Suite struct JSONBlockScanMemberTests {
    static let batch = TopLevelScanner.memberBatch

    /// `count` members `"m0"…`, with `code` at `codeAt` (each, a repeated key: the last value
    /// wins) and `errorcode` at `errorAt`, the values of various kinds.
    static func object(members count: Int, codeAt: [Int], errorAt: Int? = nil, spaced: Bool = false, name: (Int) -> String = { "m\($0)" }) -> [UInt8] {
        let values = ["1", "\"s\"", "[1,{\"code\":9}]", "{\"code\":8}", "null", "-2.5", "true", "\"\\u00e9\""]
        var parts: [String] = []
        for i in 0..<count {
            let key = codeAt.contains(i) ? "code" : (errorAt == i ? "errorcode" : name(i))
            parts.append("\"\(key)\"" + (spaced ? " : " : ":") + values[i % values.count])
        }
        return Array(("{" + parts.joined(separator: spaced ? " , " : ",") + "}").utf8)
    }

    static let counts = [0, 1, 2, batch - 1, batch, batch + 1, 2 * batch - 1, 2 * batch, 2 * batch + 1, 5 * batch + 3, 1_000]

    @Test(arguments: counts)
    func manyMembers(_ count: Int) {
        let batch = Self.batch
        var places = [0, 1, batch - 1, batch, batch + 1, 2 * batch, count - 1].filter { $0 >= 0 && $0 < count }
        places = Array(Set(places)).sorted()
        for spaced in [false, true] {
            #expect(JSONBlockScanTests.check(Self.object(members: count, codeAt: [], spaced: spaced)) == .valid)
            for a in places {
                #expect(JSONBlockScanTests.check(Self.object(members: count, codeAt: [a], spaced: spaced)) == .valid)
                for b in places where b > a {
                    // Repeated across a batch edge, and errorcode in the other place.
                    #expect(JSONBlockScanTests.check(Self.object(members: count, codeAt: [a, b], spaced: spaced)) == .valid)
                    #expect(JSONBlockScanTests.check(Self.object(members: count, codeAt: [b], errorAt: a, spaced: spaced)) == .valid)
                }
            }
        }
    }

    /// Names with escapes or non-ASCII bytes (decoded by `scanKey`) at every place of a batch,
    /// among them names that match `code` once decoded.
    @Test func decodedNamesAroundBatchEdges() {
        let names = ["\\u0063ode", "c\\u006fde", "é", "ç\\n", "CODE", "co_de", "\\ud800"]
        for special in names {
            for at in 0..<(2 * Self.batch + 2) {
                let text = Self.object(members: 2 * Self.batch + 3, codeAt: [at == 0 ? 1 : 0]) { $0 == at ? special : "m\($0)" }
                #expect(JSONBlockScanTests.check(text) == .valid, "\(special) at \(at)")
                JSONBlockScanTests.check(text, keys: [.code])
                JSONBlockScanTests.check(text, keys: [.errorCode, .code, .code])
            }
        }
    }

    /// Damage after many members (a batch or more handed back first): left to the
    /// byte-by-byte scan, whose rejection stands.
    @Test func damageAfterManyMembers() {
        let text = Self.object(members: 3 * Self.batch, codeAt: [2, 40])
        var g = TopLevelKeyScanTests.Generator(state: 17)
        for _ in 0..<3_000 {
            var bytes = text
            for _ in 0...g.next(2) { bytes[g.next(bytes.count)] = UInt8(g.next(128)) }
            if g.next(4) == 0 { bytes = Array(bytes.prefix(g.next(bytes.count))) }
            JSONBlockScanTests.check(bytes, maxDepth: [1, 2, 3, 512][g.next(4)])
        }
    }
}
