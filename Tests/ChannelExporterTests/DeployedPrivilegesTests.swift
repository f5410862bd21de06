// deploy/channel-exporter.service and deploy/daemonset.yaml grant what the exporter needs: the unit
// passes `systemd-analyze verify`, the exporter captures, serves and writes its exchange log as a
// user holding only the unit's capabilities (set with setpriv as systemd's AmbientCapabilities=
// sets them), a user without them is told how to grant them, and the DaemonSet adds the same
// capabilities and probes a path the exporter answers. (`make check-image` runs the image as the
// DaemonSet's container runs it.)
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

enum DeployedPrivileges {
    static let unitPath = AlertRules.deploy + "/channel-exporter.service"
    static let daemonSetPath = AlertRules.deploy + "/daemonset.yaml"
    /// `nobody`: a user with no file of its own, as systemd's DynamicUser= is.
    static let user: uid_t = 65534

    /// The values of `key=` in the unit, in order (comments left out).
    static func unitValues(_ key: String) throws -> [String] {
        let text = try String(contentsOfFile: unitPath, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix(key + "=") else { return nil }
            return String(line.dropFirst(key.count + 1))
        }
    }

    /// A space-separated capability list of the unit (`CAP_NET_RAW …`).
    static func unitCapabilities(_ key: String) throws -> Set<String> {
        Set(try unitValues(key).flatMap { $0.split(separator: " ").map(String.init) })
    }

    /// The capabilities the DaemonSet's container adds, as `CAP_…`.
    static func daemonSetCapabilities() throws -> (added: Set<String>, dropsAll: Bool) {
        let text = try String(contentsOfFile: daemonSetPath, encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.contains("capabilities:") && !$0.contains("#") }),
            let open = line.range(of: "add: ["), let close = line[open.upperBound...].firstIndex(of: "]")
        else { throw TestFailure("\(daemonSetPath): no `capabilities: {add: [...]}` line") }
        let added = line[open.upperBound..<close].split(separator: ",").map {
            "CAP_" + $0.trimmingCharacters(in: CharacterSet(charactersIn: " \""))
        }
        return (Set(added), line.contains("drop: [\"ALL\"]"))
    }

    /// The path of the DaemonSet's liveness probe.
    static func daemonSetProbePath() throws -> String {
        let lines = try String(contentsOfFile: daemonSetPath, encoding: .utf8).split(separator: "\n")
        guard let probe = lines.firstIndex(where: { $0.contains("livenessProbe:") }), probe + 1 < lines.count,
            let path = lines[probe + 1].range(of: "path: ")
        else { throw TestFailure("\(daemonSetPath): no livenessProbe with an httpGet path") }
        return String(lines[probe + 1][path.upperBound...].prefix { $0 != "," && $0 != "}" && $0 != " " })
    }

    /// setpriv's arguments for `user` holding `capabilities` (`CAP_NET_RAW` …) and nothing else,
    /// with no_new_privs, as systemd starts the unit: ambient, inheritable, permitted and
    /// effective sets equal to them, and the bounding set too.
    static func setprivArguments(capabilities: Set<String>) -> [String] {
        let names = capabilities.sorted().map { "+" + $0.dropFirst(4).lowercased() }.joined(separator: ",")
        let list = names.isEmpty ? "-all" : "-all," + names
        return [
            "--reuid=\(user)", "--regid=\(user)", "--clear-groups", "--no-new-privs",
            "--inh-caps=\(list)", "--ambient-caps=\(list)", "--bounding-set=\(list)",
        ]
    }

    /// The capability mask of `CAP_…` names this test knows.
    static func mask(_ capabilities: Set<String>) throws -> UInt64 {
        let numbers = ["CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_NET_BIND_SERVICE": 10, "CAP_SYS_ADMIN": 21]
        return try capabilities.reduce(0) { mask, name in
            guard let number = numbers[name] else { throw TestFailure("\(name): not a capability this test knows") }
            return mask | (1 << number)
        }
    }

    /// `field:` of /proc/PID/status.
    static func status(_ pid: pid_t, _ field: String) throws -> String {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else {
            throw TestFailure("/proc/\(pid)/status has no \(field)")
        }
        return line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces)
    }

    /// The sizes of the shared mappings of sockets in /proc/PID/maps (libpcap's packet ring).
    static func socketMappingSizes(_ pid: pid_t) throws -> [UInt64] {
        try String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8).split(separator: "\n").compactMap { line in
            guard line.contains("socket:[") else { return nil }
            let bounds = line.prefix { $0 != " " }.split(separator: "-").compactMap { UInt64($0, radix: 16) }
            return bounds.count == 2 ? bounds[1] - bounds[0] : nil
        }
    }

    /// A directory `user` can read (the configuration) with a subdirectory it owns (the log).
    static func directoryForUser() throws -> (TemporaryDirectory, log: String) {
        let directory = try TemporaryDirectory()
        chmod(directory.path, 0o755)
        let log = directory.file("log")
        guard mkdir(log, 0o755) == 0, chown(log, user, user) == 0 else {
            throw TestFailure("cannot make \(log) for uid \(user): \(String(cString: strerror(errno)))")
        }
        return (directory, log)
    }
}

