import Testing
@testable import BulkheadPolicy

/// Policy as records and back: what the state file keeps (`durable`), a daemon that starts
/// again after dying (`restore`), and a re-exec (`resume`).
@Suite("Records, restore and resume")
struct RecordTests {
    static let term = Signals.terminate

    /// A daemon's policy brought to: api:0 running, api:1 quarantined, cache:0 stopped by the
    /// operator, web:0 failed, job:0 breaker open, tick:0 in backoff.
    static func eventful() -> Harness {
        var h = Harness([
            worker("api", instances: 2),
            worker("cache"),
            worker("web"),
            worker("job", crashLoop: CrashLoopPolicy(maxRestarts: 1, window: .seconds(60), cooldown: .seconds(300), sameCrash: 0)),
            worker("tick", backoff: BackoffPolicy(initial: .seconds(10), max: .seconds(30), multiplier: 2, jitter: 0, resetAfter: .seconds(60))),
        ])
        h.bringUp()
        _ = h.died("api:1", .exit(ExitCodes.corruption), .seconds(1))
        _ = h.sup.stop([iid("cache:0")], at(.seconds(1)))
        _ = h.died("cache:0", .signal(term), .seconds(2))
        _ = h.died("web:0", .exit(78), .seconds(2))
        _ = h.died("job:0", .signal(11), .seconds(2))
        h.spawnAll(h.tick(.seconds(3)), .seconds(3))
        _ = h.died("job:0", .signal(11), .seconds(4))
        _ = h.died("tick:0", .exit(1), .seconds(5))
        return h
    }

