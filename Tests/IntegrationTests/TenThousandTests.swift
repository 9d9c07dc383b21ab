import Foundation
import Glibc
import Testing

/// Issue 19: 10,000 instances, as a new user would try them. Slow (about a minute on an idle
/// 2-core machine, and 10,000 processes), so behind a flag: `BULKHEAD_SCALE=1 swift test
/// --filter TenThousand`. The timing goals are the benchmark's (`bulkhead-bench scale`); this
/// checks what must hold: all started, within the fd budget, status answers with every row,
/// deaths handled, everything stopped and reaped, no spin.
@Suite("10,000 instances", .enabled(if: ProcessInfo.processInfo.environment["BULKHEAD_SCALE"] == "1", "set BULKHEAD_SCALE=1 (slow: 10,000 processes)"))
struct TenThousandTests {
    static let instances = 10_000

    @Test("10,000 instances with output: append: all start, 1 fd each, status has every row, deaths restart, all stop")
    func tenThousand() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("bh-10k-\(getpid()).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let started = Date()
        try await withDaemon("""
        output: { journal: off }
        defaults:
          backtrace: false
          output: "append:\(log)"
        workers:
          - name: idle
            command: [/bin/sleep, "100000"]
            instances: \(Self.instances - 1)
          - name: probe
            command: [/bin/sleep, "100000"]
        """) { daemon in
            let states = try await daemon.status(what: "10,000 running", timeout: 300) { states in
                states.count == Self.instances && states.values.allSatisfy { $0["state"] as? String == "running" }
            }
            let startedIn = Date().timeIntervalSince(started)
            let pid = daemon.daemonPID
            let fds = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count
            let pss = Self.pssKiB(pid)
            print("10k: all running \(String(format: "%.1f", startedIn)) s after the daemon was started; \(fds) fds; PSS \(pss / 1024) MiB")
            #expect(states.count == Self.instances)
            #expect(fds <= Self.instances + 64, "\(fds) fds for \(Self.instances) instances with append:")

            // Idle: no CPU to speak of while nothing happens — once the state file has caught
            // up with the start (its writer waits 4× its last write between writes, and a write
            // of 10,000 entries takes a debug build a few hundred ms: legitimate work, not idling).
            let statePath = daemon.stateDir + "/state.json"
            let settled = await Processes.waitUntil(timeout: 120) {
                let before = Self.modified(statePath)
                Thread.sleep(forTimeInterval: 3)
                return before != nil && Self.modified(statePath) == before
            }
            #expect(settled, "state.json still changing 120 s after the start")
            let cpu0 = Self.cpuTicks(pid)
            try await Task.sleep(for: .seconds(5))
            let idleTicks = Self.cpuTicks(pid) - cpu0
            print("10k: \(idleTicks) clock ticks of CPU in 5 s idle")
            #expect(idleTicks <= 5, "the daemon spent \(idleTicks) ticks idle")

            // One instance killed: noticed and restarted like at any size.
            let mark = daemon.mark
            #expect(try await daemon.command(["signal", "probe:0", "KILL"]).code == 0)
            let exit = try await daemon.next("probe:0", "exit", after: mark, timeout: 60)
            try await daemon.next("probe:0", "spawn", after: exit.index, timeout: 60)
            print("10k: \(exit.line)")

            // Status of one worker among 10,000, and of all rows, through the CLI.
            let asked = Date()
            let one = try await daemon.command(["status", "probe"])
            let oneTook = Date().timeIntervalSince(asked)
            #expect(one.code == 0 && one.stdout.contains("probe:0"))
            let askedAll = Date()
            let all = try await daemon.command(["status"])
            let allTook = Date().timeIntervalSince(askedAll)
            #expect(all.code == 0 && all.stdout.split(separator: "\n").count >= Self.instances + 1)
            print(String(format: "10k: `bulkhead status probe` %.1f ms, `bulkhead status` (10,001 lines) %.1f ms", oneTook * 1000, allTook * 1000))

            let stop = try await daemon.command(["stop", "all"])
            #expect(stop.code == 0, "\(stop.stderr)")
            try await daemon.status(what: "all stopped", timeout: 300) { $0.values.allSatisfy { $0["state"] as? String == "stopped" } }
            let childless = await Processes.waitUntil(timeout: 60) { Processes.children(of: pid).isEmpty }
            #expect(childless, "\(Processes.children(of: pid).count) children left after stop all")
            print(String(format: "10k: stopped; %.1f s in all", Date().timeIntervalSince(started)))
        }
    }

    static func pssKiB(_ pid: Int32) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("Pss:") } ?? ""
        return Int(line.filter(\.isNumber)) ?? -1
    }

    /// utime + stime of the daemon, in clock ticks.
    static func cpuTicks(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 13 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
    }

    static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
