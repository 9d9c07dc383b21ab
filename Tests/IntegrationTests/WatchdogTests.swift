import Foundation
import Testing

/// SPEC §3/§4 watchdog: WATCHDOG_USEC set for the instance; a worker that stops sending
/// WATCHDOG=1 gets SIGQUIT (a thread dump), then SIGKILL, and the death is a `hang`.
@Suite("Watchdog")
struct WatchdogTests {
    // The watchdog is 1 s rather than 500 ms: pings come every WATCHDOG_USEC/2, and on a machine
    // this loaded a 250 ms ping interval is not always kept by the worker itself.
    @Test("a worker that stops pinging gets the watchdog event, SIGQUIT, a thread dump, class hang, a restart")
    func missedWatchdog() async throws {
        try await withDaemon("""
        defaults:
          backoff: { initial: 500ms, max: 500ms, jitter: 0 }
          crash_loop: { same_crash: 0, max_restarts: 1, window: 1h, cooldown: 1h }
        workers:
          - name: sleepy
            # --term-exit keeps a second thread (stop-signals, in sigwait) for the dump to show.
            command: [{{crashlab}}, --print-env, --watchdog, --stop-pinging-after, 1500ms, --term-exit, "3"]
            watchdog: 1s
          - name: healthy
            command: [{{crashlab}}, --watchdog]
            watchdog: 3s
        """) { daemon in
            let spawn = try await daemon.next("sleepy:0", "spawn")
            let usec = try await daemon.nextLine(after: spawn.index, what: "sleepy's WATCHDOG_USEC") { $0.hasPrefix("sleepy:0 | crashlab: env WATCHDOG_USEC") }
            #expect(usec.line == "sleepy:0 | crashlab: env WATCHDOG_USEC=1000000")

            let stopped = try await daemon.nextLine(after: spawn.index, what: "sleepy stops pinging") { $0 == "sleepy:0 ! crashlab: watchdog pings stopped" }
            let watchdog = try await daemon.next("sleepy:0", "watchdog", after: spawn.index)
            #expect(watchdog.index > stopped.index, "the watchdog fired while the worker was still pinging")
            #expect(watchdog.line.contains("no WATCHDOG=1 for 1s): SIGQUIT for a thread dump"), "\(watchdog.line)")
            // The Swift runtime's handler takes SIGQUIT, dumps every thread and lets it run on.
            try await daemon.nextLine(after: watchdog.index, what: "the SIGQUIT dump") { $0.hasPrefix("sleepy:0 ! *** Signal 3: Backtracing") }
            try await daemon.next("sleepy:0", "stop", after: watchdog.index, containing: ["after SIGQUIT: SIGKILL"])
            let exit = try await daemon.next("sleepy:0", "exit", after: watchdog.index)
            #expect(exit.line.contains("killed by SIGKILL: hang (default: watchdog missed, killed by bulkhead)"), "\(exit.line)")

            let report = try daemon.report(for: exit)
            #expect(report["class"] as? String == "hang")
            let dump = try #require(report["backtrace"] as? [String: Any], "no thread dump in the report")
            #expect(dump["signal_description"] as? String == "Terminated", "a SIGQUIT dump: \(dump["signal_description"] ?? "nil")")
            // A dump of every thread, not just the one the runtime marks as crashed.
            let threads = (dump["threads"] as? [[String: Any]]) ?? []
            let names = threads.compactMap { $0["name"] as? String }
            #expect(names.contains("crashlab") && names.contains("stop-signals"), "threads in the dump: \(names)")
            #expect(threads.allSatisfy { !(($0["frames"] as? [Any]) ?? []).isEmpty }, "a thread without frames: \(threads)")
            try await daemon.next("sleepy:0", "spawn", after: exit.index)
            // `bulkhead crashes` says why in words: the watchdog, not the dump's banner.
            let listed = try await daemon.command(["crashes", "sleepy", "--json"])
            let entries = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
            #expect(entries.first?["reason"] as? String == "watchdog missed, killed by bulkhead", "\(listed.stdout)")

            // The worker that keeps pinging was never taken for hung.
            #expect(daemon.events("watchdog", of: "healthy:0").isEmpty)
            #expect(daemon.events("exit", of: "healthy:0").isEmpty)
        }
    }
}