    @Test("the eventful daemon is where the tests below assume")
    func eventfulStates() {
        let h = Self.eventful()
        #expect(h.states() == ["api:0": .running, "api:1": .quarantined, "cache:0": .stopped, "web:0": .failed,
                               "job:0": .open, "tick:0": .backoff])
    }

    @Test("durable drops what pings and readiness move, keeps every decision")
    func durablePart() {
        var h = Harness([worker("api", ready: .notify, watchdog: .seconds(5))])
        h.bringUp()
        _ = h.notify("api:0", .status("busy"), .seconds(1))
        let before = h.sup.record(of: iid("api:0"))!.durable
        _ = h.notify("api:0", .watchdog, .seconds(2))
        _ = h.notify("api:0", .status("idle"), .seconds(2))
        let after = h.sup.record(of: iid("api:0"))!
        #expect(after.durable == before, "a ping or a status text is no decision")
        #expect(after.statusText == "idle" && after.durable.statusText == nil)
        _ = h.notify("api:0", .ready, .seconds(3))
        #expect(h.sup.record(of: iid("api:0"))!.durable != before, "ready is a decision")
    }

    @Test("record changes are reported: every write, and instances that left")
    func changesReported() {
        var h = Harness([worker("api", instances: 2)])
        _ = h.sup.takeRecordChanges()
        h.bringUp()
        #expect(h.sup.takeRecordChanges() == [iid("api:0"), iid("api:1")])
        #expect(h.sup.takeRecordChanges().isEmpty)
        _ = h.died("api:1", .exit(1), .seconds(1))
        #expect(h.sup.takeRecordChanges() == [iid("api:1")])
    }

    @Test("restore after a crash of the daemon: verdicts, intent, deadlines and counters come back; gone processes start again")
    func restoreEverything() {
        let old = Self.eventful()
        let records = old.sup.records.map(\.durable)
        var h = Harness(old.sup.config.workers)
        let actions = h.sup.restore(records, leftovers: [:], at(.seconds(6)))
        // api:0's process ended while no bulkhead ran: it starts again; nothing else does.
        #expect(processSteps(actions) == [.spawn("api:0")])
        #expect(events(actions).map(\.kind) == [.exit])
        #expect(steps(h.startAll(.seconds(6))).isEmpty, "startAll leaves restored instances alone")
        #expect(h.states() == ["api:0": .starting, "api:1": .quarantined, "cache:0": .stopped, "web:0": .failed,
                               "job:0": .open, "tick:0": .backoff])
        for id in ["api:1", "cache:0", "web:0", "job:0", "tick:0"] {
            let was = old.sup.record(of: iid(id))!
            let now = h.sup.record(of: iid(id))!
            #expect(now.restarts == was.restarts && now.attempt == was.attempt && now.breaker == was.breaker
                    && now.lastClass == was.lastClass && now.wanted == was.wanted, "\(id)")
        }
        #expect(h.sup.snapshot(of: iid("cache:0"))?.wanted == false, "the operator's stop holds")
        // The deadlines hold too: tick:0 restarts at 15 s, job:0 tries half-open at 304 s.
        #expect(h.tick(.seconds(14)).isEmpty)
        #expect(spawnedIDs(h.tick(.seconds(15))) == ["tick:0"])
        #expect(spawnedIDs(h.tick(.seconds(304))) == ["job:0"])
        // Quarantine still refuses a start.
        #expect(h.sup.start([iid("api:1")], at(.seconds(305))).refused)
    }

    @Test("restore: an adopted process keeps its pid and start, and is watched from now")
    func restoreAdopted() {
        var old = Harness([worker("api", ready: .notify, watchdog: .seconds(5))])
        old.bringUp()
        _ = old.notify("api:0", .ready, .seconds(1))
        let pid = old.pid("api:0")
        var h = Harness(old.sup.config.workers)
        let actions = h.sup.restore(old.sup.records.map(\.durable), leftovers: [iid("api:0"): .init(pid: pid, startedAt: .zero, fate: .adopted)],
                                  at(.seconds(100)))
        #expect(actions.isEmpty, "nothing to start, nothing to stop")
        #expect(h.state("api:0") == .running)
        let snap = h.sup.snapshot(of: iid("api:0"))
        #expect(snap?.pid == pid && snap?.startedAt == .zero)
        #expect(h.sup.nextDeadline() == at(.seconds(60)), "its stable run is due (reset_after from its start)")
        _ = h.tick(.seconds(60))
        #expect(h.sup.nextDeadline() == at(.seconds(105)), "the watchdog runs from the adoption")
        #expect(h.sup.exited(iid("api:0"), pid: pid, facts: DeathFacts(termination: .unknown), at(.seconds(101))).contains {
            if case .spawn = $0 { return true } else { return false }
        } == false, "a death of an adopted process waits out its backoff like any")
        #expect(h.state("api:0") == .backoff)
        #expect(h.sup.snapshot(of: iid("api:0"))?.lastClass == .transient)
    }

    @Test("restore: a leftover that cannot be adopted is stopped first, and its instance starts once it is gone")
    func restoreStoppedLeftover() {
        var old = Harness([worker("api", stop: StopPolicy(signal: Signals.terminate, timeout: .seconds(10)))])
        old.bringUp()
        let pid = old.pid("api:0")
        var h = Harness(old.sup.config.workers)
        let actions = h.sup.restore(old.sup.records.map(\.durable), leftovers: [iid("api:0"): .init(pid: pid, startedAt: .zero, fate: .stopped)],
                                  at(.seconds(50)))
        #expect(processSteps(actions) == [.signal("api:0", pid: pid, signal: Self.term, scope: .group)])
        #expect(h.state("api:0") == .stopping)
        #expect(steps(h.startAll(.seconds(50))).isEmpty, "no second copy while the first is stopping")
        #expect(h.sup.nextDeadline() == at(.seconds(60)))
        #expect(processSteps(h.tick(.seconds(60))) == [.signal("api:0", pid: pid, signal: Signals.kill, scope: .group)])
        let death = h.sup.exited(iid("api:0"), pid: pid, facts: DeathFacts(termination: .unknown), at(.seconds(61)))
        #expect(steps(death).contains(.record("api:0", .clean)))
        #expect(spawnedIDs(death) == ["api:0"])
        #expect(h.sup.snapshot(of: iid("api:0"))?.restarts == 0, "stopping a leftover is not a restart")
    }

    @Test("restore: a leftover no record names is stopped before its instance starts; one under a verdict is killed")
    func restoreStrays() {
        let old = Self.eventful()
        var h = Harness(old.sup.config.workers)
        let actions = h.sup.restore(old.sup.records.map(\.durable), leftovers: [
            iid("api:0"): .init(pid: 7001, startedAt: .zero, fate: .stopped),        // not the recorded pid
            iid("api:1"): .init(pid: 7002, startedAt: .zero, fate: .stopped),        // quarantined
            iid("cache:0"): .init(pid: 7003, startedAt: .zero, fate: .stopped),      // stopped by the operator
        ], at(.seconds(6)))
        #expect(processSteps(actions) == [
            .signal("api:0", pid: 7001, signal: Self.term, scope: .group),
            .signal("api:1", pid: 7002, signal: Signals.kill, scope: .group),
            .signal("cache:0", pid: 7003, signal: Self.term, scope: .group),
        ])
        #expect(h.state("api:1") == .quarantined)
        let stopped = h.sup.exited(iid("cache:0"), pid: 7003, facts: DeathFacts(termination: .unknown), at(.seconds(7)))
        #expect(spawnedIDs(stopped).isEmpty && h.state("cache:0") == .stopped, "the operator's stop still holds")
        let restarted = h.sup.exited(iid("api:0"), pid: 7001, facts: DeathFacts(termination: .unknown), at(.seconds(7)))
        #expect(spawnedIDs(restarted) == ["api:0"])
        // An instance with no record at all (a corrupt state file, say): its leftover goes first.
        var fresh = Harness([worker("api")])
        #expect(processSteps(fresh.sup.restore([], leftovers: [iid("api:0"): .init(pid: 7004, startedAt: .zero, fate: .stopped)], at(.seconds(1))))
                == [.signal("api:0", pid: 7004, signal: Self.term, scope: .group)])
        #expect(steps(fresh.startAll(.seconds(1))).isEmpty)
        #expect(spawnedIDs(fresh.sup.exited(iid("api:0"), pid: 7004, facts: DeathFacts(termination: .unknown), at(.seconds(2)))) == ["api:0"])
    }

    @Test("restore: records of removed workers and unknown instances are dropped; new instances start")
    func restoreAgainstChangedConfig() {
        var old = Harness([worker("api", instances: 2), worker("gone")])
        old.bringUp()
        _ = old.sup.stop([iid("api:1")], at(.seconds(1)))
        _ = old.died("api:1", .signal(Self.term), .seconds(2))
        var h = Harness([worker("api", instances: 1), worker("new")])
        let actions = h.sup.restore(old.sup.records.map(\.durable), leftovers: [:], at(.seconds(3)))
        #expect(spawnedIDs(actions) == ["api:0"])
        #expect(spawnedIDs(h.startAll(.seconds(3))) == ["new:0"])
    }

    @Test("resume after a re-exec: every record exactly as it was")
    func resumeExactly() {
        var old = Self.eventful()
        _ = old.notify("api:0", .status("serving"), .seconds(5))
        var h = Harness(old.sup.config.workers)
        #expect(h.sup.resume(old.sup.records, at(.seconds(5))).isEmpty)
        #expect(h.sup.records == old.sup.records)
        #expect(steps(h.startAll(.seconds(5))).isEmpty)
        #expect(h.sup.nextDeadline() == old.sup.nextDeadline())
        #expect(h.sup.snapshot() == old.sup.snapshot())
    }

    @Test("a re-exec is refused while shutting down or while a removed worker is still stopping")
    func resumeObstacles() {
        var h = Harness([worker("api"), worker("old")])
        h.bringUp()
        #expect(h.sup.resumeObstacle == nil)
        _ = h.sup.reload(SupervisorConfig(workers: [worker("api")]), at(.seconds(1)))
        #expect(h.sup.resumeObstacle?.contains("old:0") == true)
        _ = h.died("old:0", .signal(Self.term), .seconds(2))
        #expect(h.sup.resumeObstacle == nil)
        _ = h.sup.shutdown(at(.seconds(3)))
        #expect(h.sup.resumeObstacle == "bulkhead is shutting down")
    }
}
