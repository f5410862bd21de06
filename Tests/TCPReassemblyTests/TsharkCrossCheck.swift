// Cross-check against tshark on a real capture: runs only when REASSEMBLY_CROSSCHECK_DIR names a
// directory with two files made from one capture (IPv4, intact):
//   segments.tsv: tshark -r CAP -T fields -E separator=/t -e frame.time_epoch -e ip.src -e tcp.srcport
//                 -e ip.dst -e tcp.dstport -e tcp.seq_raw -e tcp.ack_raw -e tcp.flags -e tcp.len -e tcp.payload
//   expected.tsv: per stream N, from `tshark -qz follow,tcp,raw,N`: node0 <TAB> node1 <TAB> hex 0->1 <TAB> hex 1->0
// Every connection's reassembled bytes per direction must equal tshark's.

#if canImport(Glibc)
import Glibc
#endif
import PacketDecoding
import Testing
import TCPReassembly

@Suite(.enabled(if: crossCheckDirectory != nil))
struct TsharkCrossCheck {
    @Test func everyConnectionMatchesTsharkFollow() throws {
        let directory = try #require(crossCheckDirectory)
        let segments = readLines("\(directory)/segments.tsv")
        let expected = readLines("\(directory)/expected.tsv")
        try #require(!segments.isEmpty && !expected.isEmpty)

        let factory = RecordingFactory()
        let reassembler = TCPReassembler(factory: factory)
        var last = Timestamp.zero
        for line in segments {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            let time = parseTime(f[0])
            let source = Endpoint(address: IPAddress(f[1])!, port: UInt16(f[2])!)
            let destination = Endpoint(address: IPAddress(f[3])!, port: UInt16(f[4])!)
            let payload = f.count > 9 ? parseHex(f[9]) : []
            payload.withUnsafeBytes { bytes in
                reassembler.process(TCPSegment(
                    source: source, destination: destination, sequenceNumber: UInt32(f[5])!,
                    acknowledgmentNumber: UInt32(f[6])!, flags: TCPFlags(rawValue: UInt8(f[7].dropFirst(2), radix: 16)!),
                    window: 0, payload: bytes, payloadLength: Int(f[8])!, timestamp: time))
            }
            last = time
        }
        reassembler.finish(at: last)

        var equal = 0
        for line in expected {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            let (node0, node1) = (String(f[0]), String(f[1]))
            let consumer = try #require(factory.consumers.first {
                let pair = ($0.info.client.description, $0.info.server.description)
                return pair == (node0, node1) || pair == (node1, node0)
            })
            let node0IsClient = consumer.info.client.description == node0
            let fromNode0 = consumer.bytes(node0IsClient ? .clientToServer : .serverToClient)
            let fromNode1 = consumer.bytes(node0IsClient ? .serverToClient : .clientToServer)
            #expect(fromNode0 == parseHex(f[2]), "\(node0) -> \(node1)")
            #expect(fromNode1 == parseHex(f[3]), "\(node1) -> \(node0)")
            if fromNode0 == parseHex(f[2]) && fromNode1 == parseHex(f[3]) { equal += 1 }
        }
        print("tshark cross-check: \(expected.count) connections compared, \(equal) equal; "
              + "\(factory.consumers.count) seen by the reassembler, gaps \(reassembler.statistics.gaps)")
        #expect(factory.consumers.count == expected.count)
        #expect(reassembler.statistics.gaps == 0)
    }
}

let crossCheckDirectory: String? = {
    #if canImport(Glibc)
    return getenv("REASSEMBLY_CROSSCHECK_DIR").map { String(cString: $0) }
    #else
    return nil
    #endif
}()

private func readLines(_ path: String) -> [Substring] {
    #if canImport(Glibc)
    guard let file = fopen(path, "r") else { return [] }
    defer { fclose(file) }
    var text: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count <= 0 { break }
        text += chunk[0..<count]
    }
    return String(decoding: text, as: UTF8.self).split(separator: "\n")
    #else
    return []
    #endif
}

private func parseHex(_ text: Substring) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count / 2)
    var high: UInt8?
    for c in text.utf8 {
        let v: UInt8
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
        default: continue
        }
        if let h = high { bytes.append(h << 4 | v); high = nil } else { high = v }
    }
    return bytes
}

/// `1795853808.562431000` -> nanoseconds.
private func parseTime(_ text: Substring) -> Timestamp {
    let parts = text.split(separator: ".")
    let seconds = Int64(parts[0])!
    let fraction = parts.count > 1 ? String(parts[1].prefix(9)) : ""
    let nanos = Int64(fraction + String(repeating: "0", count: 9 - fraction.count))!
    return Timestamp(seconds: seconds, nanoseconds: nanos)
}
