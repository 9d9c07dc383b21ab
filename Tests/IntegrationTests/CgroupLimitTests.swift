import Foundation
import Glibc
import Testing

/// `limits.cpu`, `limits.tasks` and what bulkhead says where it cannot enforce a limit. The
/// cgroup controllers come from wherever the machine has them: cgroup v2 (cpu.max, pids.max)
/// where they are delegated — the nspawn systemd container — or the v1 hierarchies of a hybrid
/// host such as this repository's VM. Where neither is there, the test checks what bulkhead
/// says instead (status `notes`) and does not measure.
@Suite("cgroup limits: cpu, tasks, and saying when they are not enforced")
struct CgroupLimitTests {
    /// The daemon's notes (`status --json` → daemon.notes).
    static func notes(_ daemon: DaemonHarness) async throws -> [String] {
        try await offThread {
            let document = try daemon.statusJSON().document
            return Handed(value: ((document["daemon"] as? [String: Any])?["notes"] as? [String]) ?? [])
        }.value
    }

    /// User and system CPU time of `pid` in seconds (/proc/PID/stat fields 14 and 15).
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test("limits.cpu: 50% holds a busy loop at or under 55 % of one CPU over 5 s")
    func cpuQuota() async throws {
        try await withDaemon("""
        workers:
          - name: spin
            command: [/bin/sh, -c, "while :; do :; done"]
            limits: { cpu: 50% }
        """) { daemon in
            let spawn = try await daemon.next("spin:0", "spawn")
            let pid = try #require(DaemonHarness.spawnedPID(spawn.line))
            if let note = try await Self.notes(daemon).first(where: { $0.hasPrefix("limits.cpu of spin") }) {
                // Nothing to measure here; what must hold is that bulkhead said so.
                #expect(note.contains("is not enforced"), "\(note)")
                return
            }
            let measured = try await offThread { () -> Double? in
                guard let start = Self.cpuSeconds(pid) else { return nil }
                let began = Date()
                Thread.sleep(forTimeInterval: 5)
                guard let end = Self.cpuSeconds(pid) else { return nil }
                return (end - start) / Date().timeIntervalSince(began)
            }
            let share = try #require(measured, "spin:0 (pid \(pid)) vanished")
            #expect(share <= 0.55, "a busy loop limited to 50% used \(Int(share * 100)) % of a CPU")
            #expect(share >= 0.05, "the busy loop barely ran (\(Int(share * 100)) %): is it stopped?")
        }
    }

    @Test("a worker whose forks limits.tasks refuses dies as class limit, and the report says tasks")
    func tasksLimitIsClassLimit() async throws {
        try await withDaemon("""
        workers:
          - name: forker
            command: [/bin/sh, -c, 'i=0; while [ $i -lt 40 ]; do sleep 60 & i=$((i+1)); done; wait']
            limits: { tasks: 8 }
            restart: never
        """) { daemon in
            let exit = try await daemon.next("forker:0", "exit")
            if let note = try await Self.notes(daemon).first(where: { $0.hasPrefix("limits.tasks of forker") }) {
                #expect(note.contains("RLIMIT_NPROC"), "\(note)")
                return
            }
            #expect(exit.line.contains("limit (default: reached limits.tasks (pids.max refused a fork or a thread))"), "\(exit.line)")
            let report = try daemon.report(for: exit)
            #expect(report["class"] as? String == "limit")
            #expect(report["limit"] as? String == "tasks")
        }
    }

    @Test("with cgroups off, the limits that need them are said once at start and in status; tasks falls back to RLIMIT_NPROC")
    func unenforcedLimitsAreSaid() async throws {
        try await withDaemon("""
        cgroups: off
        workers:
          - name: w
            command: [{{crashlab}}, --print-env]
            restart: never
            limits: { cpu: 150%, io_weight: 50, tasks: 64 }
          - name: free
            command: [/bin/true]
            restart: never
        """) { daemon in
            let cpu = "limits.cpu of w is not enforced: cgroups: off in the config; no rlimit caps a rate of CPU (limits.cpu_time caps the total)"
            let io = "limits.io_weight of w is not enforced: cgroups: off in the config"
            let tasks = "limits.tasks of w is enforced with RLIMIT_NPROC instead of pids.max (cgroups: off in the config): RLIMIT_NPROC counts every process and thread of the worker's user, not only this instance's, and root ignores it"
            for note in [cpu, io, tasks] {
                try await daemon.nextLine(what: note) { $0.hasSuffix(note) }
            }
            #expect(try await Self.notes(daemon) == [cpu, io, tasks])
            let table = try await daemon.command(["status"])
            #expect(table.stdout.contains("note: " + cpu), "\(table.stdout)")
            let rlimit = try await daemon.nextLine(what: "crashlab's NPROC") { $0.hasPrefix("w:0 | crashlab: rlimit NPROC") }
            #expect(rlimit.line.hasSuffix("rlimit NPROC 64 64"), "\(rlimit.line)")
        }
    }
}
