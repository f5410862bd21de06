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
///
/// Spawned with `posix_spawn`, not Foundation's `Process`: the test runner's threads block
/// most signals, and a child inherits that mask, so a Python server started by `Process`
/// ignored SIGTERM. Here the child gets an empty mask and default dispositions, as a
/// shell or systemd would give it, so SIGTERM means what it means in production.
final class ChildProcess {
    let name: String
    private let executable: String
    private let arguments: [String]
    private let stdinPath: String
    private let stdoutPath: String
    private let stderrPath: String
    private(set) var pid: pid_t = 0
    /// The exit code, or 128 + the signal number when a signal ended it (shell convention).
    private(set) var exitStatus: Int32?

    init(name: String, executable: String, arguments: [String], in directory: TemporaryDirectory, stdin: String? = nil) throws {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        stdinPath = stdin ?? "/dev/null"
        stdoutPath = directory.file("\(name).stdout")
        stderrPath = directory.file("\(name).stderr")
    }

    deinit { stop() }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: AddCloseFrom.self) }

    func start() throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Nothing else of the test process: sockets opened without close-on-exec (SwiftNIO accepts
        // so, the in-process /metrics tests' clients too) stayed open in every child another test
        // started meanwhile, so a close in the test did not end the connection until that child did.
        // (glibc 2.34's posix_spawn_file_actions_addclosefrom_np, which Swift's Glibc module does not declare.)
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, number)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw TestFailure("cannot start \(name) (\(executable)): \(String(cString: strerror(result)))")
        }
    }

    /// Reaps the child if it has ended (never blocks).
    private func reap() {
        guard pid > 0, exitStatus == nil else { return }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == -1, errno == ECHILD {
            // Reaped elsewhere: ended, status unknown. (Not asked with kill(pid, 0): pids are reused
            // within a test run here, pid_max 32768, and stop() would then signal a stranger.)
            exitStatus = -1
            return
        }
        guard reaped == pid else { return }
        let signal = status & 0x7F
        exitStatus = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    var isRunning: Bool {
        reap()
        return pid > 0 && exitStatus == nil
    }

    var standardOutput: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var standardError: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for the exit; the exit status, or nil when it is still running after `timeout`.
    func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return exitStatus
    }

    func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    /// Stops it by PID whatever state it is in (for `defer`): SIGTERM, then SIGKILL after 5 s.
    func stop() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(5)
        while isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        if isRunning {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            exitStatus = 128 + SIGKILL
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
