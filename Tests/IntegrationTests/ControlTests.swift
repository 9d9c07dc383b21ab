import Foundation
import Testing

/// Every CLI command against the real daemon, through the real `bulkhead` binary.
@Suite("Control socket and CLI")
struct ControlTests {
    static let config = """
    defaults:
      backoff: { initial: 50ms, max: 200ms }
      crash_loop: { same_crash: 0, max_restarts: 1000 }
    workers:
      - name: api
        command: [/bin/sh, -c, "echo hello from $BULKHEAD_INSTANCE; echo oops >&2; exec sleep 1000"]
        instances: 2
      - name: talker
        command: [/bin/sh, -c, "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done"]
    """

    @Test("status: a table with a summary line, --json with the documented schema, names filter")
    func status() throws {
        let daemon = try DaemonHarness(Self.config)
        try daemon.start()
        try daemon.waitForStatus(what: "all running") { $0.values.allSatisfy { $0["state"] as? String == "running" } && $0.count == 3 }

        let table = try daemon.cli(["status"])
        #expect(table.code == 0)
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("INSTANCE") == true)
        #expect(lines.first?.contains("RESTARTS") == true)
        #expect(lines.contains { $0.hasPrefix("api:0 ") && $0.contains("running") })
        #expect(lines.last?.contains("3/3 running") == true)

        let (document, instances) = try daemon.statusJSON()
        #expect((document["daemon"] as? [String: Any])?["pid"] as? Int == Int(daemon.daemonPID))
        #expect((document["daemon"] as? [String: Any])?["protocol"] as? Int == 1)
        #expect(document["summary"] as? String == "3/3 running")
        #expect((document["counts"] as? [String: Any])?["running"] as? Int == 3)
        let api0 = try #require(instances["api:0"])
        for key in ["instance", "worker", "index", "state", "pid", "started_at", "uptime_ms", "restarts", "last_class",
                    "status_text", "next_attempt_in_ms", "wanted", "notify_rejected"] {
            #expect(api0.keys.contains(key), "status instance object lacks \(key)")
        }
        #expect(api0["worker"] as? String == "api")
        #expect(api0["index"] as? Int == 0)
        #expect((api0["pid"] as? Int ?? 0) > 0)

        let filtered = try daemon.statusJSON(["api:1", "talker"]).instances
        #expect(Set(filtered.keys) == ["api:1", "talker:0"])
        #expect(filtered["api:1"]?["index"] as? Int == 1 && filtered["talker:0"]?["worker"] as? String == "talker")
        // The daemon reuses each position's bytes between requests: after a filtered one, the
        // whole document must again say who is where.
        let again = try daemon.statusJSON().instances
        #expect(Set(again.keys) == ["api:0", "api:1", "talker:0"])
        for (name, object) in again {
            #expect(object["instance"] as? String == name)
            #expect("\(object["worker"] as? String ?? "?"):\(object["index"] as? Int ?? -1)" == name)
        }

