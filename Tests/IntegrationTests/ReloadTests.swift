import Foundation
import Testing

/// `bulkhead reload` against the real daemon: what changes is touched, nothing else; an invalid
/// config changes nothing and says every error with its file, line and key.
@Suite("Reload, against the daemon")
struct ReloadTests {
    static func config(extra: String = "", policyBackoff: String = "100ms", cmdArgument: String = "1000", withGone: Bool = true) -> String {
        var text = """
        defaults:
          crash_loop: { same_crash: 0 }
        workers:
          - name: keep
            command: [/bin/sleep, "1000"]
          - name: policy
            command: [/bin/sleep, "1000"]
            backoff: { initial: \(policyBackoff), max: 1s }
          - name: cmd
            command: [/bin/sleep, "\(cmdArgument)"]

        """
        if withGone {
            text += """
              - name: gone
                command: [/bin/sleep, "1000"]

            """
        }
        return text + extra
    }

    static func allRunning(_ names: [String]) -> ([String: [String: Any]]) -> Bool {
        { instances in names.allSatisfy { instances[$0]?["state"] as? String == "running" } && instances.count == names.count }
    }

    @Test("add, remove, change a command (restarts), change policy only (same pid)")
    func validChanges() throws {
        let daemon = try DaemonHarness(Self.config())
        try daemon.start()
        let first = try daemon.waitForStatus(what: "four running", Self.allRunning(["keep:0", "policy:0", "cmd:0", "gone:0"]))
        let pids = first.mapValues { $0["pid"] as? Int ?? 0 }

        try daemon.write(config: Self.config(extra: """
          - name: added
            command: [/bin/sleep, "1000"]

        """, policyBackoff: "300ms", cmdArgument: "2000", withGone: false))
        let mark = daemon.mark
        let reload = try daemon.cli(["reload"])
        #expect(reload.code == 0, "\(reload.stderr)")
        #expect(reload.stdout.contains("added added"))
        #expect(reload.stdout.contains("removed gone"))
        #expect(reload.stdout.contains("restarted cmd"))
        #expect(reload.stdout.contains("updated in place policy"))
        try daemon.waitForEvent("bulkhead", "reload", after: mark, containing: ["configuration reloaded"])

        let after = try daemon.waitForStatus(what: "the new set running", Self.allRunning(["keep:0", "policy:0", "cmd:0", "added:0"]))
        #expect(after["keep:0"]?["pid"] as? Int == pids["keep:0"], "unchanged worker keeps its process")
        #expect(after["policy:0"]?["pid"] as? Int == pids["policy:0"], "a policy change keeps the process")
        #expect(after["cmd:0"]?["pid"] as? Int != pids["cmd:0"], "a command change restarts")
        #expect(after["gone:0"] == nil)
        #expect(kill(Int32(pids["gone:0"] ?? 0), 0) != 0, "the removed worker's process is gone")

        // --json has the same summary in fields.
        let again = try daemon.cli(["reload", "--json"])
        let summary = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any]
        #expect((summary?["unchanged"] as? [String])?.sorted() == ["added", "cmd", "keep", "policy"])
        try daemon.stop()
    }

    @Test("invalid YAML, an invalid value, a dependency cycle: refused with file, line and key; nothing running is disturbed")
    func invalidChanges() throws {
        let daemon = try DaemonHarness(Self.config())
        try daemon.start()
        let before = try daemon.waitForStatus(what: "four running", Self.allRunning(["keep:0", "policy:0", "cmd:0", "gone:0"]))
        let pids = before.mapValues { $0["pid"] as? Int ?? 0 }
        let mark = daemon.mark

        // Invalid YAML.
        try daemon.write(config: Self.config() + "  - name: [unclosed\n")
        let yaml = try daemon.cli(["reload"])
        #expect(yaml.code == 1)
        #expect(yaml.stderr.contains("nothing was changed"))
        #expect(yaml.stderr.contains(daemon.configPath + ":"), "names the file and line: \(yaml.stderr)")

        // An invalid value, and a second error: every one is listed, each with line and key.
        try daemon.write(config: """
        defaults:
          crash_loop: { same_crash: 0 }
        workers:
          - name: keep
            command: [/bin/sleep, "1000"]
          - name: policy
            command: [/bin/sleep, "1000"]
          - name: cmd
            command: [/bin/sleep, "1000"]
            instances: zwei
            restart: sometimes
          - name: gone
            command: [/bin/sleep, "1000"]
        """)
        let value = try daemon.cli(["reload"])
        #expect(value.code == 1)
        #expect(value.stderr.contains("instances"), "\(value.stderr)")
        #expect(value.stderr.contains("zwei"))
        #expect(value.stderr.contains("restart"))
        #expect(value.stderr.contains("sometimes"))
        let errorLines = value.stderr.split(separator: "\n").filter { $0.hasPrefix("  \(daemon.configPath):") }
        #expect(errorLines.count >= 2, "one line per error with file:line: \(value.stderr)")
        #expect(errorLines.allSatisfy { $0.contains("workers[2].") }, "each names its key: \(value.stderr)")

        // A dependency cycle.
        try daemon.write(config: Self.config(extra: """
          - name: a
            command: [/bin/sleep, "1000"]
            depends_on: [b]
          - name: b
            command: [/bin/sleep, "1000"]
            depends_on: [a]

        """))
        let cycle = try daemon.cli(["reload"])
        #expect(cycle.code == 1)
        #expect(cycle.stderr.contains("cycle"), "\(cycle.stderr)")
        #expect(cycle.stderr.contains("depends_on"))

        // JSON: the error code and every error as a detail.
        let json = try RawControlSocket(path: daemon.socketPath).request(#"{"v":1,"cmd":"reload"}"#)
        let error = json["error"] as? [String: Any]
        #expect(json["ok"] as? Bool == false)
        #expect(error?["code"] as? String == "config_invalid")
        #expect((error?["details"] as? [String])?.isEmpty == false)

        // Nothing was touched: same processes, no spawn or stop since.
        let after = try daemon.statusJSON().instances
        #expect(after.mapValues { $0["pid"] as? Int ?? 0 } == pids)
        #expect(after.values.allSatisfy { $0["state"] as? String == "running" })
        let since = Array(daemon.output[mark...])
        #expect(!since.contains { $0.contains(" * spawn:") || $0.contains(" * stop:") || $0.contains(" * exit:") }, "\(since)")
        #expect(since.filter { $0.contains("reload refused") }.count >= 3)

        // A fixed config then applies.
        try daemon.write(config: Self.config())
        #expect(try daemon.cli(["reload"]).code == 0)
        try daemon.stop()
    }

    @Test("SIGHUP reloads like `bulkhead reload`")
    func sighup() throws {
        let daemon = try DaemonHarness(Self.config(withGone: false))
        try daemon.start()
        try daemon.waitForStatus(what: "three running", Self.allRunning(["keep:0", "policy:0", "cmd:0"]))
        try daemon.write(config: Self.config(extra: """
          - name: added
            command: [/bin/sleep, "1000"]

        """, withGone: false))
        let mark = daemon.mark
        kill(daemon.daemonPID, SIGHUP)
        try daemon.waitForEvent("bulkhead", "reload", after: mark, containing: ["added added"])
        try daemon.waitForStatus(what: "added running", Self.allRunning(["keep:0", "policy:0", "cmd:0", "added:0"]))
        try daemon.stop()
    }
}
