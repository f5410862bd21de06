// The executable as it is installed: alone in a directory of its own (`/usr/local/bin`, the image).
import Foundation
import Testing

@Suite struct InstalledBinaryTests {
    /// The built-in partner table used to be a SwiftPM resource bundle, looked for beside the
    /// executable and then in the build directory (its path compiled in): copied alone to a
    /// machine without that directory, the binary stopped with "Fatal error: could not load
    /// resource bundle" (SIGILL) on the first configuration without `partners`, as deploy/'s is.
    /// The build directory is hidden here by an empty tmpfs in a mount namespace of the run's own
    /// (`unshare`, as root).
    @Test func aBinaryCopiedAloneReadsTheBuiltInPartnerTable() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let built = try BuiltExecutable.path()
        let installed = directory.file("channel-exporter")
        // Copied by another process: a copy written here could still be open for writing in a child
        // another test forks meanwhile, and exec would fail with ETXTBSY (status 126).
        let copy = try await runCommand("/bin/cp", [built, installed])
        try #require(copy.status == 0, "\(copy.standardError)")
        let buildDirectory = (built as NSString).deletingLastPathComponent
        // The parity capture's configuration names no partners: the built-in table applies.
        let result = try await runCommand(
            "/usr/bin/unshare",
            [
                "--mount", "--propagation", "private", "/bin/sh", "-c", #"mount -t tmpfs none "$1" && shift && exec "$@""#,
                "sh", buildDirectory, installed, "replay", Fixtures.path("parity/outbound.pcap"),
                "--config.file", Fixtures.path("parity/outbound.config.yaml"),
            ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("partner_http_metrics_bucket{"), "\(result.standardOutput.prefix(2000))")
    }
}
