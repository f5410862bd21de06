// swift-tools-version: 6.1
// channel-exporter: a passive network observer that turns HTTP/1.1 and AMQP 0-9-1
// traffic seen on the wire into the metrics of the Python channel-exporter library.
import PackageDescription

let package = Package(
    name: "channel-exporter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "channel-exporter", targets: ["channel-exporter"]),
        .library(name: "ChannelExporter", targets: ["ChannelExporter"]),
        // The stages on their own, for Benchmarks/.
        .library(name: "PacketCapture", targets: ["PacketCapture"]),
        .library(name: "PacketDecoding", targets: ["PacketDecoding"]),
        .library(name: "TCPReassembly", targets: ["TCPReassembly"]),
        .library(name: "HTTP1Observer", targets: ["HTTP1Observer"]),
        .library(name: "AMQPObserver", targets: ["AMQPObserver"]),
        .library(name: "TLSDecryption", targets: ["TLSDecryption"]),
        .library(name: "ChannelMetrics", targets: ["ChannelMetrics"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // AEAD ciphers, HKDF and HMAC for reading TLS with keys from a key log (TLSDecryption).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // libpcap, seen only by PacketCapture.
        .systemLibrary(
            name: "CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        // zlib, for gzip/deflate response bodies (inflated) and the /metrics answers (gzip).
        .systemLibrary(
            name: "CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The JSON block scan (simdjson's two stages over 64-byte blocks), its classifier chosen
        // at run time: AVX2 + PCLMUL + BMI1 or SSE2 on x86_64, NEON on arm64, portable C elsewhere
        // (SWAR: 8 bytes per 64-bit word, any byte order).
        .target(name: "CJSONBlocks"),
        .target(name: "PacketDecoding"),
        .target(name: "PacketCapture", dependencies: ["CPcap", "PacketDecoding"]),
        .target(name: "TCPReassembly", dependencies: ["PacketDecoding"]),
        .target(name: "HTTP1Observer", dependencies: ["TCPReassembly", "PacketDecoding", "CZlib"]),
        .target(name: "AMQPObserver", dependencies: ["TCPReassembly", "PacketDecoding"]),
        // TLS read with secrets from an NSS key log: the decrypted bytes go on to the observer that
        // reads plaintext. Only connections that begin with a TLS handshake take this path.
        .target(
            name: "TLSDecryption",
            dependencies: [
                "TCPReassembly", "PacketDecoding", .product(name: "Crypto", package: "swift-crypto"),
                // AES-CBC for TLS 1.2's CBC suites (`AES._CBC`).
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "ChannelMetrics",
            dependencies: [
                "HTTP1Observer", "AMQPObserver", "PacketDecoding", "TCPReassembly", "CJSONBlocks",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "ChannelExporter",
            dependencies: [
                "PacketCapture", "PacketDecoding", "TCPReassembly", "HTTP1Observer", "AMQPObserver",
                "TLSDecryption", "ChannelMetrics", "CZlib", .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "channel-exporter",
            dependencies: [
                "ChannelExporter", "ChannelMetrics", "PacketCapture",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "PacketDecodingTests", dependencies: ["PacketDecoding"]),
        .testTarget(name: "PacketCaptureTests", dependencies: ["PacketCapture", "PacketDecoding"]),
        .testTarget(name: "TCPReassemblyTests", dependencies: ["TCPReassembly", "PacketDecoding"]),
        .testTarget(name: "HTTP1ObserverTests", dependencies: ["HTTP1Observer", "TCPReassembly", "PacketDecoding"]),
        .testTarget(name: "AMQPObserverTests", dependencies: ["AMQPObserver", "TCPReassembly", "PacketDecoding"]),
        .testTarget(
            name: "TLSDecryptionTests",
            dependencies: [
                "TLSDecryption", "TCPReassembly", "PacketDecoding", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "ChannelMetricsTests", dependencies: ["ChannelMetrics", "HTTP1Observer", "AMQPObserver", "PacketDecoding", "CJSONBlocks"],
            // Read by path (`#filePath`), not bundled.
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "ChannelExporterTests",
            dependencies: [
                "ChannelExporter", "ChannelMetrics", "PacketCapture", "PacketDecoding", "TCPReassembly", "HTTP1Observer", "AMQPObserver",
                "TLSDecryption", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
