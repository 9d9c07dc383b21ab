import Foundation
import Testing

/// SPEC §4, the supervisor's side of `ready: notify`: an instance is `starting` until its own
/// READY=1, a start that never gets there is a failed start, and STATUS= text is kept.
@Suite("Readiness")
struct ReadinessTests {
    @Test("ready: notify stays starting until READY=1; dependents wait for it")
    func readyOnNotify() async throws {
        try await withDaemon("""
        workers:
          - name: slow
            command: [{{crashlab}}, --print, started, --notify-ready, 1s]
            ready: notify
          - name: dependent
            command: [{{crashlab}}]
            depends_on: [slow]
          - name: patient
            command: [/bin/sh, -c, "while [ ! -e {{dir}}/go ]; do sleep 0.05; done; exec {{crashlab}} --notify-ready"]
            ready: notify
            start_timeout: 10m   # it waits for the test: on a slow machine (ASan) the default passed and it was restarted with a new pid
        """) { daemon in
            let spawn = try await daemon.next("slow:0", "spawn")
            let ready = try await daemon.next("slow:0", "ready", after: spawn.index)
            #expect(ready.line.contains("ready (READY=1)"), "\(ready.line)")
            // crashlab prints at start and sends READY=1 a second later: with ready on spawn the
            // event would come before the line.
            let started = try await daemon.nextLine(after: spawn.index, what: "slow started") { $0 == "slow:0 | started" }
            #expect(started.index < ready.index, "ready came before the worker had even printed its first line")
            let dependent = try await daemon.next("dependent:0", "spawn")
            #expect(dependent.index > ready.index, "the dependent started before its dependency was ready")

            // `patient` sends READY=1 only once the test lets it (the file `go`): until then it
            // cannot have, and status says starting.
            let patientSpawn = try await daemon.next("patient:0", "spawn")
            let states = try await daemon.instances()
            #expect(states["patient:0"]?["state"] as? String == "starting", "\(states["patient:0"] ?? [:])")
            #expect(states["patient:0"]?["pid"] as? Int == DaemonHarness.spawnedPID(patientSpawn.line).map(Int.init),
                    "patient's lines: \(daemon.output.filter { $0.hasPrefix("patient:0") })")
            _ = FileManager.default.createFile(atPath: daemon.directory + "/go", contents: nil)
            try await daemon.next("patient:0", "ready", after: patientSpawn.index)
            try await daemon.status(what: "patient running") { $0["patient:0"]?["state"] as? String == "running" }
        }
    }

    @Test("no READY=1 within start_timeout is a failed start: transient, stopped and restarted")
    func startTimeout() async throws {
        try await withDaemon("""
        workers:
          - name: mute
            command: [{{crashlab}}]
            ready: notify
            start_timeout: 1s
            backoff: { initial: 200ms, max: 200ms, jitter: 0 }
            crash_loop: { same_crash: 0, max_restarts: 1, window: 1h, cooldown: 1h }
        """) { daemon in
            let spawn = try await daemon.next("mute:0", "spawn")
            let timeout = try await daemon.next("mute:0", "start-timeout", after: spawn.index)
            #expect(timeout.line.contains("no READY=1 within start_timeout 1s: failed start"), "\(timeout.line)")
            let exit = try await daemon.next("mute:0", "exit", after: timeout.index)
            #expect(exit.line.contains("transient (default: not ready within start_timeout)"), "\(exit.line)")
            let report = try daemon.report(for: exit)
            #expect(report["class"] as? String == "transient")
            #expect((report["action"] as? String)?.hasPrefix("restart") == true, "\(report["action"] ?? "nil")")
            try await daemon.next("mute:0", "spawn", after: exit.index)
            #expect(daemon.events("ready", of: "mute:0").isEmpty)
        }
    }

    @Test("STATUS= text is kept and shown by bulkhead status")
    func statusText() async throws {
        try await withDaemon("""
        workers:
          - name: talker
            command: [{{crashlab}}, --status, "warming the caches", --notify-ready]
            ready: notify
        """) { daemon in
            try await daemon.next("talker:0", "ready")
            let states = try await daemon.status(what: "talker's status text") { $0["talker:0"]?["status_text"] is String }
            #expect(states["talker:0"]?["status_text"] as? String == "warming the caches")
            let table = try await daemon.command(["status"])
            #expect(table.stdout.contains("warming the caches"), "\(table.stdout)")
        }
    }

    @Test("a shell worker that runs systemd-notify --ready becomes ready",
          .enabled(if: tool("/usr/bin/systemd-notify") != nil || tool("/bin/systemd-notify") != nil, "systemd-notify is not installed"))
    func systemdNotify() async throws {
        try await withDaemon("""
        workers:
          - name: shell
            command: [/bin/sh, -c, "systemd-notify --ready --status='from the shell'; exec sleep 1000"]
            ready: notify
            start_timeout: 60s
        """) { daemon in
            let ready = try await daemon.next("shell:0", "ready")
            #expect(ready.line.contains("READY=1"))
            let states = try await daemon.status(what: "shell's status text") { $0["shell:0"]?["status_text"] is String }
            #expect(states["shell:0"]?["status_text"] as? String == "from the shell")
            #expect(states["shell:0"]?["state"] as? String == "running")
        }
    }
}
