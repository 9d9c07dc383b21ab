import Testing
@testable import BulkheadPolicy

@Suite("Instance lifecycle")
struct LifecycleTests {
    static let term = Signals.terminate
    static let kill = Signals.kill
    static let quit = Signals.quit

    // MARK: - Ready modes

    @Test("ready: spawn → running at once (spawn, ready events)")
    func readyOnSpawn() {
        var h = Harness([worker("api")])
        #expect(h.state("api:0") == .stopped)
        #expect(steps(h.startAll()) == [.spawn("api:0")])
        #expect(h.state("api:0") == .starting)
        #expect(steps(h.spawned("api:0", .zero)) == [.emit(.spawn, "api:0"), .emit(.ready, "api:0")])
        #expect(h.state("api:0") == .running)
        let snap = h.sup.snapshot(of: iid("api:0"))
        #expect(snap?.pid == h.pid("api:0"))
        #expect(snap?.startedAt == .zero)
        #expect(snap?.wanted == true)
        #expect(h.sup.nextDeadline() == nil, "no deadline while a first run is simply up")
    }

    @Test("ready: notify → starting until READY=1")
    func readyOnNotify() {
        var h = Harness([worker("api", ready: .notify, startTimeout: .seconds(30))])
        _ = h.startAll()
        #expect(steps(h.spawned("api:0", .zero)) == [.emit(.spawn, "api:0")])
        #expect(h.state("api:0") == .starting)
        #expect(h.sup.nextDeadline() == at(.seconds(30)))
        #expect(h.tick(.seconds(29)).isEmpty)
        #expect(steps(h.notify("api:0", .ready, .seconds(2))) == [.emit(.ready, "api:0")])
        #expect(h.state("api:0") == .running)
        #expect(h.sup.nextDeadline() == nil)
        #expect(h.notify("api:0", .ready, .seconds(3)).isEmpty, "a second READY=1 is not news")
    }

    @Test("ready: a duration → running once it stayed up that long")
    func readyAfterDuration() {
        var h = Harness([worker("api", ready: .after(.seconds(5)))])
        _ = h.startAll()
        #expect(steps(h.spawned("api:0", .seconds(1))) == [.emit(.spawn, "api:0")])
        #expect(h.sup.nextDeadline() == at(.seconds(6)))
        #expect(h.tick(.milliseconds(5999)).isEmpty)
        #expect(h.state("api:0") == .starting)
        #expect(steps(h.tick(.seconds(6))) == [.emit(.ready, "api:0")])
        #expect(h.state("api:0") == .running)
    }

    @Test("STATUS= text shows in the snapshot")
    func statusText() {
        var h = Harness([worker("api")])
        h.bringUp()
        #expect(h.notify("api:0", .status("42 jobs queued"), .seconds(1)).isEmpty)
        #expect(h.sup.snapshot(of: iid("api:0"))?.statusText == "42 jobs queued")
    }

