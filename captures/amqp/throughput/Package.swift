// swift-tools-version: 6.1
// AMQPObserver parser throughput on a synthetic stream (frames/s), release build:
//   cd captures/amqp/throughput && swift run -c release amqp-throughput
// Standalone so that it builds only the observer's modules; it can move into Benchmarks/.
import Foundation
import PackageDescription

// A path dependency's identity is its directory's name (the clone or worktree's).
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../..").standardized

let package = Package(
    name: "amqp-throughput",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: root.path)],
    targets: [
        .executableTarget(
            name: "amqp-throughput",
            dependencies: [
                .product(name: "ChannelExporter", package: root.lastPathComponent)
            ]
        )
    ]
)
