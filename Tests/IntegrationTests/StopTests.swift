import Foundation
import Glibc
import Testing

/// SPEC §4 stop: the stop signal to the whole group (or cgroup), SIGKILL after `stop.timeout`;
/// whatever a worker leaves behind goes with it; SIGTERM to the daemon stops everything,
/// dependents first, and leaves nothing behind.
@Suite("Stopping")
struct StopTests {
    @Test("a worker that ignores SIGTERM gets SIGKILL once stop.timeout has passed")
    func ignoresTerm() async throws {
        try await withDaemon("""
        workers:
          - name: stubborn
            command: [{{crashlab}}, --ignore-term, --print, armed]
            stop: { timeout: 1s }
        """) { daemon in
            // `--print` comes after crashlab has set SIGTERM to SIG_IGN.
            try await daemon.nextLine(what: "stubborn armed") { $0 == "stubborn:0 | armed" }
            let pid = try #require(DaemonHarness.spawnedPID(try await daemon.next("stubborn:0", "spawn").line))
            let mark = daemon.mark
            let asked = Date()
            let stop = try await daemon.command(["stop", "stubborn"])
            #expect(stop.code == 0, "\(stop.stderr)")
            try await daemon.next("stubborn:0", "stop", after: mark, containing: ["SIGTERM, SIGKILL after 1s"])
            let kill = try await daemon.next("stubborn:0", "stop", after: mark, containing: ["still alive 1s after SIGTERM: SIGKILL"])
            let exit = try await daemon.next("stubborn:0", "exit", after: kill.index)
            let waited = Date().timeIntervalSince(asked)
            #expect(exit.line.contains("killed by SIGKILL: clean (default: stopped by the operator)"), "\(exit.line)")
            #expect(waited >= 0.9, "SIGKILL came \(waited)s after the stop: before stop.timeout")
            #expect(await Processes.waitUntil { Processes.isGone(pid) })
            #expect(try await daemon.instances()["stubborn:0"]?["state"] as? String == "stopped")
        }
    }

    @Test("a grandchild in the worker's group dies with it: on stop and when the main process dies")
    func grandchildInGroup() async throws {
        try await withDaemon("""
        workers:
          - name: parent
            command: [{{crashlab}}, --grandchild]
          - name: dying
            command: [{{crashlab}}, --grandchild, --die, abort, --after, 1s]
            restart: never
        """) { daemon in
            let stopped = try await grandchild(of: "parent:0", in: daemon)
            let orphaned = try await grandchild(of: "dying:0", in: daemon)
            let parentPID = try #require(try await daemon.instances()["parent:0"]?["pid"] as? Int)
            #expect(Processes.stat(stopped)?.processGroup == Int32(parentPID), "the grandchild is in its parent's group")

            let exit = try await daemon.next("dying:0", "exit")
            #expect(exit.line.contains("killed by SIGABRT: crash"), "\(exit.line)")
            #expect(await Processes.waitUntil { Processes.isGone(orphaned) }, "grandchild \(orphaned) outlived its parent's death")
            if Processes.hasTrackingCgroup {
                #expect(try daemon.report(for: exit)["leftover_processes_killed"] as? Int == 1)
            }

            let mark = daemon.mark
            #expect(try await daemon.command(["stop", "parent"]).code == 0)
            try await daemon.next("parent:0", "exit", after: mark)
            #expect(await Processes.waitUntil { Processes.isGone(stopped) }, "grandchild \(stopped) outlived the stop")
        }
    }

    @Test("a grandchild that left the group with setsid is still killed, through the cgroup",
          .enabled(if: Processes.hasTrackingCgroup, "no cgroup v2 hierarchy to track instances with"))
    func grandchildInOwnSession() async throws {
        try await withDaemon("""
        workers:
          - name: escaper
            command: [{{crashlab}}, --grandchild-setsid]
          - name: dying
            command: [{{crashlab}}, --grandchild-setsid, --die, abort, --after, 1s]
            restart: never
        """) { daemon in
            let stopped = try await grandchild(of: "escaper:0", in: daemon)
            let orphaned = try await grandchild(of: "dying:0", in: daemon)
            let escaperPID = try #require(try await daemon.instances()["escaper:0"]?["pid"] as? Int)
            #expect(Processes.stat(stopped)?.session == stopped, "the grandchild has its own session")
            #expect(Processes.stat(stopped)?.processGroup != Int32(escaperPID))

            let exit = try await daemon.next("dying:0", "exit")
            #expect(exit.line.contains("killed by SIGABRT: crash"), "\(exit.line)")
            #expect(await Processes.waitUntil { Processes.isGone(orphaned) }, "grandchild \(orphaned) outlived its parent's death")

            let mark = daemon.mark
            #expect(try await daemon.command(["stop", "escaper"]).code == 0)
            try await daemon.next("escaper:0", "exit", after: mark)
            #expect(await Processes.waitUntil { Processes.isGone(stopped) }, "grandchild \(stopped) outlived the stop")
        }
    }

