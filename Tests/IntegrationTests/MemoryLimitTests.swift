import Foundation
import Testing

/// SPEC §3 `limit`: a worker killed for its memory limit (a memory cgroup) is classified so.
@Suite("Memory limit")
struct MemoryLimitTests {
    @Test("a worker over limits.memory is killed and classified limit, then restarted",
          .enabled(if: Processes.hasMemoryCgroup, "no memory cgroup on this machine: limits.memory cannot be enforced"))
    func memoryLimit() async throws {
        try await withDaemon("""
        workers:
          - name: hog
            command: [{{crashlab}}, --allocate-forever, 8MiB]
            limits: { memory: 64MiB }
            backoff: { initial: 500ms, max: 500ms, jitter: 0 }
            crash_loop: { same_crash: 0, max_restarts: 1, window: 1h, cooldown: 1h }
          - name: modest
            command: [{{crashlab}}, --allocate, 16MiB]
            limits: { memory: 64MiB }
        """) { daemon in
            let exit = try await daemon.next("hog:0", "exit")
            #expect(exit.line.contains("killed by SIGKILL: limit (default: killed for a memory limit (OOM))"), "\(exit.line)")
            let report = try daemon.report(for: exit)
            #expect(report["class"] as? String == "limit")
            #expect(report["signal"] as? String == "KILL")
            let rss = (report["resources"] as? [String: Any])?["max_rss_kib"] as? Int ?? 0
            // Unlimited, it would grow until the machine ran out; the group's limit counts page
            // cache and kernel memory too, so the peak RSS is somewhat above or below 64 MiB.
            #expect(rss > 16 << 10 && rss < 128 << 10, "max_rss_kib \(rss) for a 64 MiB limit")
            try await daemon.next("hog:0", "spawn", after: exit.index)

            // Under its limit, a worker that allocates lives on.
            try await daemon.nextLine(what: "modest allocated") { $0.hasPrefix("modest:0 | crashlab: allocated ") }
            #expect(daemon.events("exit", of: "modest:0").isEmpty)
            #expect(try await daemon.instances()["modest:0"]?["state"] as? String == "running")
        }
    }
}
