// Child processes, free ports, temp dirs and polling for the tests that run the real executable.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Where the built `channel-exporter` executable is: beside the test bundle (the same build
/// directory, whatever `--build-path` or configuration), else `<repo>/.build/debug`.
enum BuiltExecutable {
    static let repositoryRoot: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    static func path(_ name: String = "channel-exporter") throws -> String {
        var candidates = [String]()
        if let testBinary = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let directory = (testBinary as NSString).deletingLastPathComponent
            candidates.append(directory + "/" + name)
            // On Linux the test binary may sit inside `<product>.xctest/`.
            candidates.append((directory as NSString).deletingLastPathComponent + "/" + name)
        }
        candidates.append(repositoryRoot + "/.build/debug/" + name)
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw TestFailure(
            "the \(name) executable is not built (looked in \(candidates.joined(separator: ", "))); "
                + "run `swift build --build-tests` (or `make test`) first")
    }

    /// The absolute path of a tool on PATH, or nil.
    static func tool(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// A tool the test needs; a clear failure (not a silent pass) when it is missing.
    static func requiredTool(_ name: String, package: String) throws -> String {
        guard let found = tool(name) else {
            throw TestFailure(
                "`\(name)` is not installed: apt-get install -y \(package) (the README's test command, `make test`, installs it)")
        }
        return found
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A private directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/channel-exporter-test.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestFailure("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: file(name), atomically: true, encoding: .utf8)
        return file(name)
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: file(name)))
        return file(name)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw TestFailure("bind: \(String(cString: strerror(errno)))") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw TestFailure("getsockname: \(String(cString: strerror(errno)))") }
    return UInt16(bigEndian: address.sin_port)
}

/// A child process whose output goes to files (no pipe can fill up and block it).
final class ChildProcess {
    let name: String
    let process = Process()
    private let stdoutPath: String
    private let stderrPath: String

    init(name: String, executable: String, arguments: [String], in directory: TemporaryDirectory, stdin: String? = nil) throws {
        self.name = name
        stdoutPath = directory.file("\(name).stdout")
        stderrPath = directory.file("\(name).stderr")
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        if let stdin {
            process.standardInput = FileHandle(forReadingAtPath: stdin)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
    }

    func start() throws {
        do {
            try process.run()
        } catch {
            throw TestFailure("cannot start \(name) (\(process.executableURL?.path ?? "?")): \(error)")
        }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var standardOutput: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var standardError: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for the exit; the exit status, or nil when it is still running after `timeout`.
    func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// Stops it by PID whatever state it is in (for `defer`): SIGTERM, then SIGKILL.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// What a finished command gave.
struct CommandResult {
    var status: Int32
    var standardOutput: String
    var standardError: String
    /// Standard error without the trailing newline, split into lines.
    var errorLines: [String] { standardError.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
}

/// Runs a command to its end (killed after `timeout`) and returns its status and output.
func runCommand(
    _ executable: String, _ arguments: [String], stdin: String? = nil, timeout: Duration = .seconds(60)
) async throws -> CommandResult {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let child = try ChildProcess(
        name: (executable as NSString).lastPathComponent, executable: executable, arguments: arguments, in: directory,
        stdin: stdin)
    try child.start()
    defer { child.stop() }
    guard let status = await child.waitForExit(timeout: timeout) else {
        throw TestFailure("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
    }
    return CommandResult(status: status, standardOutput: child.standardOutput, standardError: child.standardError)
}

/// Polls `probe` until it returns a value or `timeout` passes (then nil). The readiness
/// waits of the live tests; never a fixed sleep in place of an assertion.
func poll<T>(timeout: Duration, every interval: Duration = .milliseconds(100), _ probe: () async throws -> T?) async rethrows -> T? {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await probe() { return value }
        if ContinuousClock.now >= deadline { return nil }
        try? await Task.sleep(for: interval)
    }
}

/// One HTTP GET with curl: the body when the status is 200, else nil.
func httpGet(_ url: String, headers: [String] = []) async throws -> String? {
    let curl = try BuiltExecutable.requiredTool("curl", package: "curl")
    var arguments = ["-sS", "--max-time", "5", "--fail"]
    for header in headers { arguments += ["-H", header] }
    arguments.append(url)
    let result = try await runCommand(curl, arguments, timeout: .seconds(10))
    return result.status == 0 ? result.standardOutput : nil
}

/// The value of one sample (`name{labels}` exactly as written) in a text exposition.
func sampleValue(_ series: String, in exposition: String) -> Double? {
    for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
        let value = line.dropFirst(series.count + 1).split(separator: " ").first ?? ""
        return Double(value)
    }
    return nil
}

/// A connection attempt to a closed port on 127.0.0.1: two packets (SYN, RST) on lo.
func touchLoopback() throws {
    let port = try freeLoopbackPort()
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}