    @Test("cgroups: off: a grandchild that left the group outlives its instance, but not bulkhead")
    func escapedGrandchildWithoutCgroups() async throws {
        let daemon = try DaemonHarness("""
        cgroups: off
        workers:
          - name: escaper
            command: [{{crashlab}}, --grandchild-setsid]
        """)
        try await daemon.launch()
        let stray: Int32
        do {
            stray = try await grandchild(of: "escaper:0", in: daemon)
            #expect(try await daemon.command(["stop", "escaper"]).code == 0)
            try await daemon.next("escaper:0", "exit")
            // Nothing tracks it now (that is what cgroups are for): it lives on, a child of
            // bulkhead, the subreaper.
            #expect(Processes.stat(stray)?.parentPID == daemon.daemonPID)
        } catch {
            _ = try? await daemon.shutdown()
            throw error
        }
        #expect(try await daemon.shutdown() == 0)
        #expect(Processes.isGone(stray), "pid \(stray) outlived bulkhead")
        #expect(daemon.output.contains { $0.contains("killed 1 orphaned processes of workers at exit") })
    }

    @Test("SIGTERM to the daemon stops every worker, dependents first, and leaves no process or zombie")
    func daemonShutdown() async throws {
        let daemon = try DaemonHarness("""
        defaults:
          stop: { timeout: 10s }
        workers:
          - name: db
            command: [{{crashlab}}, --slow-stop, 200ms, --grandchild]
          - name: app
            command: [{{crashlab}}, --slow-stop, 200ms]
            depends_on: [db]
            instances: 2
          - name: web
            command: [{{crashlab}}, --slow-stop, 200ms, --grandchild]
            depends_on: [app]
          - name: loner
            command: [/bin/sh, -c, "sleep 1000 & echo started; wait"]
          - name: ignorer
            command: [{{crashlab}}, --ignore-term]
            stop: { timeout: 500ms }
          - name: shielded
            command: [/bin/sh, -c, "(trap '' TERM; exec sleep 1000) & echo started; wait"]
        """)
        try await daemon.launch()
        let grandchildren: [Int32]
        do {
            try await daemon.status(what: "every instance running") { states in
                states.count == 7 && states.values.allSatisfy { $0["state"] as? String == "running" }
            }
            grandchildren = [try await grandchild(of: "db:0", in: daemon), try await grandchild(of: "web:0", in: daemon)]
            try await daemon.nextLine(what: "loner started") { $0 == "loner:0 | started" }
            try await daemon.nextLine(what: "shielded started") { $0 == "shielded:0 | started" }
        } catch {
            _ = try? await daemon.shutdown()
            throw error
        }
        let workerPIDs = Set(daemon.spawnedPIDs)
        #expect(workerPIDs.count == 7)
        let loner = try #require(daemon.events("spawn", of: "loner:0").first.flatMap(DaemonHarness.spawnedPID))
        let lonerSleep = Processes.children(of: loner).map(\.pid)
        #expect(lonerSleep.count == 1, "the loner's background sleep")
        // A sleep that ignores SIGTERM: only the SIGKILL after its parent's death ends it.
        let shielded = try #require(daemon.events("spawn", of: "shielded:0").first.flatMap(DaemonHarness.spawnedPID))
        let shieldedSleep = Processes.children(of: shielded).map(\.pid)
        #expect(shieldedSleep.count == 1, "the shielded background sleep")

        let mark = daemon.mark
        let code = try await daemon.shutdown()
        #expect(code == 0)
        let lines = Array(daemon.output.dropFirst(mark))
        func index(_ instance: String, _ kind: String) -> Int {
            lines.firstIndex { $0.hasPrefix("\(instance) * \(kind): ") } ?? -1
        }
        for instance in ["db:0", "app:0", "app:1", "web:0", "loner:0", "ignorer:0", "shielded:0"] {
            #expect(index(instance, "stop") >= 0, "\(instance) got no stop")
            let exit = lines.first { $0.hasPrefix("\(instance) * exit: ") } ?? "none"
            #expect(exit.contains("clean (default: stopped by bulkhead (shutdown))"), "\(instance): \(exit)")
        }
        // Reverse dependency order: web before app before db.
        #expect(index("web:0", "exit") < index("app:0", "stop") && index("web:0", "exit") < index("app:1", "stop"))
        #expect(index("app:0", "exit") < index("db:0", "stop") && index("app:1", "exit") < index("db:0", "stop"))
        #expect(lines.contains { $0.hasPrefix("ignorer:0 * stop: ") && $0.contains("SIGKILL to the process group") })
        #expect(lines.contains("bulkhead * daemon: every worker stopped; bulkhead exits"))

        // The daemon has exited: nothing of any worker is left, not even a zombie.
        let groups = workerPIDs
        let left = Processes.members(ofGroups: groups).map { "\($0.pid) \($0.stat.state)" }
        #expect(left.isEmpty, "left behind in the workers' groups: \(left)")
        for pid in grandchildren + lonerSleep + shieldedSleep + Array(workerPIDs) {
            #expect(Processes.isGone(pid), "pid \(pid) (\(Processes.stat(pid).map { String($0.state) } ?? "?")) outlived the daemon")
        }
    }