    @Test("start timeout: stop signal to the group, SIGKILL after stop.timeout, class transient, backoff")
    func startTimeout() {
        var h = Harness([worker("api", ready: .notify, startTimeout: .seconds(30))])
        _ = h.startAll()
        h.spawned("api:0", .zero)
        let pid = h.pid("api:0")
        #expect(steps(h.tick(.seconds(30))) == [
            .emit(.startTimeout, "api:0"),
            .signal("api:0", pid: pid, signal: Self.term, scope: .group),
            .emit(.stop, "api:0"),
        ])
        #expect(h.state("api:0") == .stopping)
        #expect(h.sup.nextDeadline() == at(.seconds(40)))
        #expect(h.notify("api:0", .ready, .seconds(31)).isEmpty, "too late to be ready")
        #expect(h.tick(.milliseconds(39_999)).isEmpty)
        #expect(steps(h.tick(.seconds(40))) == [.signal("api:0", pid: pid, signal: Self.kill, scope: .group), .emit(.stop, "api:0")])
        #expect(h.tick(.seconds(50)).isEmpty, "SIGKILL once")
        let death = h.died("api:0", .signal(Self.kill), .seconds(40))
        #expect(steps(death) == [.record("api:0", .transient), .emit(.backoff, "api:0")])
        #expect(records(death).first?.classification.rule == "default: not ready within start_timeout")
        #expect(h.state("api:0") == .backoff)
    }

    @Test("a worker that exits on the stop signal within the timeout gets no SIGKILL")
    func startTimeoutExitsInTime() {
        var h = Harness([worker("api", ready: .notify, startTimeout: .seconds(30))])
        _ = h.startAll()
        h.spawned("api:0", .zero)
        _ = h.tick(.seconds(30))
        #expect(steps(h.died("api:0", .signal(Self.term), .seconds(31))) == [.record("api:0", .transient), .emit(.backoff, "api:0")])
        #expect(processSteps(h.tick(.seconds(40))) == [.spawn("api:0")], "the backoff's restart, and no SIGKILL")
    }

    @Test("EXTEND_TIMEOUT_USEC postpones the start timeout and the SIGKILL, never brings them closer")
    func extendTimeout() {
        var h = Harness([worker("api", ready: .notify, startTimeout: .seconds(30))])
        _ = h.startAll()
        h.spawned("api:0", .zero)
        #expect(h.notify("api:0", .extendTimeout(.seconds(5)), .seconds(1)).isEmpty)
        #expect(h.sup.nextDeadline() == at(.seconds(30)), "30s is later than 1s + 5s")
        _ = h.notify("api:0", .extendTimeout(.seconds(45)), .seconds(20))
        #expect(h.sup.nextDeadline() == at(.seconds(65)))
        #expect(h.tick(.seconds(64)).isEmpty)
        #expect(steps(h.tick(.seconds(65))).first == .emit(.startTimeout, "api:0"))
        #expect(h.sup.nextDeadline() == at(.seconds(75)))
        _ = h.notify("api:0", .extendTimeout(.seconds(20)), .seconds(70))
        #expect(h.sup.nextDeadline() == at(.seconds(90)))
    }

    // MARK: - Watchdog

    static let watched = worker("api", watchdog: .seconds(10), watchdogGrace: .seconds(2))

    @Test("watchdog miss: SIGQUIT to the process, SIGKILL to the group after watchdog_grace, class hang, backoff")
    func watchdogMiss() {
        var h = Harness([Self.watched])
        h.bringUp()
        let pid = h.pid("api:0")
        #expect(h.sup.nextDeadline() == at(.seconds(10)))
        #expect(h.tick(.milliseconds(9999)).isEmpty)
        #expect(steps(h.tick(.seconds(10))) == [
            .emit(.watchdog, "api:0"),
            .signal("api:0", pid: pid, signal: Self.quit, scope: .process),
        ])
        #expect(h.state("api:0") == .stopping)
        #expect(h.sup.nextDeadline() == at(.seconds(12)))
        #expect(h.notify("api:0", .watchdog, .seconds(11)).isEmpty, "a late ping does not save it")
        #expect(h.tick(.milliseconds(11_999)).isEmpty)
        #expect(steps(h.tick(.seconds(12))) == [.signal("api:0", pid: pid, signal: Self.kill, scope: .group), .emit(.stop, "api:0")])
        let death = h.died("api:0", .signal(Self.kill), .seconds(12))
        #expect(steps(death) == [.record("api:0", .hang), .emit(.backoff, "api:0")])
        #expect(records(death).first?.classification.rule == "default: watchdog missed, killed by bulkhead")
        #expect(h.sup.snapshot(of: iid("api:0"))?.lastClass == .hang)
        #expect(steps(h.tick(.milliseconds(12_100))) == [.emit(.restart, "api:0"), .spawn("api:0")])
    }

    @Test("watchdog: dying of the SIGQUIT before the grace is still a hang")
    func watchdogQuitKills() {
        var h = Harness([Self.watched])
        h.bringUp()
        _ = h.tick(.seconds(10))
        #expect(steps(h.died("api:0", .signal(Self.quit, core: true), .seconds(10))) == [.record("api:0", .hang), .emit(.backoff, "api:0")])
    }

    @Test("a watchdog kill that lands during shutdown: a hang, not restarted, because of the shutdown")
    func watchdogKillDuringShutdown() {
        var h = Harness([Self.watched])
        h.bringUp()
        _ = h.tick(.seconds(10))   // SIGQUIT; the SIGKILL is due at 12 s
        _ = h.sup.shutdown(at(.seconds(11)))
        let death = h.died("api:0", .signal(Self.kill), .seconds(12))
        #expect(steps(death).first == .record("api:0", .hang))
        #expect(records(death).first?.action == "none: bulkhead is shutting down")
        #expect(h.state("api:0") == .stopped)
    }

    @Test("pings postpone the deadline")
    func pings() {
        var h = Harness([Self.watched])
        h.bringUp()
        #expect(h.notify("api:0", .watchdog, .seconds(8)).isEmpty)
        #expect(h.sup.nextDeadline() == at(.seconds(18)))
        #expect(h.tick(.seconds(10)).isEmpty)
        #expect(h.notify("api:0", .watchdog, .seconds(17)).isEmpty)
        #expect(h.tick(.seconds(26)).isEmpty)
        #expect(h.state("api:0") == .running)
        #expect(steps(h.tick(.seconds(27))).first == .emit(.watchdog, "api:0"))
    }

    @Test("the watchdog runs while starting too")
    func watchdogWhileStarting() {
        var h = Harness([worker("api", ready: .notify, watchdog: .seconds(10))])
        _ = h.startAll()
        h.spawned("api:0", .zero)
        #expect(steps(h.tick(.seconds(10))) == [.emit(.watchdog, "api:0"), .signal("api:0", pid: h.pid("api:0"), signal: Self.quit, scope: .process)])
    }

    @Test("WATCHDOG=trigger: treated as a missed watchdog at once")
    func watchdogTrigger() {
        var h = Harness([Self.watched])
        h.bringUp()
        #expect(steps(h.notify("api:0", .watchdogTrigger, .seconds(3))) == [
            .emit(.watchdog, "api:0"), .signal("api:0", pid: h.pid("api:0"), signal: Self.quit, scope: .process),
        ])
        #expect(h.sup.nextDeadline() == at(.seconds(5)))
    }

    @Test("pings from a worker without a watchdog are ignored")
    func pingWithoutWatchdog() {
        var h = Harness([worker("api")])
        h.bringUp()
        #expect(h.notify("api:0", .watchdog, .seconds(1)).isEmpty)
        #expect(h.sup.nextDeadline() == nil)
    }

    // MARK: - Stop

    @Test("stop: the stop signal to the group, SIGKILL after stop.timeout, class clean, stays stopped")
    func stop() {
        var h = Harness([worker("api", stop: StopPolicy(signal: Signals.interrupt, timeout: .seconds(5)))])
        h.bringUp()
        let pid = h.pid("api:0")
        let result = h.sup.stop([iid("api:0")], at(.seconds(1)))
        #expect(result.lines == ["api:0: stopping"])
        #expect(!result.refused)
        #expect(steps(result.actions) == [.signal("api:0", pid: pid, signal: Signals.interrupt, scope: .group), .emit(.stop, "api:0")])
        #expect(h.state("api:0") == .stopping)
        #expect(h.tick(.milliseconds(5999)).isEmpty)
        #expect(steps(h.tick(.seconds(6))) == [.signal("api:0", pid: pid, signal: Self.kill, scope: .group), .emit(.stop, "api:0")])
        let death = h.died("api:0", .signal(Self.kill), .seconds(6))
        #expect(steps(death) == [.record("api:0", .clean)])
        #expect(records(death).first?.action == "none: stopped as asked")
        #expect(records(death).first?.classification.rule == "default: stopped by the operator")
        #expect(h.state("api:0") == .stopped)
        #expect(h.sup.snapshot(of: iid("api:0"))?.wanted == false)
        #expect(h.sup.snapshot(of: iid("api:0"))?.lastClass == nil, "a requested clean stop is not a `last class`")
        #expect(h.tick(.seconds(3600)).isEmpty)
        #expect(h.sup.isQuiescent)
    }

    @Test("stop, then the process crashes on the way out: class crash, still stopped")
    func crashWhileStopping() {
        var h = Harness([worker("api")])
        h.bringUp()
        _ = h.sup.stop([iid("api:0")], at(.seconds(1)))
        #expect(steps(h.died("api:0", .signal(11, core: true), .seconds(2))) == [.record("api:0", .crash)])
        #expect(h.state("api:0") == .stopped)
        #expect(h.sup.snapshot(of: iid("api:0"))?.lastClass == .crash)
    }

    @Test("a stop during the spawn waits for the pid, then stops it")
    func stopWhileSpawning() {
        var h = Harness([worker("api")])
        _ = h.startAll()
        let stop = h.sup.stop([iid("api:0")], at(.zero))
        #expect(stop.actions.isEmpty)
        #expect(stop.lines == ["api:0: stopping"])
        let spawned = h.spawned("api:0", .milliseconds(1))
        #expect(processSteps(spawned) == [.signal("api:0", pid: h.pid("api:0"), signal: Self.term, scope: .group)])
        #expect(h.state("api:0") == .stopping)
    }

    @Test("a stale exit (wrong pid) is ignored")
    func stalePid() {
        var h = Harness([worker("api")])
        h.bringUp()
        #expect(h.sup.exited(iid("api:0"), pid: 9999, facts: .exit(1), at(.seconds(1))).isEmpty)
        #expect(h.state("api:0") == .running)
    }

    // MARK: - Restart modes and classes → actions

    static let modeTable: [(RestartMode, DeathFacts, [Step], InstanceState)] = [
        (.always, .exit(0), [.record("api:0", .clean), .emit(.backoff, "api:0")], .backoff),
        (.onFailure, .exit(0), [.record("api:0", .clean)], .stopped),
        (.never, .exit(0), [.record("api:0", .clean)], .stopped),
        (.always, .exit(1), [.record("api:0", .transient), .emit(.backoff, "api:0")], .backoff),
        (.onFailure, .exit(1), [.record("api:0", .transient), .emit(.backoff, "api:0")], .backoff),
        (.never, .exit(1), [.record("api:0", .transient), .emit(.failed, "api:0")], .failed),
        (.onFailure, .signal(11), [.record("api:0", .crash), .emit(.backoff, "api:0")], .backoff),
        (.never, .signal(11), [.record("api:0", .crash), .emit(.failed, "api:0")], .failed),
        (.onFailure, .signal(24), [.record("api:0", .limit), .emit(.backoff, "api:0")], .backoff),
        // persistent and corruption ignore the restart mode.
        (.always, .exit(78), [.record("api:0", .persistent), .emit(.failed, "api:0")], .failed),
        (.onFailure, .exit(64), [.record("api:0", .persistent), .emit(.failed, "api:0")], .failed),
        (.always, .exit(86), [.record("api:0", .corruption), .emit(.quarantined, "api:0")], .quarantined),
    ]

    @Test("restart: always vs on-failure vs never, and what each class does", arguments: modeTable)
    func restartModes(mode: RestartMode, facts: DeathFacts, expected: [Step], state: InstanceState) {
        var h = Harness([worker("api", restart: mode)])
        h.bringUp()
        let death = h.died("api:0", facts, .seconds(1))
        #expect(steps(death) == expected)
        #expect(h.state("api:0") == state)
        if state == .backoff {
            #expect(steps(h.tick(.seconds(2))) == [.emit(.restart, "api:0"), .spawn("api:0")])
        } else {
            #expect(h.tick(.seconds(3600)).isEmpty, "\(state) does not restart by itself")
        }
    }

    @Test("on-failure exit 0: the instance is no longer wanted")
    func cleanExitNotWanted() {
        var h = Harness([worker("api")])
        h.bringUp()
        let death = h.died("api:0", .exit(0), .seconds(1))
        #expect(records(death).first?.action == "none: restart is on-failure")
        #expect(h.sup.snapshot(of: iid("api:0"))?.wanted == false)
    }

    @Test("persistent → failed with a failed event at PRIORITY=crit")
    func persistentFails() {
        var h = Harness([worker("api")])
        h.bringUp()
        let death = h.died("api:0", .exit(78), .seconds(1))
        let failed = events(death).first
        #expect(failed?.kind == .failed)
        #expect(failed?.priority == 2)
        #expect(records(death).first?.classification == Classification(.persistent, rule: "default: exit 78 (EX_CONFIG)"))
        #expect(h.sup.snapshot(of: iid("api:0"))?.lastClass == .persistent)
    }

    @Test("spawn failure for configuration → persistent → failed; for resources → transient → backoff")
    func spawnFailures() {
        var h = Harness([worker("api"), worker("job")])
        _ = h.startAll()
        let config = h.sup.spawnFailed(iid("api:0"), SpawnFailure(kind: .configuration, stage: "exec", reason: "ENOENT"), at(.zero))
        #expect(steps(config) == [.record("api:0", .persistent), .emit(.failed, "api:0")])
        #expect(records(config).first?.pid == nil)
        #expect(h.state("api:0") == .failed)
        let resources = h.sup.spawnFailed(iid("job:0"), SpawnFailure(kind: .resources, stage: "fork", reason: "EAGAIN"), at(.zero))
        #expect(steps(resources) == [.record("job:0", .transient), .emit(.backoff, "job:0")])
        #expect(h.state("job:0") == .backoff)
        #expect(steps(h.tick(.milliseconds(100))) == [.emit(.restart, "job:0"), .spawn("job:0")])
    }

    @Test("the death record carries pid, times, facts, fingerprint and restart count")
    func deathRecord() {
        var h = Harness([worker("api")])
        _ = h.startAll()
        h.spawned("api:0", .seconds(2))
        let facts = DeathFacts(termination: .signaled(signal: 6, coreDumped: true), stderrTail: ["boom"])
        let record = try! #require(records(h.died("api:0", facts, .seconds(5))).first)
        #expect(record.instance == iid("api:0"))
        #expect(record.pid == h.pid("api:0"))
        #expect(record.startedAt == at(.seconds(2)))
        #expect(record.endedAt == at(.seconds(5)))
        #expect(record.facts == facts)
        #expect(record.fingerprint == CrashFingerprint.compute(facts))
        #expect(record.restarts == 1)
        #expect(record.action == "restart in 100ms")
    }

    // MARK: - Corruption

    /// db ← api ← web (web depends on api, api on db), plus an unrelated worker.
    static let chain = [
        worker("db"), worker("api", dependsOn: ["db"]), worker("web", dependsOn: ["api"]), worker("other"),
    ]

    @Test("corruption → quarantined; every transitive dependent is stopped and kept waiting until reset")
    func quarantine() {
        var h = Harness(Self.chain)
        h.bringUp()
        #expect(h.states().values.allSatisfy { $0 == .running })
        let death = h.died("db:0", .exit(86), .seconds(1))
        #expect(steps(death) == [
            .record("db:0", .corruption),
            .emit(.quarantined, "db:0"),
            .signal("api:0", pid: h.pid("api:0"), signal: Self.term, scope: .group), .emit(.stop, "api:0"),
            .signal("web:0", pid: h.pid("web:0"), signal: Self.term, scope: .group), .emit(.stop, "web:0"),
        ])
        #expect(records(death).first?.action == "quarantined: not restarted until `bulkhead reset db:0`; dependents stopped: api, web")
        #expect(events(death).first?.priority == 1)
        #expect(h.state("db:0") == .quarantined)
        #expect(steps(h.died("api:0", .signal(Self.term), .seconds(2))) == [.record("api:0", .clean)])
        #expect(steps(h.died("web:0", .signal(Self.term), .seconds(2))) == [.record("web:0", .clean)])
        #expect(h.states() == ["db:0": .quarantined, "api:0": .waiting, "web:0": .waiting, "other:0": .running])
        #expect(h.tick(.seconds(3600)).isEmpty)
        #expect(h.sup.nextDeadline() == nil)
        // `start` is refused while quarantined.
        #expect(h.sup.start([iid("db:0")], at(.seconds(3601))).refused)
        // reset: starts it again, then its dependents in order.
        let reset = h.sup.reset([iid("db:0")], at(.seconds(3602)))
        #expect(reset.lines == ["db:0: was quarantined; starting"])
        #expect(steps(reset.actions) == [.emit(.recovered, "db:0"), .spawn("db:0")])
        #expect(steps(h.spawned("db:0", .seconds(3602))) == [.emit(.spawn, "db:0"), .emit(.ready, "db:0"), .spawn("api:0")])
        #expect(steps(h.spawned("api:0", .seconds(3602))) == [.emit(.spawn, "api:0"), .emit(.ready, "api:0"), .spawn("web:0")])
        h.spawned("web:0", .seconds(3602))
        #expect(h.states().values.allSatisfy { $0 == .running })
        #expect(h.sup.snapshot(of: iid("db:0"))?.lastClass == nil)
    }

    @Test("a corruption rule quarantines too")
    func corruptionRule() {
        let rules = [ClassificationRule(stderrContains: "database disk image is malformed", result: .corruption, label: "rules[0]")]
        var h = Harness([worker("db", rules: rules)])
        h.bringUp()
        let facts = DeathFacts(termination: .exited(code: 1), stderrTail: ["sqlite: database disk image is malformed"])
        let death = h.died("db:0", facts, .seconds(1))
        #expect(steps(death) == [.record("db:0", .corruption), .emit(.quarantined, "db:0")])
        #expect(records(death).first?.classification.rule == "rules[0]")
        #expect(records(death).first?.action == "quarantined: not restarted until `bulkhead reset db:0`")
    }

    @Test("a dependent in backoff when its dependency is quarantined waits after its backoff")
    func dependentInBackoffWaits() {
        var h = Harness(Self.chain)
        h.bringUp()
        _ = h.died("api:0", .exit(1), .seconds(1))
        #expect(h.state("api:0") == .backoff)
        _ = h.died("db:0", .exit(86), .seconds(1))
        #expect(steps(h.tick(.seconds(2))) == [.emit(.restart, "api:0")])
        #expect(h.state("api:0") == .waiting)
    }

    // MARK: - Reset

    @Test("reset of a running instance clears counters and touches nothing")
    func resetRunning() {
        var h = Harness([worker("api")])
        h.bringUp()
        let reset = h.sup.reset([iid("api:0")], at(.seconds(1)))
        #expect(reset.actions.isEmpty)
        #expect(reset.lines == ["api:0: running; counters cleared"])
    }

    @Test("reset of a stopped instance starts it")
    func resetStopped() {
        var h = Harness([worker("api")])
        h.bringUp()
        _ = h.sup.stop([iid("api:0")], at(.seconds(1)))
        _ = h.died("api:0", .signal(Self.term), .seconds(1))
        let reset = h.sup.reset([iid("api:0")], at(.seconds(2)))
        #expect(reset.lines == ["api:0: was stopped; starting"])
        #expect(steps(reset.actions) == [.spawn("api:0")])
    }

    @Test("nextDeadline is the earliest of every instance's deadlines")
    func nextDeadline() {
        var h = Harness([worker("a", watchdog: .seconds(10)), worker("b", ready: .notify, startTimeout: .seconds(4)), worker("c")])
        #expect(h.sup.nextDeadline() == nil)
        h.bringUp()
        #expect(h.sup.nextDeadline() == at(.seconds(4)))
        _ = h.notify("b:0", .ready, .seconds(1))
        #expect(h.sup.nextDeadline() == at(.seconds(10)))
        _ = h.died("c:0", .exit(1), .seconds(2))
        #expect(h.sup.nextDeadline() == at(.milliseconds(2100)))
    }
}
