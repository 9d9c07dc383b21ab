import BulkheadSystem
import Foundation
import Glibc
import Testing

/// Issue 14's story as an operator lives it: three workers — `api` quarantined by its
/// corruption exit, `cache` stopped by the operator, `web` running (ready by notify, pinging a
/// watchdog, with a breadcrumb in its ring, SIGPIPE ignored as servers do: a ping that finds no
/// daemon makes it write a note, which must not kill it). `kill -9` the daemon and start it again with the
/// same config: no worker ever has two processes, `web` is adopted (same pid, its watchdog pings
/// still heard through the former notify socket name), the quarantine and the stop are kept.
/// Then `bulkhead reexec`: the same again, in place, and `web`'s breadcrumb survives both.
@Suite("Issue 14: kill -9, start again, reexec")
struct RestartStoryTests {
    static func config(tag: String) -> String {
        """
        defaults:
          env: { BH_TAG: "\(tag)" }
          backtrace: false
        workers:
          - name: web
            command: [{{crashlab}}, --ignore-pipe, --notify-ready, --watchdog, --breadcrumb, "web: serving since start"]
            ready: notify
            watchdog: 2s
          - name: api
            command: [{{crashlab}}, --exit, "86"]
          - name: cache
            command: [{{crashlab}}]
        """
    }

    /// The watchdog (2 s, pinged every second) would have fired by then if the pings were
    /// lost: nothing to wait for but its absence, so a generous window.
    static func watchdogQuiet(_ daemon: DaemonHarness, after mark: Int) async -> Bool {
        let fired = try? await daemon.nextLine(after: mark, timeout: 4, what: "a watchdog miss") { $0.hasPrefix("web:0 * watchdog:") }
        return fired == nil
    }

    static func expectKept(_ s: [String: [String: Any]], webPID: Int, webStarted: String?, _ when: String) {
        #expect(s["web:0"]?["state"] as? String == "running", "\(when): web \(s["web:0"] ?? [:])")
        #expect(s["web:0"]?["pid"] as? Int == webPID, "\(when): web's pid changed")
        #expect(s["web:0"]?["started_at"] as? String == webStarted, "\(when): web's uptime restarted")
        #expect(s["api:0"]?["state"] as? String == "quarantined", "\(when): the quarantine was forgotten")
        #expect(s["cache:0"]?["state"] as? String == "stopped", "\(when): the operator's stop was forgotten")
        #expect(s["cache:0"]?["wanted"] as? Bool == false, "\(when)")
    }

    @Test("three workers: quarantined, stopped, running; kill -9 and start again; then reexec")
    func story() async throws {
        let tag = DurableStateTests.newTag()
        let daemon = try DaemonHarness(Self.config(tag: tag))
        try await daemon.launch()
        do {
            let quarantined = try await daemon.next("api:0", "exit", containing: ["corruption"])
            let crashID = try #require(DaemonHarness.crashID(in: quarantined.line))
            #expect(try await daemon.command(["stop", "cache"]).code == 0)
            let before = try await daemon.status(what: "web running, api quarantined, cache stopped") { s in
                s["web:0"]?["state"] as? String == "running" && s["api:0"]?["state"] as? String == "quarantined"
                    && s["cache:0"]?["state"] as? String == "stopped"
            }
            let webPID = try #require(before["web:0"]?["pid"] as? Int)
            let webStarted = before["web:0"]?["started_at"] as? String
            let path = daemon.stateDir + "/state.json"
            let written = await Processes.waitUntil {
                DurableStateTests.recordedState(path, "cache:0") == "stopped" && DurableStateTests.recordedState(path, "api:0") == "quarantined"
                    && DurableStateTests.recordedState(path, "web:0") == "running"
            }
            #expect(written, "the state file never held the three states")

            // kill -9, and start again with the same config, /proc watched all along.
            let census = InstanceCensus(tag: tag)
            try await DurableStateTests.killHard(daemon)
            #expect(Processes.stat(Int32(webPID)) != nil, "web died with the daemon")
            let restart = daemon.mark
            try await daemon.launch()
            try await daemon.nextLine(after: restart, what: "the leftover summary") {
                $0.contains("adopted 1, stopped 0 leftover workers from a previous run")
            }
            try await daemon.nextLine(after: restart, what: "web adopted with its notify socket") {
                $0.hasPrefix("web:0 * daemon: adopted pid \(webPID)") && $0.contains("notify socket")
            }
            Self.expectKept(try await daemon.instances(), webPID: webPID, webStarted: webStarted, "after kill -9")
            #expect(await Self.watchdogQuiet(daemon, after: restart), "the adopted web's pings did not reach the new daemon")
            let seen = census.stop()
            #expect(seen.scans > 10, "the census hardly ran")
            for (instance, count) in seen.most {
                #expect(count <= 1, "\(instance) had \(count) processes at once: \(seen.example[instance] ?? [])")
            }
            #expect(try await daemon.command(["crash", crashID]).code == 0, "the quarantine's report is gone")

            // reexec: in place, same pid, nothing restarted.
            let daemonPID = daemon.daemonPID
            let mark = daemon.mark
            let reexec = try await daemon.command(["reexec"])
            #expect(reexec.code == 0, "\(reexec.stderr)")
            #expect(daemon.daemonPID == daemonPID)
            Self.expectKept(try await daemon.instances(), webPID: webPID, webStarted: webStarted, "after reexec")
            #expect(await Self.watchdogQuiet(daemon, after: mark), "web's pings did not reach the re-executed daemon")
            #expect(daemon.count("web:0", "spawn") == 1 && daemon.count("cache:0", "spawn") == 1, "a worker was started again")

            // web's breadcrumb ring came through the crash and the exec: its death's report has it.
            let killMark = daemon.mark
            _ = try await daemon.command(["signal", "web:0", "KILL"])
            let death = try await daemon.next("web:0", "exit", after: killMark)
            let report = try daemon.report(for: death)
            let crumbs = (report["breadcrumbs"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
            #expect(crumbs == ["web: serving since start"], "\(report["breadcrumbs"] ?? "no breadcrumbs")")
            #expect(try await daemon.shutdown() == 0)
        } catch {
            _ = try? await daemon.shutdown()
            throw error
        }
    }
}