@Suite struct DeployedPrivilegesTests {
    /// `systemd-analyze verify` in a root of its own (systemd need not run here): the unit's
    /// keys are known and its commands are executable files; any warning fails.
    @Test func theUnitVerifies() async throws {
        let analyze = try BuiltExecutable.requiredTool("systemd-analyze", package: "systemd")
        let units = ["/usr/lib/systemd/system", "/lib/systemd/system"].first {
            FileManager.default.fileExists(atPath: $0 + "/sysinit.target")
        }
        guard let units else { throw TestFailure("no systemd units (sysinit.target): apt-get install -y systemd") }
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let manager = FileManager.default
        try manager.createDirectory(atPath: root.file("usr/lib/systemd"), withIntermediateDirectories: true)
        try manager.copyItem(atPath: units, toPath: root.file("usr/lib/systemd/system"))
        try manager.createDirectory(atPath: root.file("etc/systemd/system"), withIntermediateDirectories: true)
        try manager.copyItem(atPath: DeployedPrivileges.unitPath, toPath: root.file("etc/systemd/system/channel-exporter.service"))
        // The commands it runs, as executable files where the unit expects them.
        for command in try DeployedPrivileges.unitValues("ExecStart") + DeployedPrivileges.unitValues("ExecReload") {
            guard let program = command.split(separator: " ").first, program.hasPrefix("/") else { continue }
            let path = root.path + program
            try manager.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try root.write(String(program.dropFirst()), "#!/bin/sh\n")
            chmod(path, 0o755)
        }
        let result = try await runCommand(
            analyze, ["verify", "--root=\(root.path)", "/etc/systemd/system/channel-exporter.service"])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.isEmpty && result.standardError.isEmpty, "\(result.standardOutput)\(result.standardError)")
    }

    /// Ambient capabilities outside the bounding set are dropped without a word; the DaemonSet's
    /// container gets the same ones (and no others).
    @Test func theUnitAndTheDaemonSetGrantTheSameCapabilities() throws {
        let ambient = try DeployedPrivileges.unitCapabilities("AmbientCapabilities")
        let bounding = try DeployedPrivileges.unitCapabilities("CapabilityBoundingSet")
        #expect(!ambient.isEmpty)
        #expect(ambient.isSubset(of: bounding), "ambient \(ambient.sorted()), bounding \(bounding.sorted())")
        let pod = try DeployedPrivileges.daemonSetCapabilities()
        #expect(pod.added == ambient, "DaemonSet adds \(pod.added.sorted()), the unit \(ambient.sorted())")
        #expect(pod.dropsAll)
    }

    /// The unit's capabilities as a user of no account (`nobody`), with no_new_privs: `run` on lo
    /// counts three exchanges, serves them and the DaemonSet's probe path, keeps its configured
    /// 8 MiB ring, writes the exchange log in a directory it owns and reopens it on SIGHUP.
    @Test(.enabled(if: geteuid() == 0, "switching to another user needs root"))
    func capturesAsAUserWithOnlyTheUnitsCapabilities() async throws {
        let setpriv = try BuiltExecutable.requiredTool("setpriv", package: "util-linux")
        let capabilities = try DeployedPrivileges.unitCapabilities("AmbientCapabilities")
        let (directory, log) = try DeployedPrivileges.directoryForUser()
        defer { directory.remove() }
        let server = try await JSONServer(in: directory, name: "server")
        defer { server.stop() }
        let exchanges = log + "/exchanges.jsonl"
        let exporter = try await LiveExporter(
            inboundPorts: [server.port], in: directory, extraArguments: ["--exchanges", exchanges],
            extraConfiguration: "capture:\n  buffer_size_mib: 8\n",
            launcher: [setpriv] + DeployedPrivileges.setprivArguments(capabilities: capabilities))
        defer { exporter.stop() }
        let pid = exporter.child.pid
        #expect(try DeployedPrivileges.status(pid, "Uid").hasPrefix("\(DeployedPrivileges.user)\t"))
        let effective = try UInt64(DeployedPrivileges.status(pid, "CapEff"), radix: 16)
        #expect(try effective == DeployedPrivileges.mask(capabilities))
        #expect(try DeployedPrivileges.status(pid, "NoNewPrivs") == "1")

        // Other tests' traffic crosses lo too: only this server's exchanges are counted here.
        try await sendRequests(to: "http://127.0.0.1:\(server.port)/deployed", keepAlive: 2, newConnections: 1)
        let series = #"A123010101_inner_metrics_count{appid="A123",application="A123010101",code="0",f_code="live-e2e",http_status="200",method_code="",path="/deployed",uri="/deployed"}"#
        let (count, exposition) = try await exporter.waitForSample(series, atLeast: 3)
        #expect(count == 3, "\(exposition)")
        // libpcap's ring, as configured: the capability it needs is CAP_NET_RAW, not CAP_NET_ADMIN.
        #expect(try DeployedPrivileges.socketMappingSizes(pid) == [8 << 20])
        let probe = try DeployedPrivileges.daemonSetProbePath()
        #expect(try await httpGet("http://127.0.0.1:\(exporter.metricsPort)\(probe)") != nil, "probe path \(probe)")

        func logged(_ path: String, in file: String) -> Int {
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").filter {
                $0.contains(#""server":"127.0.0.1:\#(server.port)""#) && $0.contains(#""path":"\#(path)""#)
            }.count
        }
        let written = await poll(timeout: .seconds(10)) { () -> Int? in
            let lines = logged("/deployed", in: exchanges)
            return lines >= 3 ? lines : nil
        }
        #expect(written == 3)
        var owner = stat()
        #expect(stat(exchanges, &owner) == 0 && owner.st_uid == DeployedPrivileges.user)
        // logrotate's move, then `systemctl reload`: a new file, made by that user.
        #expect(rename(exchanges, exchanges + ".1") == 0)
        exporter.child.signal(SIGHUP)
        // Applied at the next packet: each round sends one.
        let reloaded = try await poll(timeout: .seconds(30), every: .milliseconds(200)) { () async throws -> Bool? in
            try touchLoopback()
            guard let text = try await exporter.scrape() else { return nil }
            return (sampleValue(#"channel_exporter_config_reloads_total{result="success"}"#, in: text) ?? 0) >= 1 ? true : nil
        }
        #expect(reloaded == true, "\(exporter.child.standardError)")
        try await sendRequests(to: "http://127.0.0.1:\(server.port)/rotated", keepAlive: 0, newConnections: 1)
        let reopened = await poll(timeout: .seconds(10)) { logged("/rotated", in: exchanges) == 1 ? true : nil }
        #expect(reopened == true, "\(exporter.child.standardError)")
        #expect(logged("/deployed", in: exchanges + ".1") == 3 && logged("/rotated", in: exchanges + ".1") == 0)
        #expect(exporter.child.isRunning, "\(exporter.child.standardError)")
    }

    /// Without a capability, as a user: one line that names the capability and how to grant it.
    @Test(.enabled(if: geteuid() == 0, "switching to another user needs root"))
    func withoutTheCapabilityAUserIsToldHowToGrantIt() async throws {
        let setpriv = try BuiltExecutable.requiredTool("setpriv", package: "util-linux")
        let port = try freeLoopbackPort()
        let result = try await runCommand(
            setpriv,
            DeployedPrivileges.setprivArguments(capabilities: []) + [
                try BuiltExecutable.path(), "run", "--syscode", "A123010101", "--interface", "lo",
                "--web.listen-address", "127.0.0.1:\(port)",
            ], timeout: .seconds(30))
        expectOneLineError(
            result,
            mentioning: ["capturing on lo", "CAP_NET_RAW", "setcap cap_net_raw+ep", "AmbientCapabilities=CAP_NET_RAW"])
    }
}
