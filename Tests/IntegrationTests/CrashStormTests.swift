import Foundation
import Glibc
import Testing

/// Fifty workers crashing over and over: the daemon keeps answering, counts every death, reaps
/// every child, and leaves nothing behind — and the storm is quiet (SPEC §7): the first deaths
/// of the crash get reports of their own, the rest fold into the last of them and are said as
/// "repeated N times" lines, every death accounted for.
@Suite("Crash storm")
struct CrashStormTests {
    static let instances = 50

    @Test("50 workers crashing repeatedly: responsive, every death counted, a few reports, no zombie, nothing left")
    func storm() async throws {
        let daemon = try DaemonHarness("""
        defaults:
          backoff: { initial: 50ms, max: 400ms, jitter: 0.2 }
          crash_loop: { same_crash: 0, max_restarts: 100000 }
          # The storm is about the supervisor, not symbolication: 50 backtracers at once
          # would only measure the machine.
          backtrace: false
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
        let started = Date()
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

        let workerPIDs = Set(daemon.spawnedPIDs)
        #expect(try await daemon.shutdown() == 0)
        // Every process spawned died once, and is accounted for: by an exit line of its own
        // (the first crashes, the stops), or in a "repeated N times" line (said by the time
        // the daemon exits).
        let exitLines = daemon.events("exit").filter { $0.hasPrefix("storm:") }
        let summaries = exitLines.filter { $0.contains(" * exit: repeated ") }
        let ownLines = exitLines.count - summaries.count
        let folded = summaries.compactMap(Self.repeats).reduce(0, +)
        let spawns = daemon.events("spawn").filter { $0.hasPrefix("storm:") }.count
        #expect(summaries.count == summaries.compactMap(Self.repeats).count, "every summary says how many: \(summaries.prefix(3))")
        #expect(ownLines + folded == spawns, "\(spawns) spawns, \(ownLines) exit lines, \(folded) deaths in \(summaries.count) repeated lines")
        #expect(folded > 4 * ownLines, "the storm was not quieter: \(ownLines) exit lines, \(folded) folded")

        // A few reports, not one per death; each that folded deaths says how many, and its
        // count matches the lines that named it.
        let reports = daemon.crashReports()
        let crashes = exitLines.filter { $0.contains(": crash (") && !$0.contains(" * exit: repeated ") }
        // At most 5 reports of one crash per minute (CrashCoalescer's burst and window).
        let minutes = Int(Date().timeIntervalSince(started) / 60) + 1
        #expect(reports.count == crashes.count && reports.count <= 5 * minutes, "\(reports.count) report files for \(crashes.count) crash lines in \(minutes) min")
        #expect(Set(crashes.compactMap(DaemonHarness.crashID)).count == crashes.count, "crash ids are unique")
        var perReport: [String: Int] = [:]
        for line in summaries {
            if let id = DaemonHarness.crashID(in: line), let n = Self.repeats(line) { perReport[id, default: 0] += n }
        }
        for report in reports {
            let id = report["id"] as? String ?? ""
            #expect(report["repeats"] as? Int ?? 0 == perReport[id] ?? 0, "\(id): \(report["repeats"] ?? "no repeats") in the file, \(perReport[id] ?? 0) in the lines")
            if let listed = report["repeated"] as? [[String: Any]] {
                #expect(listed.count == min(64, perReport[id] ?? 0))
                #expect(listed.allSatisfy { ($0["instance"] as? String)?.hasPrefix("storm:") == true && $0["pid"] is Int })
            }
        }
        let left = Processes.members(ofGroups: workerPIDs).map { "\($0.pid) \($0.stat.state)" }
        #expect(left.isEmpty, "left behind: \(left)")
    }
}

extension CrashStormTests {
    /// N of a `repeated N times` line.
    static func repeats(_ line: String) -> Int? {
        guard let range = line.range(of: " * exit: repeated ") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }
}

/// Counts deaths as their lines arrive — an `exit` line is one, a `repeated N times` line N —
/// looking at each line once (the storm writes thousands, and a check point polls often).
final class ExitCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var scanned = 0
    private var exits = 0

    func count(in daemon: DaemonHarness) -> Int {
        lock.withLock {
            let lines = daemon.output
            for line in lines.dropFirst(scanned) where line.contains(" * exit: ") {
                exits += CrashStormTests.repeats(line) ?? 1
            }
            scanned = max(scanned, lines.count)
            return exits
        }
    }
}