        let unknown = try daemon.cli(["status", "nope"])
        #expect(unknown.code == 1)
        #expect(unknown.stderr.contains("\"nope\""))
        try daemon.stop()
    }

    @Test("status table: a worker's own status text is printed as sent, quotes, backslashes and all")
    func statusTableText() throws {
        // The daemon writes the table straight into a JSON string: every byte a worker may send
        // has to come out of the CLI as it went in.
        let text = #"say "hi" \ to C:\temp — ünïcode ✓"#
        let daemon = try DaemonHarness("""
        workers:
          - name: talker
            command: [{{crashlab}}, --notify-ready, --status, '\(text.replacingOccurrences(of: "'", with: "''"))']
            ready: notify
          - name: quiet
            command: [/bin/sh, -c, "exec sleep 1000"]
        """)
        try daemon.start()
        try daemon.waitForStatus(what: "talker has its status text") {
            $0["talker:0"]?["status_text"] as? String == text && $0["quiet:0"]?["state"] as? String == "running"
        }
        let table = try daemon.cli(["status"])
        #expect(table.code == 0)
        let lines = table.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let talker = try #require(lines.first { $0.hasPrefix("talker:0 ") })
        #expect(talker.hasSuffix("  " + text), "\(talker)")
        let quiet = try #require(lines.first { $0.hasPrefix("quiet:0 ") })
        #expect(!quiet.hasSuffix(" "), "a row without status text has trailing spaces: \(quiet)")
        // Every row's columns line up under the header.
        let header = try #require(lines.first)
        for column in ["STATE", "PID", "UPTIME", "RESTARTS", "LAST", "STATUS"] {
            let at = try #require(header.range(of: column)).lowerBound.utf16Offset(in: header)
            for row in column == "STATUS" ? [talker] : [talker, quiet] {
                let utf16 = Array(row.utf16)
                #expect(at < utf16.count && utf16[at - 1] == 0x20 && utf16[at] != 0x20, "\(column) misaligned in \(row)")
            }
        }
        #expect(lines.dropLast().last?.contains("2/2 running") == true)
        #expect(lines.last == "", "the table ends with a newline")
        try daemon.stop()
    }

    @Test("start, stop, restart and reset take NAME, NAME:i and all; unknown names are named and exit 1")
    func instanceCommands() throws {
        let daemon = try DaemonHarness(Self.config)
        try daemon.start()
        try daemon.waitForStatus(what: "all running") { $0.values.allSatisfy { $0["state"] as? String == "running" } && $0.count == 3 }

        let stop = try daemon.cli(["stop", "api:1"])
        #expect(stop.code == 0)
        #expect(stop.stdout.contains("api:1: stopping"))
        try daemon.waitForStatus(what: "api:1 stopped") { $0["api:1"]?["state"] as? String == "stopped" }
        #expect(try daemon.statusJSON().instances["api:0"]?["state"] as? String == "running")

        let start = try daemon.cli(["start", "api"])
        #expect(start.code == 0)
        #expect(start.stdout.contains("api:1: starting"))
        #expect(start.stdout.contains("api:0: already running"))
        try daemon.waitForStatus(what: "api:1 running") { $0["api:1"]?["state"] as? String == "running" }

        let before = try #require(try daemon.pid(of: "talker:0"))
        let restart = try daemon.cli(["restart", "talker"])
        #expect(restart.code == 0)
        #expect(restart.stdout.contains("talker:0: restarting"))
        try daemon.waitForStatus(what: "talker:0 has a new pid") {
            $0["talker:0"]?["state"] as? String == "running" && ($0["talker:0"]?["pid"] as? Int).map { $0 != before } == true
        }

        let reset = try daemon.cli(["reset", "all"])
        #expect(reset.code == 0)
        #expect(reset.stdout.contains("api:0"))
        #expect(reset.stdout.contains("talker:0"))

        let stopAll = try daemon.cli(["stop", "all"])
        #expect(stopAll.code == 0)
        try daemon.waitForStatus(what: "everything stopped") { $0.values.allSatisfy { $0["state"] as? String == "stopped" } }
        #expect(try daemon.cli(["start", "all"]).code == 0)
        try daemon.waitForStatus(what: "everything running again") { $0.values.allSatisfy { $0["state"] as? String == "running" } }

        for verb in ["start", "stop", "restart", "reset"] {
            let bad = try daemon.cli([verb, "api", "ghost", "api:9"])
            #expect(bad.code == 1, "\(verb) with unknown names")
            #expect(bad.stderr.contains("\"ghost\"") && bad.stderr.contains("\"api:9\""), "\(verb): \(bad.stderr)")
            #expect(bad.stderr.components(separatedBy: "\n").filter { !$0.isEmpty }.count == 1, "one sentence: \(bad.stderr)")
        }
        // Nothing was done for the known name of a refused command.
        #expect(try daemon.statusJSON().instances["api:0"]?["state"] as? String == "running")

        let none = try daemon.cli(["stop"])
        #expect(none.code == 2)
        try daemon.stop()
    }

    @Test("logs: the last N lines of a worker or an instance, and -f follows new ones")
    func logs() throws {
        let daemon = try DaemonHarness(Self.config)
        try daemon.start()
        try daemon.waitForLine(what: "talker tick 5") { $0.hasPrefix("talker:0 | tick 5") }
        try daemon.waitForLine(what: "api:1 stderr") { $0.hasPrefix("api:1 ! oops") }

        let api = try daemon.cli(["logs", "api"])
        #expect(api.code == 0)
        #expect(api.stdout.contains("api:0 | hello from api:0"))
        #expect(api.stdout.contains("api:1 | hello from api:1"))
        #expect(api.stdout.contains("api:1 ! oops"))

        let last = try daemon.cli(["logs", "talker:0", "-n", "3"])
        #expect(last.code == 0)
        #expect(last.stdout.split(separator: "\n").count == 3)

        let json = try daemon.cli(["logs", "api:0", "--json"])
        let first = try RawControlSocket.parse(String(json.stdout.split(separator: "\n").first ?? ""))
        #expect(first["instance"] as? String == "api:0")
        #expect(first["stream"] as? String == "stdout")
        #expect(first["text"] as? String == "hello from api:0")

        let follower = try StreamingProcess(Products.path("bulkhead"), ["logs", "talker", "-f", "-n", "1", "--socket", daemon.socketPath])
        let seen = try #require(follower.waitForLine(timeout: 30) { $0.contains("talker:0 | tick") })
        let firstTick = Int(seen.split(separator: " ").last ?? "") ?? -1
        let later = follower.waitForLine(timeout: 30) { line in
            line.contains("talker:0 | tick") && (Int(line.split(separator: " ").last ?? "") ?? -1) >= firstTick + 3
        }
        #expect(later != nil, "logs -f printed new lines: \(follower.output)")

        let bad = try daemon.cli(["logs", "nobody"])
        #expect(bad.code == 1)
        #expect(bad.stderr.contains("\"nobody\""))

        // The daemon going away ends the stream: the follower exits by itself.
        try daemon.stop()
        #expect(follower.waitForExit(timeout: 30) == 0)
    }

    @Test("signal injects a fault; crashes lists it newest first; crash shows the report")
    func signalAndCrashes() throws {
        let daemon = try DaemonHarness(Self.config)
        try daemon.start()
        try daemon.waitForStatus(what: "api running") { $0["api:0"]?["state"] as? String == "running" && $0["api:1"]?["state"] as? String == "running" }
        let pid = try #require(try daemon.pid(of: "api:0"))

        let mark = daemon.mark
        let sent = try daemon.cli(["signal", "api:0", "SEGV"])
        #expect(sent.code == 0)
        #expect(sent.stdout.contains("api:0: SIGSEGV sent to pid \(pid)"))
        let exit = try daemon.waitForEvent("api:0", "exit", after: mark, containing: ["SIGSEGV", "crash"])
        try daemon.waitForEvent("api:0", "spawn", after: mark)
        try daemon.waitForLine(after: mark, what: "the signal is logged") { $0.hasPrefix("api:0 * ") && $0.contains("SIGSEGV sent to pid \(pid) by uid 0") }
        let id = try #require(DaemonHarness.crashID(in: exit))

        // A second one, of another kind, on the other instance.
        let mark2 = daemon.mark
        #expect(try daemon.cli(["signal", "api:1", "9"]).code == 0)
        let exit2 = try daemon.waitForEvent("api:1", "exit", after: mark2, containing: ["SIGKILL"])
        let id2 = try #require(DaemonHarness.crashID(in: exit2))

        let list = try daemon.cli(["crashes"])
        #expect(list.code == 0)
        let rows = list.stdout.split(separator: "\n").map(String.init)
        #expect(rows.first?.hasPrefix("ID") == true)
        #expect(rows.count == 3)
        #expect(rows[1].hasPrefix(id2), "newest first: \(rows)")
        #expect(rows[2].hasPrefix(id))

        let json = try daemon.cli(["crashes", "api:0", "--json"])
        let array = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(array?.count == 1)
        #expect(array?.first?["id"] as? String == id)
        #expect(array?.first?["class"] as? String == "crash")

        let shown = try daemon.cli(["crash", id])
        #expect(shown.code == 0)
        #expect(shown.stdout.hasPrefix("crash \(id)"))
        #expect(shown.stdout.contains("killed by SIGSEGV"))
        let full = try daemon.cli(["crash", id, "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(full.stdout.utf8)) as? [String: Any]
        #expect(report?["id"] as? String == id)
        #expect(report?["signal"] as? String == "SEGV")
        #expect(report?["pid"] as? Int == pid)
        #expect(report?["stderr_tail"] as? [String] == ["oops"])

        let missing = try daemon.cli(["crash", "20000101-000000-000-nope-0"])
        #expect(missing.code == 1)
        #expect(missing.stderr.contains("bulkhead crashes"))
        let traversal = try daemon.cli(["crash", "../../../etc/passwd"])
        #expect(traversal.code == 1)

        let badSignal = try daemon.cli(["signal", "api:0", "NOTASIGNAL"])
        #expect(badSignal.code == 2)
        let unknown = try daemon.cli(["signal", "ghost", "TERM"])
        #expect(unknown.code == 1)
        #expect(unknown.stderr.contains("\"ghost\""))
        try daemon.stop()
    }

    @Test("no daemon: exit 3 and one sentence that says how to start it; BULKHEAD_SOCKET is honoured")
    func unreachable() throws {
        let path = "/tmp/bh-nobody-\(getpid())/control.sock"
        let result = try Products.run("bulkhead", ["status", "--socket", path])
        #expect(result.code == 3)
        #expect(result.stderr == "bulkhead is not running at \(path): start it with `bulkhead daemon` or `systemctl start bulkhead`, or point --socket / BULKHEAD_SOCKET at its socket\n")
        let viaEnvironment = try Products.run("bulkhead", ["status"], environment: ["BULKHEAD_SOCKET": path])
        #expect(viaEnvironment.code == 3)
        #expect(viaEnvironment.stderr.contains(path))

        let daemon = try DaemonHarness(Self.config)
        try daemon.start()
        let served = try Products.run("bulkhead", ["status"], environment: ["BULKHEAD_SOCKET": daemon.socketPath])
        #expect(served.code == 0)
        #expect(served.stdout.contains("api:0"))
        try daemon.stop()
    }

    @Test("a second daemon on the same socket refuses to start; a dead daemon's socket is replaced")
    func secondDaemonAndStaleSocket() throws {
        let first = try DaemonHarness("""
        workers:
          - name: idle
            command: [/bin/sleep, "1000"]
        """)
        try first.start()
        let second = try Products.run("bulkhead", ["daemon", "--config", first.configPath, "--socket", first.socketPath])
        #expect(second.code == 1)
        #expect(second.stderr.contains("another bulkhead daemon (pid \(first.daemonPID)) is already running"))
        #expect(second.stderr.split(separator: "\n").count == 1)
        #expect(try first.cli(["status"]).code == 0, "the first daemon still serves")
        let worker = try first.waitForStatus(what: "idle running") { $0["idle:0"]?["pid"] as? Int != nil }["idle:0"]?["pid"] as? Int

        // SIGKILL leaves the socket file behind; the next daemon replaces it.
        try first.stop(signal: SIGKILL)
        // Its worker lives on in its own session: end it.
        if let worker { kill(Int32(worker), SIGKILL) }
        #expect(FileManager.default.fileExists(atPath: first.socketPath))
        #expect(try first.cli(["status"]).code == 3)
        try first.start()
        #expect(try first.cli(["status"]).code == 0)
        try first.stop()
        #expect(!FileManager.default.fileExists(atPath: first.socketPath), "a daemon that exits removes its socket")
    }

    @Test("usage errors exit 2; --help has examples; completion scripts are generated")
    func usageAndHelp() throws {
        let bad = try Products.run("bulkhead", ["status", "--bogus"])
        #expect(bad.code == 2)
        #expect(bad.stderr.contains("Usage"))
        let noName = try Products.run("bulkhead", ["logs"])
        #expect(noName.code == 2)
        for command in ["status", "start", "stop", "restart", "reset", "reload", "logs", "crashes", "crash", "signal", "check-config", "daemon"] {
            let help = try Products.run("bulkhead", [command, "--help"])
            #expect(help.code == 0, "\(command) --help")
            #expect(help.stdout.contains("Example"), "\(command) --help has examples")
        }
        let bash = try Products.run("bulkhead", ["--generate-completion-script", "bash"])
        #expect(bash.code == 0)
        #expect(bash.stdout.contains("status"))
    }

    @Test("bulkhead answers a plain status itself and hands everything else to bulkhead-cli next to it")
    func frontAndFullCLI() throws {
        let daemon = try DaemonHarness(Self.config)
        try daemon.start()
        try daemon.waitForStatus(what: "api:0 running") { $0["api:0"]?["state"] as? String == "running" }
        // A copy of `bulkhead` alone in a directory: no bulkhead-cli beside it.
        let alone = NSTemporaryDirectory() + "bh-front-\(getpid())"
        try FileManager.default.createDirectory(atPath: alone, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: alone) }
        try FileManager.default.copyItem(atPath: Products.path("bulkhead"), toPath: alone + "/bulkhead")

        for arguments in [["status"], ["status", "api"], ["status", "--json"], ["status", "api:0", "--socket=\(daemon.socketPath)"]] {
            let plain = try Products.run("bulkhead", arguments + ["--socket", daemon.socketPath], from: alone)
            #expect(plain.code == 0, "\(arguments): \(plain.stderr)")
            #expect(plain.stdout.contains("api:0"), "\(arguments)")
        }
        for arguments in [["stop", "api:1"], ["status", "--help"], ["--version"]] {
            let handed = try Products.run("bulkhead", arguments + ["--socket", daemon.socketPath], from: alone)
            #expect(handed.code == 1, "\(arguments)")
            #expect(handed.stderr == "bulkhead: cannot run \(alone)/bulkhead-cli: No such file or directory; install bulkhead-cli next to bulkhead (swift build puts both in .build/<configuration>/)\n")
        }
        #expect(try daemon.statusJSON().instances["api:1"]?["state"] as? String == "running", "the lone front changed nothing")

        // Next to it, the same command lines are served, as they are from the build directory.
        let version = try Products.run("bulkhead", ["--version"])
        #expect(version.code == 0 && version.stdout.hasPrefix("0."), "\(version.stderr)")
        let stop = try Products.run("bulkhead", ["stop", "api:1", "--socket", daemon.socketPath])
        #expect(stop.code == 0 && stop.stdout.contains("api:1: stopping"), "\(stop.stderr)")
        try daemon.stop()
    }
}

extension Products {
    /// Runs a system tool (not one of ours).
    static func runTool(_ path: String, _ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}
