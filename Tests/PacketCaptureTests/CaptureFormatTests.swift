// Capture files as users bring them: written by tools other than tcpdump (captures/formats/,
// made by its script with editcap, tshark and gzip from a real capture), and read from a stream.
import Foundation
import Glibc
import PacketDecoding
import Testing

@testable import PacketCapture

@Suite struct CaptureFormatTests {
    static let formats = capturesFolder.appendingPathComponent("formats")
    /// The real capture the fixtures were made from: its first 12 packets are theirs.
    static let original = capturesFolder.appendingPathComponent("http/keepalive-curl.pcap").path

    /// editcap's modified pcap formats: a magic number libpcap reads, records it does not. libpcap
    /// handed out one packet and then "invalid packet capture length" or "truncated"; now the file
    /// is refused before any packet, naming the writer and the conversion.
    @Test(arguments: [("nokiapcap", 20, "Nokia"), ("rh6_1pcap", 24, "RedHat 6.1"), ("suse6_3pcap", 28, "SuSE 6.3")])
    func modifiedPcapIsRefusedWithTheConversion(format: String, length: Int, writer: String) throws {
        let path = Self.formats.appendingPathComponent("keepalive-curl-12.\(format)").path
        #expect(FileManager.default.fileExists(atPath: path))
        do {
            _ = try PacketSource.files([path])
            Issue.record("\(format) was accepted")
        } catch {
            guard case .modifiedPcap(path, length, let named) = error else {
                Issue.record("expected modifiedPcap, got \(error)")
                return
            }
            #expect(named.contains(writer) && named.contains("editcap -F \(format)"))
            #expect(error.description.contains("editcap -F pcap \(path) OUT.pcap"))
        }
    }

    /// No committed capture looks like a modified one: the check never refuses a file libpcap reads right.
    @Test func noRepositoryCaptureIsTakenForAModifiedOne() {
        let paths = repositoryCaptures(withExtension: "pcap")
        #expect(paths.count > 50)
        for path in paths {
            #expect(CaptureFileSniffer.modifiedLayout(of: path) == nil, "\(path)")
        }
    }

    /// A damaged pcap file (a record cut short, a capture length of garbage) is reported as before, not
    /// taken for a modified one: no other layout fits it.
    @Test func damagedPcapIsNotTakenForAModifiedOne() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.original)))
        let dir = TemporaryDirectory()
        var garbled = bytes
        garbled.replaceSubrange(24 + 16 + 74 + 8..<24 + 16 + 74 + 12, with: [0xFF, 0xFF, 0x00, 0x00])
        for (name, damaged) in [("cut.pcap", Array(bytes.prefix(24 + 16 + 74 + 20))), ("garbled.pcap", garbled)] {
            #expect(CaptureFileSniffer.modifiedLayout(of: dir.write(name, damaged)) == nil, "\(name)")
        }
    }

    /// gzip-compressed pcapng (Wireshark's "compress with gzip"): libpcap said "unknown file format".
    @Test func compressedFileNamesTheDecompression() {
        let path = Self.formats.appendingPathComponent("keepalive-curl-12.pcapng.gz").path
        #expect(throws: CaptureError.compressedFile(path: path, format: "gzip")) { try PacketSource.files([path]) }
        #expect(
            CaptureError.compressedFile(path: path, format: "gzip").description.contains(
                "gzip -dc \(path) | channel-exporter replay -"))
    }

    /// A FIFO (`mkfifo f; tcpdump -w f`) is opened once: the check's open read its header, and the
    /// run's second open found nothing or waited for a writer for ever. Same packets as the file.
    @Test func fifoIsReadOnceAndWhole() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.original)))
        let dir = TemporaryDirectory()
        let fifo = dir.url.appendingPathComponent("capture.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Thread {
            let descriptor = open(fifo, O_WRONLY)
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
            // A reader opening it again (the old way) would wait for a writer for ever: let each
            // such open see the end instead, so that the test fails rather than hangs.
            for _ in 0..<6 {
                Thread.sleep(forTimeInterval: 0.5)
                let late = open(fifo, O_WRONLY | O_NONBLOCK)
                if late >= 0 { close(late) }
            }
        }
        writer.start()
        #expect(CaptureFile.isStream(fifo))
        let (seen, summary) = try readAll(try PacketSource.files([fifo]))
        let (expected, _) = try readAll(try PacketSource.files([Self.original]))
        #expect(summary.packets == 54)
        #expect(summary.truncatedFiles == [])
        #expect(seen == expected)
    }

    /// Several files with a stream among them stay in the order given (a stream's first packet
    /// cannot be read to sort by, and then read again).
    @Test func streamsKeepTheGivenOrder() throws {
        let paths = ["/dev/null", Self.original]
        #expect(CaptureFile.isStream("/dev/null"))
        #expect(!CaptureFile.isStream(Self.original) && !CaptureFile.isStream("/tmp"))
        #expect(try PacketSource.inTimeOrder(paths) == paths)
    }

    /// An empty file or /dev/null: libpcap's "truncated dump file; tried to read 4 file header
    /// bytes, only got 0" said it was cut, of a file with nothing in it.
    @Test func emptyFileIsCalledEmpty() {
        let dir = TemporaryDirectory()
        for path in [dir.write("empty.pcap", []), "/dev/null"] {
            #expect(throws: CaptureError.notACaptureFile(path: path, detail: "it is empty")) {
                try PacketSource.files([path])
            }
        }
    }

    /// A pcapng section without an interface, as `editcap -r F OUT 0` writes it (these 28 bytes):
    /// libpcap's "no Interface Description Blocks" came out as "not a pcap or pcapng capture
    /// file"; tshark reads no packet, as replay does a pcap file header alone.
    @Test func pcapngWithoutInterfacesIsACaptureOfNothing() throws {
        let dir = TemporaryDirectory()
        let sectionOnly: [UInt8] =
            [0x0A, 0x0D, 0x0D, 0x0A, 28, 0, 0, 0, 0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0]
            + [UInt8](repeating: 0xFF, count: 8) + [28, 0, 0, 0]
        let path = dir.write("none.pcapng", sectionOnly)
        let (seen, summary) = try readAll(try PacketSource.files([path, Self.original]))
        #expect(seen.count == 54 && summary.packets == 54)
        #expect(summary.truncatedFiles == [])
    }
}
