import Foundation
import Glibc
import Testing

/// Fifty workers crashing over and over: the daemon keeps answering, records every death,
/// reaps every child, and leaves nothing behind.
@Suite("Crash storm")
struct CrashStormTests {
    static let instances = 50
    static let keep = 100

    @Test("50 workers crashing repeatedly: responsive, every death recorded, no zombie, nothing left")
    func storm() async throws {
        let daemon = try DaemonHarness("""
        defaults:
          backoff: { initial: 50ms, max: 400ms, jitter: 0.2 }
          crash_loop: { same_crash: 0, max_restarts: 100000 }
          # The storm is about the supervisor, not symbolication: 50 backtracers at once
          # would only measure the machine.
          backtrace: false
        # Fewer reports kept than the storm writes: retention has to choose, and must keep the newest.
        crash_reports: { keep: \(Self.keep) }
        workers:
          - name: storm
            command: [{{crashlab}}, --die, overflow-add, --after, 50ms]
            instances: \(Self.instances)
        """)
        try await daemon.launch()
        do {
            try await Self.ride(daemon)
        } catch {
            _ = try? await daemon.shutdown()
            throw error
        }
    }

    static func ride(_ daemon: DaemonHarness) async throws {
        let pid = daemon.daemonPID
        var lingering: Set<Int32> = []
        var lastCount = 0
        let exits = ExitCounter()
        // Five check points, each once another 60 deaths have been reported.
        for checkpoint in 1...5 {
            // Counted from the last check point: on a loaded machine the storm may be far ahead
            // of the first look.
            let target = lastCount + 60
            let reached = await Processes.waitUntil { exits.count(in: daemon) >= target }
            let count = exits.count(in: daemon)
            #expect(reached, "check point \(checkpoint): only \(count) deaths reported")
            lastCount = count

            // Responsive: the control socket answers in the middle of it all.
            let asked = Date()
            let states = try await daemon.instances()
            let took = Date().timeIntervalSince(asked)
            #expect(states.count == instances)
            #expect(took < 10, "status took \(took)s during the storm")

            // A dead child is a zombie until the reaper gets to it, so one may be caught in the
            // act; one that is still there a moment later was never reaped.
            for child in Processes.children(of: pid) where child.stat.state == "Z" {
                lingering.insert(child.pid)
            }
        }
        let snapshot = lingering
        let reaped = await Processes.waitUntil(timeout: 10) {
            snapshot.allSatisfy { Processes.stat($0).map { $0.parentPID != pid || $0.state != "Z" } ?? true }
        }
        #expect(reaped, "zombies the daemon never reaped: \(snapshot.sorted())")

        // Stop every worker; once all are stopped the daemon has no child at all.
        let stop = try await daemon.command(["stop", "all"])
        #expect(stop.code == 0, "\(stop.stderr)")
        try await daemon.status(what: "every instance stopped") { states in
            states.count == instances && states.values.allSatisfy { $0["state"] as? String == "stopped" }
        }
        // A process killed with its instance may be caught dying; it must be gone at once.
        let childless = await Processes.waitUntil(timeout: 5) { Processes.children(of: pid).isEmpty }
        let children = Processes.children(of: pid).map { "\($0.pid) \($0.stat.state)" }
        #expect(childless, "children of the daemon after every worker stopped: \(children)")

        // Every process spawned has exactly one exit event, and every crash its report.
        for index in 0..<instances {
            let instance = "storm:\(index)"
            let spawns = daemon.events("spawn", of: instance).count
            let exits = daemon.events("exit", of: instance).count
            #expect(spawns == exits && spawns > 0, "\(instance): \(spawns) spawns, \(exits) exits")
        }
        let crashExits = daemon.events("exit").filter { $0.contains(": crash (") }
        #expect(crashExits.allSatisfy { DaemonHarness.crashID(in: $0) != nil })
        let idsInOrder = crashExits.compactMap(DaemonHarness.crashID)
        let ids = Set(idsInOrder)
        #expect(ids.count == crashExits.count, "crash ids are unique")

        let workerPIDs = Set(daemon.spawnedPIDs)
        #expect(try await daemon.shutdown() == 0)
        // Reports are written by their own thread; the daemon drains it before it exits.
        let files = Set(((try? FileManager.default.contentsOfDirectory(atPath: daemon.crashDirectory)) ?? [])
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) })
        // The storm wrote more reports than are kept: exactly the newest `keep` are left.
        #expect(ids.count > keep, "only \(ids.count) crash reports: retention was never needed")
        let newest = Set(idsInOrder.suffix(keep))
        #expect(files == newest, "\(newest.subtracting(files).count) of the newest \(keep) reports missing, \(files.subtracting(newest).count) older ones kept")
        let left = Processes.members(ofGroups: workerPIDs).map { "\($0.pid) \($0.stat.state)" }
        #expect(left.isEmpty, "left behind: \(left)")
    }
}

/// Counts `exit` events as they arrive, looking at each line once (the storm writes thousands,
/// and a check point polls often).
final class ExitCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var scanned = 0
    private var exits = 0

    func count(in daemon: DaemonHarness) -> Int {
        lock.withLock {
            let lines = daemon.output
            for line in lines.dropFirst(scanned) where line.contains(" * exit: ") {
                exits += 1
            }
            scanned = max(scanned, lines.count)
            return exits
        }
    }
}
