// Two network namespaces joined by a veth pair, real servers and clients in them, and
// `channel-exporter run` capturing there: the interfaces of a real host, not `lo`.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the namespace tests need: root, and `ip` (iproute2) and `python3` on PATH.
let namespaceToolsMissing: String? = {
    if geteuid() != 0 { return "not root" }
    for tool in ["ip", "python3", "curl"] where BuiltExecutable.tool(tool) == nil { return "no \(tool)" }
    return nil
}()

/// A server namespace and a client namespace joined by a veth pair (`vs` in the server's,
/// `vc` in the client's) with 10.77.0.1/.2 and fd00:77::1/::2, offloads left at the kernel's
/// defaults (TSO/GSO on: the capture sees super-packets). Deleted by `remove()`.
final class VethPair {
    /// Namespace names start with this (`CHANNEL_EXPORTER_TEST_NETNS_PREFIX`), then the test
    /// process's id, so that concurrent runs and leftovers never collide.
    static let prefix = ProcessInfo.processInfo.environment["CHANNEL_EXPORTER_TEST_NETNS_PREFIX"] ?? "chx-test"
    static let serverIPv4 = "10.77.0.1"
    static let serverIPv6 = "fd00:77::1"

    let server: String
    let client: String
    private let ip: String

    init(_ name: String) async throws {
        ip = try BuiltExecutable.requiredTool("ip", package: "iproute2")
        server = "\(Self.prefix)-\(getpid())-\(name)-s"
        client = "\(Self.prefix)-\(getpid())-\(name)-c"
        do {
            for namespace in [server, client] {
                try await run(ip, ["netns", "add", namespace])
                try await run(ip, ["-n", namespace, "link", "set", "lo", "up"])
            }
            try await addLink()
        } catch {
            remove()
            throw error
        }
    }

    /// Creates the veth pair with its addresses, up (again after its deletion: a container restarting).
    func addLink() async throws {
        try await run(ip, ["link", "add", "vs", "netns", server, "type", "veth", "peer", "name", "vc", "netns", client])
        for (namespace, device, last) in [(server, "vs", "1"), (client, "vc", "2")] {
            try await run(ip, ["-n", namespace, "addr", "add", "10.77.0.\(last)/24", "dev", device])
            try await run(ip, ["-n", namespace, "addr", "add", "fd00:77::\(last)/64", "dev", device, "nodad"])
            try await run(ip, ["-n", namespace, "link", "set", device, "up"])
        }
    }

    /// BIG TCP: GSO and GRO up to 185,000 bytes on both ends, IPv6 and IPv4 (IPv6 super-packets
    /// over 64 KiB carry a hop-by-hop jumbo option, IPv4 ones total length 0). The IPv4 sizes are
    /// set by rtnetlink directly: `ip` knows them only from iproute2 6.3. Left at the defaults
    /// where the kernel refuses.
    func allowBigTCP(in directory: TemporaryDirectory) async throws {
        let python = try BuiltExecutable.requiredTool("python3", package: "python3")
        let script = try directory.write("big-tcp-ipv4.py", Self.ipv4BigTCPScript)
        for (namespace, device) in [(server, "vs"), (client, "vc")] {
            _ = try? await runCommand(ip, ["-n", namespace, "link", "set", "dev", device, "gso_max_size", "185000", "gro_max_size", "185000"])
            _ = try? await runCommand(ip, ["netns", "exec", namespace, python, script, device, "185000"])
        }
    }

    /// RTM_NEWLINK with IFLA_GSO_IPV4_MAX_SIZE (63) and IFLA_GRO_IPV4_MAX_SIZE (64), linux/if_link.h.
    static let ipv4BigTCPScript = """
        import socket, struct, sys
        device, size = sys.argv[1], int(sys.argv[2])
        attributes = b"".join(struct.pack("HHI", 8, kind, size) for kind in (63, 64))
        body = struct.pack("BxHiII", 0, 0, socket.if_nametoindex(device), 0, 0) + attributes
        request = struct.pack("IHHII", 16 + len(body), 16, 0x1 | 0x4, 1, 0) + body
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as s:
            s.send(request)
            sys.exit(0 if struct.unpack("i", s.recv(4096)[16:20])[0] == 0 else 1)
        """

