import Foundation
import Testing

/// Health checks with real processes: a Python HTTP worker that has never heard of sd_notify
/// (Tests/Workers/httpworker.py) becomes ready only when its /healthz answers, is killed when it
/// starts answering 500s or stops answering at all (SIGSTOP), and the crash report says why.
@Suite("Health checks")
struct HealthCheckTests {
    static var worker: String { RepositoryFile.httpWorker }

    @Test("ready only when /healthz answers: starting until then, dependents wait, status shows the probe")
    func readyWhenHealthzAnswers() async throws {
        let port = TestHTTP.freePort()
        try await withDaemon("""
        workers:
          - name: web
            command: [\(Self.worker), --port, "\(port)", --healthy-after, "1.5"]
            health:
              ready: { http: "http://127.0.0.1:\(port)/healthz", interval: 200ms, timeout: 1s }
          - name: after
            command: [/bin/sleep, "3600"]
            depends_on: [web]
        """) { daemon in
            let spawn = try await daemon.next("web:0", "spawn")
            let failed = try await daemon.next("web:0", "health", after: spawn.index, containing: ["ready probe failed"])
            #expect(failed.line.contains("HTTP 503") || failed.line.contains("Connection refused"), "\(failed.line)")

            let ready = try await daemon.next("web:0", "ready", after: spawn.index, containing: ["ready probe passed: HTTP 200"])
            let started = try await daemon.next("after:0", "spawn")
            #expect(started.index > ready.index, "the dependent started before the probe passed")
            // The probe waited for the worker's own answer, not for the process start.
            let firstLine = try await daemon.nextLine(after: spawn.index, what: "httpworker's start line") { $0.hasPrefix("web:0 | httpworker") }
            #expect(ready.index > firstLine.index)

            let instances = try await daemon.instances()
            let health = instances["web:0"]?["health"] as? [[String: Any]] ?? []
            #expect(health.count == 1)
            #expect(health.first?["probe"] as? String == "ready")
            #expect(health.first?["passed"] as? Bool == true)
            let last = health.first?["last"] as? [String: Any]
            #expect(last?["detail"] as? String == "HTTP 200")
            #expect((last?["latency_us"] as? Int ?? -1) >= 0)
            #expect(reportInstant(last?["at"]) != nil, "\(last ?? [:])")

            let table = try await daemon.command(["status", "web"])
            #expect(table.stdout.contains("HEALTH\nweb:0  ready  http://127.0.0.1:\(port)/healthz  passed: HTTP 200 in "), "\(table.stdout)")
        }
    }

