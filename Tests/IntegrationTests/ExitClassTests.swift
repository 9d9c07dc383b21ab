import Foundation
import Testing

/// SPEC §3's default table for exits, corruption with dependents, and a worker's own `rules`,
/// with real processes exiting under the real daemon.
@Suite("Exit classes")
struct ExitClassTests {
    @Test("exit 0 is clean: restart on-failure leaves it stopped, restart always starts it again")
    func cleanExit() async throws {
        try await withDaemon("""
        workers:
          - name: once
            command: [{{crashlab}}, --exit, "0"]
          - name: forever
            command: [{{crashlab}}, --exit, "0", --after, 100ms]
            restart: always
            backoff: { initial: 100ms, max: 100ms, jitter: 0 }
        """) { daemon in
            let once = try await daemon.next("once:0", "exit")
            #expect(once.line.contains("exited with code 0: clean (default: exit 0); none: restart is on-failure"), "\(once.line)")
            #expect(DaemonHarness.crashID(in: once.line) == nil, "a clean exit writes no crash report")

            let first = try await daemon.next("forever:0", "exit")
            #expect(first.line.contains("exited with code 0: clean (default: exit 0)"), "\(first.line)")
            let again = try await daemon.next("forever:0", "spawn", after: first.index)
            let second = try await daemon.next("forever:0", "exit", after: again.index)
            try await daemon.next("forever:0", "spawn", after: second.index)

            // By now `forever` has been started three times; `once` was never started again.
            #expect(daemon.events("spawn", of: "once:0").count == 1)
            let states = try await daemon.instances()
            #expect(states["once:0"]?["state"] as? String == "stopped")
            #expect(states["once:0"]?["last_class"] as? String == "clean")
            #expect(!daemon.crashReports().contains { $0["worker"] as? String == "once" || $0["worker"] as? String == "forever" })
        }
    }

    @Test("exit 75 and other non-zero codes outside 64-78 are transient and restarted")
    func transientExits() async throws {
        let codes = [75, 1, 2, 63, 79, 99, 255]
        let workers = codes.map { code in
            """
              - name: code\(code)
                command: [{{crashlab}}, --exit, "\(code)"]
            """
        }.joined(separator: "\n")
        try await withDaemon("""
        defaults:
          backoff: { initial: 300ms, max: 300ms, jitter: 0 }
          # One restart, then the breaker holds it: a crash loop would only load the machine.
          crash_loop: { max_restarts: 1, window: 1h, cooldown: 1h }
        workers:
        \(workers)
        """) { daemon in
            for code in codes {
                let exit = try await daemon.next("code\(code):0", "exit")
                let rule = code == 75 ? "default: exit 75 (EX_TEMPFAIL)" : "default: exit \(code)"
                #expect(exit.line.contains("exited with code \(code): transient (\(rule)); restart in"), "\(exit.line)")
                let report = try daemon.report(for: exit)
                #expect(report["class"] as? String == "transient")
                #expect(report["exit_code"] as? Int == code)
                #expect(report["rule"] as? String == rule)
                try await daemon.next("code\(code):0", "backoff", after: exit.index)
                try await daemon.next("code\(code):0", "spawn", after: exit.index)
            }
        }
    }

    @Test("exit 64-78 except 75 is persistent: failed, never restarted")
    func persistentExits() async throws {
        let codes = Array(64...78).filter { $0 != 75 }
        let names = [64: "EX_USAGE", 65: "EX_DATAERR", 66: "EX_NOINPUT", 67: "EX_NOUSER", 68: "EX_NOHOST",
                     69: "EX_UNAVAILABLE", 70: "EX_SOFTWARE", 71: "EX_OSERR", 72: "EX_OSFILE", 73: "EX_CANTCREAT",
                     74: "EX_IOERR", 76: "EX_PROTOCOL", 77: "EX_NOPERM", 78: "EX_CONFIG"]
        let workers = codes.map { code in
            """
              - name: code\(code)
                command: [{{crashlab}}, --exit, "\(code)"]
            """
        }.joined(separator: "\n")
        try await withDaemon("""
        defaults:
          backoff: { initial: 50ms, max: 50ms, jitter: 0 }
        workers:
        \(workers)
        """) { daemon in
            for code in codes {
                let instance = "code\(code):0"
                let exit = try await daemon.next(instance, "exit")
                let rule = "default: exit \(code) (\(names[code] ?? "?"))"
                #expect(exit.line.contains("exited with code \(code): persistent (\(rule)); failed"), "\(exit.line)")
                try await daemon.next(instance, "failed", after: exit.index, containing: ["failed (persistent)"])
                let report = try daemon.report(for: exit)
                #expect(report["class"] as? String == "persistent")
                #expect(report["rule"] as? String == rule)
                #expect((report["action"] as? String)?.hasPrefix("failed") == true)
            }
            let states = try await daemon.instances()
            for code in codes {
                #expect(states["code\(code):0"]?["state"] as? String == "failed", "code\(code):0")
                #expect(daemon.events("spawn", of: "code\(code):0").count == 1, "code\(code):0 was started again")
            }
        }
    }