    @Test("SIGINT to the daemon does what SIGTERM does: every worker stopped, dependents first, exit 0, no zombie, no orphan")
    func daemonInterrupt() async throws {
        let daemon = try DaemonHarness("""
        defaults:
          stop: { timeout: 10s }
        workers:
          - name: db
            command: [{{crashlab}}, --slow-stop, 200ms, --grandchild]
          - name: app
            command: [{{crashlab}}, --slow-stop, 200ms, --grandchild]
            depends_on: [db]
          - name: ignorer
            command: [{{crashlab}}, --ignore-term, --print, armed]
            stop: { timeout: 500ms }
        """)
        try await daemon.launch()
        let grandchildren: [Int32]
        do {
            try await daemon.status(what: "every instance running") { states in
                states.count == 3 && states.values.allSatisfy { $0["state"] as? String == "running" }
            }
            grandchildren = [try await grandchild(of: "db:0", in: daemon), try await grandchild(of: "app:0", in: daemon)]
            // This one ignores SIGTERM and SIGINT: the way down must still end it, with a SIGKILL
            // once its stop.timeout has passed.
            try await daemon.nextLine(what: "ignorer armed") { $0 == "ignorer:0 | armed" }
        } catch {
            _ = try? await daemon.shutdown()
            throw error
        }
        let workerPIDs = Set(daemon.spawnedPIDs)
        #expect(workerPIDs.count == 3)

        let mark = daemon.mark
        let code = try await daemon.shutdown(signal: SIGINT)
        #expect(code == 0, "bulkhead exited \(code) after SIGINT")
        let lines = Array(daemon.output.dropFirst(mark))
        func index(_ instance: String, _ kind: String) -> Int {
            lines.firstIndex { $0.hasPrefix("\(instance) * \(kind): ") } ?? -1
        }
        for instance in ["db:0", "app:0", "ignorer:0"] {
            #expect(index(instance, "stop") >= 0, "\(instance) got no stop")
            let exit = lines.first { $0.hasPrefix("\(instance) * exit: ") } ?? "none"
            #expect(exit.contains("clean (default: stopped by bulkhead (shutdown))"), "\(instance): \(exit)")
        }
        #expect(index("app:0", "exit") >= 0 && index("app:0", "exit") < index("db:0", "stop"), "the dependent stops first: \(lines)")
        #expect(lines.contains { $0.hasPrefix("ignorer:0 * stop: ") && $0.contains("SIGKILL to the process group") })
        #expect(lines.contains("bulkhead * daemon: every worker stopped; bulkhead exits"))

        let left = Processes.members(ofGroups: workerPIDs).map { "\($0.pid) \($0.stat.state)" }
        #expect(left.isEmpty, "left behind in the workers' groups: \(left)")
        for pid in grandchildren + Array(workerPIDs) {
            #expect(Processes.isGone(pid), "pid \(pid) (\(Processes.stat(pid).map { String($0.state) } ?? "?")) outlived the daemon")
        }
    }

    /// The pid of the grandchild an instance's crashlab reported (`crashlab: grandchild PID`).
    func grandchild(of instance: String, in daemon: DaemonHarness) async throws -> Int32 {
        let seen = try await daemon.nextLine(what: "\(instance)'s grandchild") { $0.hasPrefix("\(instance) | crashlab: grandchild ") }
        return try #require(CrashLabReport([String(seen.line.dropFirst("\(instance) | ".count))]).grandchildren.first)
    }
}