    /// Frames on the pair carry an 802.1Q tag (VLAN 100), pushed on egress and popped on ingress
    /// at both ends by tc-bpf (kernels without CONFIG_VLAN_8021Q have no `type vlan`): capturing
    /// on `vs` is capturing on a VLAN sub-interface's parent. The tag of a transmitted frame is
    /// kept beside the packet unless `inBandOnTransmit` turns the server end's tx VLAN offload off
    /// (as on virtio-net), where it is written into the frame the capture sees.
    func tagFrames(in directory: TemporaryDirectory, inBandOnTransmit: Bool) async throws {
        let clang = try BuiltExecutable.requiredTool("clang", package: "clang")
        let tc = try BuiltExecutable.requiredTool("tc", package: "iproute2")
        let source = try directory.write("vlan.c", Self.vlanProgram)
        let object = directory.file("vlan.o")
        try await run(clang, ["-O2", "-target", "bpfel", "-c", source, "-o", object])
        for (namespace, device) in [(server, "vs"), (client, "vc")] {
            try await run(ip, ["netns", "exec", namespace, tc, "qdisc", "add", "dev", device, "clsact"])
            for (direction, section) in [("egress", "tc_push"), ("ingress", "tc_pop")] {
                try await run(
                    ip, ["netns", "exec", namespace, tc, "filter", "add", "dev", device, direction, "bpf", "da", "obj", object, "sec", section])
            }
        }
        if inBandOnTransmit {
            let ethtool = try BuiltExecutable.requiredTool("ethtool", package: "ethtool")
            try await run(ip, ["netns", "exec", server, ethtool, "-K", "vs", "txvlan", "off"])
        }
    }

    static let vlanProgram = """
        struct __sk_buff;
        static long (*bpf_skb_vlan_push)(struct __sk_buff *skb, unsigned short proto, unsigned short tci) = (void *)18;
        static long (*bpf_skb_vlan_pop)(struct __sk_buff *skb) = (void *)19;
        __attribute__((section("tc_push"), used)) int push(struct __sk_buff *skb) {
            bpf_skb_vlan_push(skb, __builtin_bswap16(0x8100), 100);
            return 0;
        }
        __attribute__((section("tc_pop"), used)) int pop(struct __sk_buff *skb) {
            bpf_skb_vlan_pop(skb);
            return 0;
        }
        char _license[] __attribute__((section("license"), used)) = "GPL";
        """

    /// A child process running `arguments` inside `namespace` (`ip netns exec` execs it: the
    /// child's PID is the program's own, so signals reach it).
    func process(
        in namespace: String, name: String, _ arguments: [String], directory: TemporaryDirectory
    ) throws -> ChildProcess {
        try ChildProcess(name: name, executable: ip, arguments: ["netns", "exec", namespace] + arguments, in: directory)
    }

    /// Runs a command to its end inside `namespace`.
    func command(in namespace: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> CommandResult {
        try await runCommand(ip, ["netns", "exec", namespace] + arguments, timeout: timeout)
    }

    /// Deletes both namespaces (the veth pair and every address go with them).
    func remove() {
        for namespace in [server, client] {
            let child = try? ChildProcess(
                name: "netns-del", executable: ip, arguments: ["netns", "delete", namespace],
                in: TemporaryDirectory())
            try? child?.start()
            _ = child.map { child in
                let deadline = ContinuousClock.now + .seconds(10)
                while child.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
            }
        }
    }

    private func run(_ executable: String, _ arguments: [String]) async throws {
        let result = try await runCommand(executable, arguments)
        guard result.status == 0 else {
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")): exit \(result.status): \(result.standardError)")
        }
    }
}

/// A keep-alive HTTP/1.1 server (Python) on port 8080 of every address, IPv4 and IPv6:
/// GET /big answers 300 kB of JSON with code 0, POST /up reads the body and answers code 0,
/// GET /bad answers 400 with code 40001.
enum LargeBodyServer {
    static let script = """
        import http.server, json, socket, sys

        BIG = json.dumps({"code": 0, "data": "x" * 300000}).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/big":
                    self.answer(200, BIG)
                else:
                    self.answer(400, b'{"code": 40001}')

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                self.answer(200, b'{"code": 0}')

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6

            def server_bind(self):
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                super().server_bind()

        server = Server(("::", 8080), Handler)
        print("ready", flush=True)
        server.serve_forever()
        """

    /// The client: `rounds` × (GET /big, POST /up with 300 kB, GET /bad) on one keep-alive
    /// connection to `host`; prints the statuses it got as JSON, e.g. {"200": 8, "400": 4}.
    static let client = """
        import collections, http.client, json, sys

        host, rounds = sys.argv[1], int(sys.argv[2])
        body = json.dumps({"code": 0, "blob": "y" * 300000}).encode()
        statuses = collections.Counter()
        connection = http.client.HTTPConnection(host, 8080, timeout=20)
        for _ in range(rounds):
            for method, path, payload in (("GET", "/big", None), ("POST", "/up", body), ("GET", "/bad", None)):
                headers = {"Content-Type": "application/json"} if payload else {}
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                response.read()
                statuses[str(response.status)] += 1
        connection.close()
        print(json.dumps(statuses))
        """
}