    @Test("exit 86 is corruption: quarantined, every dependent stopped, the rest untouched")
    func corruption() async throws {
        try await withDaemon("""
        defaults:
          backoff: { initial: 50ms, max: 50ms, jitter: 0 }
        workers:
          - name: db
            command: [/bin/sh, -c, "echo up; while [ ! -e {{dir}}/corrupt ]; do sleep 0.02; done; exit 86"]
          - name: app
            command: [{{crashlab}}]
            depends_on: [db]
          - name: web
            command: [{{crashlab}}]
            depends_on: [app]
          - name: other
            command: [{{crashlab}}]
        """) { daemon in
            let running = try await daemon.status(what: "every instance running") { states in
                ["db:0", "app:0", "web:0", "other:0"].allSatisfy { states[$0]?["state"] as? String == "running" }
            }
            let appPID = try #require(running["app:0"]?["pid"] as? Int)
            let webPID = try #require(running["web:0"]?["pid"] as? Int)
            let otherPID = try #require(running["other:0"]?["pid"] as? Int)

            let mark = daemon.mark
            _ = FileManager.default.createFile(atPath: daemon.directory + "/corrupt", contents: nil)
            let exit = try await daemon.next("db:0", "exit", after: mark)
            #expect(exit.line.contains("exited with code 86: corruption (default: exit 86 (WorkerKit corruption)); quarantined"), "\(exit.line)")
            try await daemon.next("db:0", "quarantined", after: mark)
            let report = try daemon.report(for: exit)
            #expect(report["class"] as? String == "corruption")
            #expect((report["action"] as? String)?.contains("dependents stopped: app, web") == true, "\(report["action"] ?? "nil")")

            for instance in ["app:0", "web:0"] {
                let stopped = try await daemon.next(instance, "exit", after: mark)
                #expect(stopped.line.contains("clean (default: stopped by bulkhead (dependency))"), "\(stopped.line)")
            }
            #expect(await Processes.waitUntil { Processes.isGone(Int32(appPID)) && Processes.isGone(Int32(webPID)) })

            let states = try await daemon.instances()
            #expect(states["db:0"]?["state"] as? String == "quarantined")
            for instance in ["app:0", "web:0"] {
                let state = states[instance]?["state"] as? String
                #expect(state == "waiting" || state == "stopped", "\(instance) is \(state ?? "nil")")
                #expect(daemon.events("spawn", of: instance).count == 1, "\(instance) was started again")
            }
            #expect(states["other:0"]?["state"] as? String == "running")
            #expect(states["other:0"]?["pid"] as? Int == otherPID)
            #expect(daemon.events("spawn", of: "db:0").count == 1, "a quarantined instance is not restarted")
        }
    }

    @Test("a worker's rules come before the default table, and the report names the rule")
    func rules() async throws {
        try await withDaemon("""
        defaults:
          backoff: { initial: 200ms, max: 200ms, jitter: 0 }
          crash_loop: { same_crash: 0, max_restarts: 1, window: 1h, cooldown: 1h }
        workers:
          - name: code3
            command: [{{crashlab}}, --exit, "3"]
            rules:
              - when: { exit_code: [3] }
                then: persistent
          - name: code75
            command: [{{crashlab}}, --exit, "75"]
            rules:
              - when: { exit_code: [75] }
                then: persistent
          - name: bus
            command: [{{crashlab}}, --die, signal-BUS]
            rules:
              - when: { exit_code: [1] }
                then: persistent
              - when: { signal: [BUS] }
                then: corruption
          - name: malformed
            command: [{{crashlab}}, --eprint, "sqlite: database disk image is malformed", --exit, "1"]
            rules:
              - when: { stderr: "database disk image is malformed" }
                then: corruption
          - name: trapped
            command: [{{crashlab}}, --die, fatal-error, --message, "database disk image is malformed"]
            rules:
              - when: { stderr: "database disk image is malformed" }
                then: corruption
          - name: unmatched
            command: [{{crashlab}}, --eprint, "all is well", --exit, "1"]
            rules:
              - when: { stderr: "database disk image is malformed" }
                then: corruption
              - when: { exit_code: [2] }
                then: persistent
        """) { daemon in
            let expected: [(instance: String, class: String, rule: String)] = [
                ("code3:0", "persistent", "rules[0]: exit_code [3]"),
                ("code75:0", "persistent", "rules[0]: exit_code [75]"),
                ("bus:0", "corruption", "rules[1]: signal [BUS]"),
                ("malformed:0", "corruption", "rules[0]: stderr"),
                ("trapped:0", "corruption", "rules[0]: stderr"),
                ("unmatched:0", "transient", "default: exit 1"),
            ]
            for row in expected {
                let exit = try await daemon.next(row.instance, "exit")
                let report = try daemon.report(for: exit)
                #expect(report["class"] as? String == row.class, "\(row.instance): \(exit.line)")
                let rule = report["rule"] as? String ?? ""
                #expect(rule.hasPrefix(row.rule), "\(row.instance): rule \(rule)")
                #expect(exit.line.contains(": \(row.class) (\(rule))"), "\(exit.line)")
                if row.rule.contains("stderr") {
                    #expect(rule.contains("database disk image is malformed"), "\(rule)")
                }
            }
            let states = try await daemon.instances()
            #expect(states["code3:0"]?["state"] as? String == "failed")
            #expect(states["code75:0"]?["state"] as? String == "failed")
            #expect(states["bus:0"]?["state"] as? String == "quarantined")
            #expect(states["malformed:0"]?["state"] as? String == "quarantined")
            #expect(states["trapped:0"]?["state"] as? String == "quarantined")
            try await daemon.next("unmatched:0", "spawn", after: daemon.output.firstIndex { $0.hasPrefix("unmatched:0 * exit: ") } ?? 0)
        }
    }
}
