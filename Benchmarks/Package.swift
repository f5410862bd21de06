// swift-tools-version: 6.1
// Benchmarks for channel-exporter: each stage against the floor (a bare C
// libpcap loop over the same file), run interleaved in one process so the
// ratios hold on a noisy machine. `swift run -c release bench --help`.
import PackageDescription

let package = Package(
    name: "channel-exporter-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "channel-exporter", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The floor: pcap_next_ex over the file, nothing else (as shared/bench/pcapcount.c `read`).
        .target(
            name: "CBareLoop",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("pcap")]
        ),
        // Allocation counter (interposes malloc from inside the executable), CPU time, RSS.
        .target(
            name: "CBenchSupport",
            cSettings: [.unsafeFlags(["-O2"])]
        ),
        .executableTarget(
            name: "bench",
            dependencies: [
                "CBareLoop",
                "CBenchSupport",
                .product(name: "ChannelExporter", package: "channel-exporter"),
                .product(name: "PacketCapture", package: "channel-exporter"),
                .product(name: "PacketDecoding", package: "channel-exporter"),
                .product(name: "TCPReassembly", package: "channel-exporter"),
                .product(name: "HTTP1Observer", package: "channel-exporter"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // AMQPObserver's parser alone on a synthetic stream (frames/s).
        .executableTarget(
            name: "amqp-throughput",
            dependencies: [
                .product(name: "AMQPObserver", package: "channel-exporter"),
                .product(name: "PacketDecoding", package: "channel-exporter"),
                .product(name: "TCPReassembly", package: "channel-exporter"),
            ]
        ),
    ]
)
