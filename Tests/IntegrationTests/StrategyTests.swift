import Foundation
import Glibc
import Testing

/// README, "Dependencies and strategies", with real processes: when a dependency restarts, a
/// `rest_for_one` dependent restarts after it; a `one_for_all` worker and its dependencies
/// restart together when any of them dies; `one_for_one` couples nothing.
@Suite("Restart strategies with real processes")
struct StrategyTests {
    static let config = """
    defaults:
      backoff: { initial: 100ms, max: 100ms, jitter: 0 }
      crash_loop: { same_crash: 0 }
      backtrace: false
    workers:
      - name: db
        command: [{{crashlab}}]
      - name: api
        command: [{{crashlab}}]
        depends_on: [db]
        strategy: rest_for_one
        instances: 2
      - name: audit
        command: [{{crashlab}}]
        depends_on: [db]
      - name: cache
        command: [{{crashlab}}]
      - name: web
        command: [{{crashlab}}]
        depends_on: [cache]
        strategy: one_for_all
    """

    static let instances = ["db:0", "api:0", "api:1", "audit:0", "cache:0", "web:0"]

    @Test("rest_for_one: the dependency dies, its rest_for_one dependents restart after it, one_for_one ones keep running")
    func restForOne() async throws {
        try await withDaemon(Self.config) { daemon in
            let before = try await Self.allRunning(daemon)
            let mark = daemon.mark
            try Self.kill("db:0", before)
            let death = try await daemon.next("db:0", "exit", after: mark, containing: ["SIGKILL"])
            let respawn = try await daemon.next("db:0", "spawn", after: death.index)
            for instance in ["api:0", "api:1"] {
                let stop = try await daemon.next(instance, "stop", after: death.index)
                let exit = try await daemon.next(instance, "exit", after: stop.index)
                #expect(exit.line.contains(": clean ("), "a restart the strategy asked for is clean: \(exit.line)")
                let spawn = try await daemon.next(instance, "spawn", after: exit.index)
                #expect(spawn.index > respawn.index, "\(instance) started again before its dependency did")
            }
            let after = try await Self.allRunning(daemon, changed: ["db:0", "api:0", "api:1"], from: before)
            for instance in ["audit:0", "cache:0", "web:0"] {
                #expect(after[instance] == before[instance], "\(instance) was restarted: pid \(before[instance] ?? 0) → \(after[instance] ?? 0)")
                #expect(daemon.output.dropFirst(mark).allSatisfy { !$0.hasPrefix("\(instance) * ") }, "events of \(instance)")
            }
        }
    }

    @Test("one_for_all: the worker dies and its dependency restarts with it; the dependency dies and the worker restarts after it")
    func oneForAll() async throws {
        try await withDaemon(Self.config) { daemon in
            // The one_for_all worker dies: its dependency goes down and comes back first.
            let before = try await Self.allRunning(daemon)
            var mark = daemon.mark
            try Self.kill("web:0", before)
            let webDeath = try await daemon.next("web:0", "exit", after: mark, containing: ["SIGKILL"])
            let cacheStop = try await daemon.next("cache:0", "stop", after: mark)
            let cacheExit = try await daemon.next("cache:0", "exit", after: cacheStop.index)
            #expect(cacheExit.line.contains(": clean ("), "\(cacheExit.line)")
            let cacheSpawn = try await daemon.next("cache:0", "spawn", after: cacheExit.index)
            let webSpawn = try await daemon.next("web:0", "spawn", after: webDeath.index)
            #expect(webSpawn.index > cacheSpawn.index, "web started again before its dependency")
            let middle = try await Self.allRunning(daemon, changed: ["web:0", "cache:0"], from: before)
            for instance in ["db:0", "api:0", "api:1", "audit:0"] {
                #expect(middle[instance] == before[instance], "\(instance) was restarted")
            }

            // The dependency dies: the one_for_all worker restarts after it.
            mark = daemon.mark
            try Self.kill("cache:0", middle)
            let cacheDeath = try await daemon.next("cache:0", "exit", after: mark, containing: ["SIGKILL"])
            let webStop = try await daemon.next("web:0", "stop", after: cacheDeath.index)
            let webExit = try await daemon.next("web:0", "exit", after: webStop.index)
            #expect(webExit.line.contains(": clean ("), "\(webExit.line)")
            let cacheAgain = try await daemon.next("cache:0", "spawn", after: cacheDeath.index)
            let webAgain = try await daemon.next("web:0", "spawn", after: webExit.index)
            #expect(webAgain.index > cacheAgain.index, "web started again before its dependency")
            let after = try await Self.allRunning(daemon, changed: ["web:0", "cache:0"], from: middle)
            for instance in ["db:0", "api:0", "api:1", "audit:0"] {
                #expect(after[instance] == before[instance], "\(instance) was restarted")
            }
        }
    }

    /// SIGKILL to an instance's main process, from outside (a death nobody asked for).
    static func kill(_ instance: String, _ pids: [String: Int32]) throws {
        let pid = try #require(pids[instance])
        #expect(Glibc.kill(pid, SIGKILL) == 0)
    }

    /// Waits until every instance is running, with a pid that differs from `from` exactly for
    /// `changed` (restarted ones have been replaced), and answers the pids.
    static func allRunning(_ daemon: DaemonHarness, changed: Set<String> = [], from: [String: Int32] = [:]) async throws -> [String: Int32] {
        let states = try await daemon.status(what: "every instance running, \(changed.sorted()) replaced") { states in
            instances.allSatisfy { name in
                guard states[name]?["state"] as? String == "running", let pid = states[name]?["pid"] as? Int else { return false }
                return !changed.contains(name) || Int32(pid) != from[name]
            }
        }
        return states.compactMapValues { ($0["pid"] as? Int).map(Int32.init) }
    }
}