    @Test("a worker that starts answering 500 is killed after `failures` probes: hang, rule liveness, the results in its report, a restart")
    func answering500IsKilled() async throws {
        let port = TestHTTP.freePort()
        try await withDaemon("""
        workers:
          - name: web
            command: [\(Self.worker), --port, "\(port)", --sick-after, "1"]
            watchdog_grace: 1s
            backoff: { initial: 100ms, jitter: 0 }
            health:
              ready: { tcp: "127.0.0.1:\(port)", interval: 100ms }
              live: { http: "http://127.0.0.1:\(port)/healthz", interval: 300ms, timeout: 1s, failures: 3 }
        """) { daemon in
            let ready = try await daemon.next("web:0", "ready", containing: ["ready probe passed: connected"])
            for n in 1...2 {
                try await daemon.next("web:0", "health", after: ready.index, containing: ["live probe failed (\(n) of 3): HTTP 500"])
            }
            let kill = try await daemon.next("web:0", "health", after: ready.index,
                                             containing: ["live probe failed 3 times in a row (last: HTTP 500): SIGQUIT for a thread dump, SIGKILL in 1s"])
            let exit = try await daemon.next("web:0", "exit", after: kill.index)
            #expect(exit.line.contains(": hang (liveness)"), "\(exit.line)")
            let report = try daemon.report(for: exit)
            #expect(report["class"] as? String == "hang")
            #expect(report["rule"] as? String == "liveness")
            #expect((report["headline"] as? String)?.hasPrefix("live probe failed 3 times in a row: HTTP 500 (http://127.0.0.1:\(port)/healthz)") == true,
                    "\(report["headline"] ?? "nil")")
            let health = report["health"] as? [[String: Any]] ?? []
            let live = health.filter { $0["probe"] as? String == "live" }
            #expect(live.suffix(3).allSatisfy { $0["passed"] as? Bool == false && $0["detail"] as? String == "HTTP 500" }, "\(health)")
            #expect(health.contains { $0["probe"] as? String == "ready" && $0["passed"] as? Bool == true })
            try await daemon.next("web:0", "spawn", after: exit.index)
        }
    }

    @Test("a deadlocked worker (SIGSTOP) is caught the same way: its checks time out, SIGKILL after the grace")
    func stoppedWorkerIsKilled() async throws {
        let port = TestHTTP.freePort()
        try await withDaemon("""
        workers:
          - name: web
            command: [\(Self.worker), --port, "\(port)", --stop-after, "1"]
            watchdog_grace: 500ms
            restart: never
            health:
              # Ready once it answers: on a loaded machine (under a sanitizer) Python takes longer
              # to listen than two live checks take to fail, which is not what this test is about.
              ready: { http: "http://127.0.0.1:\(port)/healthz", interval: 100ms }
              live: { http: "http://127.0.0.1:\(port)/healthz", interval: 250ms, timeout: 300ms, failures: 2 }
        """) { daemon in
            let kill = try await daemon.next("web:0", "health", containing: ["live probe failed 2 times in a row (last: timed out after 300ms)"])
            let sigkill = try await daemon.next("web:0", "stop", after: kill.index, containing: ["after SIGQUIT: SIGKILL"])
            let exit = try await daemon.next("web:0", "exit", after: sigkill.index)
            #expect(exit.line.contains("killed by SIGKILL: hang (liveness)"), "\(exit.line)")
            let report = try daemon.report(for: exit)
            let details = (report["health"] as? [[String: Any]] ?? []).compactMap { $0["detail"] as? String }
            #expect(details.suffix(2) == ["timed out after 300ms", "timed out after 300ms"], "\(details)")
        }
    }

    @Test("exec probes run in the instance's environment; their first line explains a failure")
    func execProbes() async throws {
        let marker = FileManager.default.temporaryDirectory.path + "/bh-probe-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: marker) }
        try await withDaemon("""
        workers:
          - name: job
            command: [/bin/sleep, "3600"]
            env: { PROBE_MARKER: \(marker) }
            restart: never
            health:
              ready: { exec: [/bin/sh, -c, 'test -e "$PROBE_MARKER" || { echo "no marker at $PROBE_MARKER"; exit 3; }'], interval: 100ms }
              live: { exec: [/bin/sh, -c, 'test "$BULKHEAD_INSTANCE" = job:0 && test -z "$NOTIFY_SOCKET" && test -e "$PROBE_MARKER"'], interval: 100ms, failures: 1 }
        """) { daemon in
            let failed = try await daemon.next("job:0", "health", containing: ["ready probe failed (exit 3: no marker at \(marker))"])
            FileManager.default.createFile(atPath: marker, contents: Data())
            try await daemon.next("job:0", "ready", after: failed.index, containing: ["ready probe passed: exit 0"])
            let live = try await daemon.status(what: "a passing live check") { instances in
                let health = instances["job:0"]?["health"] as? [[String: Any]] ?? []
                return health.contains { $0["probe"] as? String == "live" && ($0["last"] as? [String: Any])?["passed"] as? Bool == true }
            }
            #expect(live["job:0"]?["state"] as? String == "running")
            try FileManager.default.removeItem(atPath: marker)
            let killed = try await daemon.next("job:0", "health", containing: ["live probe failed 1 time in a row (last: exit 1)"])
            try await daemon.next("job:0", "exit", after: killed.index, containing: ["hang (liveness)"])
        }
    }
}
