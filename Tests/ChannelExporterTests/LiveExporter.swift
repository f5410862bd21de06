// A running `channel-exporter run` on lo, and real HTTP servers and clients for it to watch.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `channel-exporter run --interface lo` started as a child process with a temp config
/// (syscode A123010101, the given inbound ports, no AMQP ports).
final class LiveExporter {
    let child: ChildProcess
    let metricsPort: UInt16
    let metricsPath: String
    var metricsURL: String { "http://127.0.0.1:\(metricsPort)\(metricsPath)" }

    /// Starts it and waits (up to 30 s) until `metricsPath` answers.
    /// `extraConfiguration`: more top-level YAML for the configuration file. `launcher`: a command
    /// that execs the exporter (its path appended), e.g. setpriv with another user's credentials.
    init(
        inboundPorts: [UInt16], in directory: TemporaryDirectory, name: String = "exporter", extraArguments: [String] = [],
        metricsPath: String = "/metrics", extraConfiguration: String = "", launcher: [String] = []
    ) async throws {
        let config = try directory.write(
            "\(name).yaml",
            """
            syscode: A123010101
            inbound:
              ports: [\(inboundPorts.map(String.init).joined(separator: ", "))]
            amqp:
              ports: []

            """ + extraConfiguration)
        metricsPort = try freeLoopbackPort()
        self.metricsPath = metricsPath
        let command = launcher + [try BuiltExecutable.path()]
        child = try ChildProcess(
            name: name, executable: command[0],
            arguments: command.dropFirst() + [
                "run", "--config.file", config, "--interface", "lo",
                "--web.listen-address", "127.0.0.1:\(metricsPort)",
            ] + extraArguments,
            in: directory)
        try child.start()
        let url = metricsURL
        let child = child
        let ready = try await poll(timeout: .seconds(30)) { () async throws -> Bool? in
            if !child.isRunning { return false }
            return try await httpGet(url) != nil ? true : nil
        }
        guard ready == true else {
            child.stop()
            throw TestFailure(
                "channel-exporter run did not serve \(url) within 30 s (running: \(child.isRunning)); stderr:\n\(child.standardError)")
        }
    }

    func scrape(accept: String? = nil) async throws -> String? {
        try await httpGet(metricsURL, headers: accept.map { ["Accept: \($0)"] } ?? [])
    }

    /// Scrapes until `series` has at least `expected` (up to 30 s); the last value seen.
    func waitForSample(_ series: String, atLeast expected: Double) async throws -> (value: Double?, exposition: String) {
        var last = ""
        let value = try await poll(timeout: .seconds(30), every: .milliseconds(200)) { () async throws -> Double? in
            guard let text = try await scrape() else { return nil }
            last = text
            guard let value = sampleValue(series, in: text), value >= expected else { return nil }
            return value
        }
        return (value ?? sampleValue(series, in: last), last)
    }

    func stop() { child.stop() }
}

/// A real HTTP/1.1 server (Python's http.server, keep-alive) on 127.0.0.1 answering every
/// GET with the JSON body `{"code": 0}`; it binds port 0 and prints the port it got.
final class JSONServer {
    let child: ChildProcess
    let port: UInt16

    static let script = """
        import http.server, sys

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                body = b'{"code": 0}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """

    init(in directory: TemporaryDirectory, name: String) async throws {
        let python = try BuiltExecutable.requiredTool("python3", package: "python3")
        let script = try directory.write("\(name).py", Self.script)
        child = try ChildProcess(name: name, executable: python, arguments: ["-u", script], in: directory)
        try child.start()
        let child = child
        let port = await poll(timeout: .seconds(30), every: .milliseconds(50)) { () -> UInt16? in
            let text = child.standardOutput
            guard text.hasSuffix("\n") else { return nil }
            return UInt16(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        guard let port else {
            child.stop()
            throw TestFailure("the Python test server did not start within 30 s; stderr:\n\(child.standardError)")
        }
        self.port = port
    }

    func stop() { child.stop() }
}

/// Real client traffic with curl: `keepAlive` requests on one connection, then
/// `newConnections` requests each on a connection of its own.
func sendRequests(
    to url: String, keepAlive: Int, newConnections: Int, headers: [String] = []
) async throws {
    let curl = try BuiltExecutable.requiredTool("curl", package: "curl")
    var common = ["-sS", "--fail", "--max-time", "10", "-A", "live-e2e"]
    for header in headers { common += ["-H", header] }
    if keepAlive > 0 {
        // Several URLs in one curl invocation reuse one connection.
        var arguments = common
        for _ in 0..<keepAlive { arguments += ["-o", "/dev/null", url] }
        let result = try await runCommand(curl, arguments, timeout: .seconds(20))
        #expect(result.status == 0, "curl (keep-alive) failed: \(result.standardError)")
        #expect(result.standardError.isEmpty)
    }
    for _ in 0..<newConnections {
        let result = try await runCommand(curl, common + ["-o", "/dev/null", url], timeout: .seconds(20))
        #expect(result.status == 0, "curl failed: \(result.standardError)")
    }
}

/// A loopback server that reads a request and answers it only when told (`answer`), and the client
/// that sent it; both ends stay open (no FIN, no RST, no more packets) until `close()`.
final class HeldRequest {
    let port: UInt16
    private let listener: Int32
    private var connected: [Int32] = []

    /// Listens on 127.0.0.1 (an ephemeral port); `send` connects and sends.
    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        self.listener = listener
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        guard bound == 0, listen(listener, 4) == 0 else { throw TestFailure("bind/listen: \(String(cString: strerror(errno)))") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
    }

    /// Connects, sends `GET path` and waits until the server side has read the whole head.
    func send(path: String) throws {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard client >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        connected.append(client)
        var address = Self.loopback(port: port)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw TestFailure("connect: \(String(cString: strerror(errno)))") }
        let server = accept(listener, nil, nil)
        guard server >= 0 else { throw TestFailure("accept: \(String(cString: strerror(errno)))") }
        connected.append(server)
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUser-Agent: hang-test\r\n\r\n".utf8)
        guard Glibc.send(client, request, request.count, 0) == request.count else { throw TestFailure("send failed") }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.ends(with: Array("\r\n\r\n".utf8)) {
            let n = recv(server, &buffer, buffer.count, 0)
            guard n > 0 else { throw TestFailure("recv: \(n)") }
            received += buffer[..<n]
        }
    }

    /// Sends `response` from the server side of the latest connection, and waits until the client
    /// side has read all of it.
    func answer(_ response: String) throws {
        guard connected.count >= 2 else { throw TestFailure("no request to answer") }
        let (client, server) = (connected[connected.count - 2], connected[connected.count - 1])
        let bytes = Array(response.utf8)
        guard Glibc.send(server, bytes, bytes.count, 0) == bytes.count else { throw TestFailure("send failed") }
        var read = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        while read < bytes.count {
            let n = recv(client, &buffer, buffer.count, 0)
            guard n > 0 else { throw TestFailure("recv: \(n)") }
            read += n
        }
    }

    func close() {
        for descriptor in connected { Glibc.close(descriptor) }
        connected.removeAll()
        Glibc.close(listener)
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

extension Array where Element: Equatable {
    fileprivate func ends(with suffix: [Element]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
