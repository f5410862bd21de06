import PacketDecoding
import TCPReassembly
import Testing

@testable import TLSDecryption

/// Whether the bound on ciphertext held over all connections ever held anything back
/// (`TLSDecryptor.reachedGlobalBudget`), for a replay split over several pipelines.
@Suite struct TLSGlobalBudgetTests {
    static func largeHello() -> [UInt8] {
        let padding = [UInt8](repeating: 0, count: 4000)
        let hello = Build.message(1, [3, 3] + [UInt8](repeating: 7, count: 32) + [0, 0, 2, 0x13, 0x01, 1, 0]
            + [UInt8((padding.count + 4) >> 8), UInt8((padding.count + 4) & 0xff), 0, 0x15, UInt8(padding.count >> 8), UInt8(padding.count & 0xff)]
            + padding)
        return Build.record(0x16, hello)
    }

    func send(_ bytes: ArraySlice<UInt8>, to consumer: any StreamConsumer) {
        Array(bytes).withUnsafeBytes { consumer.streamData($0, direction: .clientToServer, time: Timestamp(nanoseconds: 1)) }
    }

    @Test(arguments: [1000, 64 << 20]) func aRecordGatheredPastTheBoundReachesIt(bound: Int) {
        let decryptor = TLSDecryptor(keys: TLSKeyStore(), limits: TLSDecryptionLimits(maxBufferedBytesTotal: bound))
        let consumer = decryptor.consumer(wrapping: Recorder())
        let record = Self.largeHello()
        send(record[..<100], to: consumer)
        send(record[100...], to: consumer)
        #expect(decryptor.reachedGlobalBudget == (bound < record.count))
    }
}
