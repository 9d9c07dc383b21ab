import Testing
@testable import BulkheadPolicy

/// Issue 19: nothing in policy may cost O(instances) per death, notify message or deadline.
/// `Supervision.visits` counts every instance an event looks at or writes; the same event at
/// 100 and at 10,000 instances must cost the same.
@Suite("Cost per event does not grow with the instance count")
struct ScaleTests {
    /// The instances of a dependency chain (`db` → `app` → `edge`, rest_for_one), `extra` idle
    /// ones beside them in their own worker, and — when `workers` — as many one-instance
    /// workers, so both shapes of a big config are covered.
    static func harness(extra: Int, manyWorkers: Bool) -> Harness {
        var workers = [
            worker("db", instances: 2),
            worker("app", instances: 3, ready: .notify, watchdog: .seconds(10), dependsOn: ["db"], strategy: .restForOne),
            worker("edge", dependsOn: ["app"], strategy: .oneForAll),
        ]
        if manyWorkers {
            workers += (0..<extra).map { worker("w\($0)", watchdog: .seconds(30)) }
        } else {
            workers.append(worker("idle", instances: extra, ready: .notify, watchdog: .seconds(30)))
        }
        var h = Harness(workers)
        h.bringUp()
        for index in 0..<3 { perform(&h, h.notify("app:\(index)", .ready, .zero), .zero) }
        if !manyWorkers {
            for index in 0..<extra { perform(&h, h.notify("idle:\(index)", .ready, .zero), .zero) }
        }
        #expect(h.state("edge:0") == .running)
        return h
    }

    /// Plays the mechanism: spawns are answered, and a stop signal kills its process at once.
    static func perform(_ h: inout Harness, _ actions: [SupervisorAction], _ t: Duration) {
        var queue = actions
        while !queue.isEmpty {
            switch queue.removeFirst() {
            case .spawn(let id): queue += h.spawned(id.description, t)
            case .signal(let id, _, _, _): queue += h.died(id.description, .signal(Signals.terminate), t)
            case .record, .emit, .forget: break
            }
        }
    }

    /// What one round of ordinary events costs: a crash (with its restart cascade down the
    /// chain), the backoff running out, the respawns, READY=1 and watchdog pings, a status text.
    static func roundCost(_ h: inout Harness, at second: Int64) -> Int {
        let before = h.sup.visits
        let t = Duration.seconds(second)
        perform(&h, h.notify("app:1", .watchdog, t), t)
        perform(&h, h.notify("app:1", .status("busy"), t), t)
        perform(&h, h.died("db:0", .signal(11), t), t)
        perform(&h, h.tick(t + .seconds(1)), t + .seconds(1))
        for index in 0..<3 { perform(&h, h.notify("app:\(index)", .ready, t + .seconds(2)), t + .seconds(2)) }
        perform(&h, h.tick(t + .seconds(3)), t + .seconds(3))
        _ = h.sup.nextDeadline()
        _ = h.sup.startupSettled()
        _ = h.sup.isQuiescent
        return h.sup.visits - before
    }

    @Test("a death, its cascade, backoff, respawns and notifications cost the same at 100 and 10,000 instances",
          arguments: [false, true])
    func costPerEvent(manyWorkers: Bool) {
        var small = Self.harness(extra: 100, manyWorkers: manyWorkers)
        var large = Self.harness(extra: 10_000, manyWorkers: manyWorkers)
        // The watchdogs of the idle instances are 30 s out: each round stays before them.
        let smallCost = Self.roundCost(&small, at: 5)
        let largeCost = Self.roundCost(&large, at: 5)
        #expect(smallCost > 0)
        #expect(largeCost == smallCost, "one round: \(smallCost) instance visits at 100 instances, \(largeCost) at 10,000")
        for id in ["db:0", "app:0", "app:2", "edge:0"] {
            #expect(large.state(id) == .running, "\(id): \(String(describing: large.state(id)))")
        }
        #expect(large.sup.snapshot(of: iid("app:0"))?.restarts == 0, "app:0 was stopped and started again, not restarted by backoff")
        #expect(large.sup.timed.count == small.sup.timed.count + 9_900)
    }

    @Test("a deadline due among 10,000 costs that instance alone")
    func oneDeadlineAmongMany() {
        var h = Self.harness(extra: 10_000, manyWorkers: false)
        // One watchdog missed (its instance never pings again), all the others pinged in time.
        for index in 1..<10_000 { _ = h.notify("idle:\(index)", .watchdog, .seconds(20)) }
        let before = h.sup.visits
        let actions = h.tick(.seconds(30))
        #expect(steps(actions).contains(.emit(.watchdog, "idle:0")))
        #expect(h.sup.visits - before < 10, "\(h.sup.visits - before) visits for one due deadline")
        #expect(h.sup.nextDeadline() == at(.seconds(30) + .seconds(2)), "the watchdog grace is next")
    }

    @Test("waiting dependents are parked: events elsewhere do not look at them")
    func parkedDependents() {
        var h = Harness([
            worker("db"),
            worker("app", instances: 5_000, dependsOn: ["db"]),
            worker("other"),
        ])
        let started = h.startAll()
        #expect(Set(spawnedIDs(started)) == ["db:0", "other:0"])
        _ = h.spawned("other:0", .zero)
        let before = h.sup.visits
        _ = h.died("other:0", .exit(1), .seconds(1))
        _ = h.spawnAll(h.tick(.seconds(2)), .seconds(2))
        #expect(h.sup.visits - before < 20, "\(h.sup.visits - before) visits while 5,000 instances wait for db")
        // db comes up: every one of them starts, in config order.
        let spawns = spawnedIDs(h.spawned("db:0", .seconds(3)))
        #expect(spawns == (0..<5_000).map { "app:\($0)" })
    }
}
