import Testing
@testable import BulkheadPolicy

@Suite("Reload")
struct ReloadTests {
    static let term = Signals.terminate

    static func config(_ workers: [WorkerSpec]) -> SupervisorConfig {
        SupervisorConfig(workers: workers)
    }

    @Test("nothing changed: only the reload event")
    func unchanged() {
        var h = Harness([worker("api")])
        h.bringUp()
        let (actions, summary) = h.sup.reload(Self.config([worker("api")]), at(.seconds(1)))
        #expect(steps(actions) == [.emit(.reload, nil)])
        #expect(summary.unchanged == ["api"])
        #expect(summary.description == "no worker changed")
        #expect(events(actions).first?.message == "configuration reloaded: no worker changed")
    }

    @Test("the summary names every kind of change")
    func summaryDescription() {
        var h = Harness([worker("a"), worker("b"), worker("c"), worker("d"), worker("e")])
        h.bringUp()
        let (_, summary) = h.sup.reload(Self.config([
            worker("b", command: ["/usr/bin/b2"]), worker("c", restart: .always), worker("d", instances: 2), worker("e"), worker("f"),
        ]), at(.seconds(1)))
        #expect(summary.added == ["f"])
        #expect(summary.removed == ["a"])
        #expect(summary.restarted == ["b"])
        #expect(summary.updated == ["c"])
        #expect(summary.scaled == ["d 1→2"])
        #expect(summary.unchanged == ["e"])
        #expect(summary.description == "added f; removed a; restarted b; updated in place c; rescaled d 1→2")
    }

    @Test("add: the new worker starts")
    func add() {
        var h = Harness([worker("api")])
        h.bringUp()
        let (actions, summary) = h.sup.reload(Self.config([worker("api"), worker("job", instances: 2)]), at(.seconds(1)))
        #expect(steps(actions) == [.emit(.reload, nil), .spawn("job:0"), .spawn("job:1")])
        #expect(summary.added == ["job"])
        #expect(summary.unchanged == ["api"])
        #expect(summary.description == "added job")
        #expect(h.sup.instanceIDs == [iid("api:0"), iid("job:0"), iid("job:1")])
    }

    @Test("add a worker that depends on a running one: it starts; on a new one: it waits")
    func addWithDependencies() {
        var h = Harness([worker("db")])
        h.bringUp()
        let (actions, _) = h.sup.reload(Self.config([
            worker("db"), worker("api", dependsOn: ["db"]), worker("web", dependsOn: ["cache"]), worker("cache"),
        ]), at(.seconds(1)))
        #expect(spawnedIDs(actions) == ["api:0", "cache:0"])
        #expect(spawnedIDs(h.spawned("cache:0", .seconds(1))) == ["web:0"])
    }

    @Test("remove: stopped, then forgotten")
    func remove() {
        var h = Harness([worker("api"), worker("job")])
        h.bringUp()
        let jobPid = h.pid("job:0")
        let (actions, summary) = h.sup.reload(Self.config([worker("api")]), at(.seconds(1)))
        #expect(steps(actions) == [.emit(.reload, nil), .signal("job:0", pid: jobPid, signal: Self.term, scope: .group), .emit(.stop, "job:0")])
        #expect(summary.removed == ["job"])
        #expect(h.state("job:0") == .stopping)
        let death = h.died("job:0", .signal(Self.term), .seconds(2))
        #expect(steps(death) == [.record("job:0", .clean), .forget("job:0")])
        #expect(records(death).first?.classification.rule == "default: stopped by bulkhead (removal)")
        #expect(h.sup.snapshot(of: iid("job:0")) == nil)
        #expect(h.sup.instanceIDs == [iid("api:0")])
        #expect(h.sup.spec(for: iid("job:0")) == nil)
        #expect(throws: Supervision.NameError.unknownWorker("job")) { try h.sup.resolve(["job"]) }
    }

    @Test("remove a worker at rest: forgotten at once")
    func removeAtRest() {
        var h = Harness([worker("api"), worker("job")])
        h.bringUp()
        _ = h.died("job:0", .exit(1), .seconds(1))
        #expect(h.state("job:0") == .backoff)
        let (actions, _) = h.sup.reload(Self.config([worker("api")]), at(.seconds(1)))
        #expect(steps(actions) == [.forget("job:0"), .emit(.reload, nil)])
        #expect(h.tick(.seconds(2)).isEmpty)
    }

    @Test("a removed worker that crashes on the way out is recorded and still forgotten, never restarted")
    func removeCrash() {
        var h = Harness([worker("api"), worker("job")])
        h.bringUp()
        _ = h.sup.reload(Self.config([worker("api")]), at(.seconds(1)))
        #expect(steps(h.died("job:0", .signal(11), .seconds(2))) == [.record("job:0", .crash), .forget("job:0")])
    }

    @Test("remove a dependency and its dependent together: the dependent stops first")
    func removeInReverseOrder() {
        var h = Harness([worker("db"), worker("api", dependsOn: ["db"]), worker("other")])
        h.bringUp()
        let (actions, _) = h.sup.reload(Self.config([worker("other")]), at(.seconds(1)))
        #expect(processSteps(actions) == [.signal("api:0", pid: h.pid("api:0"), signal: Self.term, scope: .group)])
        #expect(processSteps(h.died("api:0", .signal(Self.term), .seconds(2))) == [
            .forget("api:0"), .signal("db:0", pid: h.pid("db:0"), signal: Self.term, scope: .group),
        ])
        #expect(processSteps(h.died("db:0", .signal(Self.term), .seconds(3))) == [.forget("db:0")])
    }

    @Test("change the command: the instance restarts (stop, then spawn)")
    func changeCommand() {
        var h = Harness([worker("api", instances: 2)])
        h.bringUp()
        let (actions, summary) = h.sup.reload(Self.config([worker("api", instances: 2, command: ["/usr/bin/api", "--v2"])]), at(.seconds(1)))
        #expect(steps(actions) == [
            .emit(.reload, nil),
            .signal("api:0", pid: h.pid("api:0"), signal: Self.term, scope: .group), .emit(.stop, "api:0"),
            .signal("api:1", pid: h.pid("api:1"), signal: Self.term, scope: .group), .emit(.stop, "api:1"),
        ])
        #expect(summary.restarted == ["api"])
        #expect(summary.description == "restarted api")
        let death = h.died("api:0", .signal(Self.term), .seconds(2))
        #expect(steps(death) == [.record("api:0", .clean), .spawn("api:0")])
        #expect(records(death).first?.action == "start again (reload)")
        #expect(h.sup.spec(for: iid("api:0"))?.command == ["/usr/bin/api", "--v2"])
    }

    @Test("change the environment, limits or ready mode: also a restart", arguments: [
        { (s: inout WorkerSpec) in s.env = [EnvironmentEntry("MODE", "fast")] },
        { (s: inout WorkerSpec) in s.limits.memory = 1 << 30 },
        { (s: inout WorkerSpec) in s.ready = .notify },
        { (s: inout WorkerSpec) in s.cwd = "/srv" },
    ] as [@Sendable (inout WorkerSpec) -> Void])
    func identityChanges(change: @Sendable (inout WorkerSpec) -> Void) {
        var h = Harness([worker("api")])
        h.bringUp()
        var spec = worker("api")
        change(&spec)
        let (actions, summary) = h.sup.reload(Self.config([spec]), at(.seconds(1)))
        #expect(summary.restarted == ["api"])
        #expect(processSteps(actions) == [.signal("api:0", pid: h.pid("api:0"), signal: Self.term, scope: .group)])
    }

    @Test("change only policy: no action touches the process (same pid, no signal), new policy applies")
    func changePolicyOnly() {
        var h = Harness([worker("api")])
        h.bringUp()
        let pid = h.pid("api:0")
        var spec = worker("api", restart: .never)
        spec.backoff.initial = .seconds(7)
        spec.crashLoop.maxRestarts = 1
        spec.stop.timeout = .seconds(3)
        spec.rules = [ClassificationRule(exitCodes: [3], result: .persistent, label: "rules[0]")]
        spec.strategy = .restForOne
        spec.startTimeout = .seconds(5)
        let (actions, summary) = h.sup.reload(Self.config([spec]), at(.seconds(1)))
        #expect(steps(actions) == [.emit(.reload, nil)])
        #expect(summary.updated == ["api"])
        #expect(summary.description == "updated in place api")
        #expect(h.sup.snapshot(of: iid("api:0"))?.pid == pid)
        #expect(h.state("api:0") == .running)
        // The new rules apply to the running process.
        let death = h.died("api:0", .exit(3), .seconds(2))
        #expect(records(death).first?.classification == Classification(.persistent, rule: "rules[0]"))
    }

    @Test("change only policy: the new backoff applies to the next restart")
    func policyBackoff() {
        var h = Harness([worker("api")])
        h.bringUp()
        var spec = worker("api")
        spec.backoff.initial = .seconds(7)
        _ = h.sup.reload(Self.config([spec]), at(.seconds(1)))
        _ = h.died("api:0", .exit(1), .seconds(2))
        #expect(h.sup.snapshot(of: iid("api:0"))?.nextAttemptAt == at(.seconds(9)))
    }

    @Test("scale up: new instances start, the others are untouched")
    func scaleUp() {
        var h = Harness([worker("api"), worker("job")])
        h.bringUp()
        let (actions, summary) = h.sup.reload(Self.config([worker("api", instances: 3), worker("job")]), at(.seconds(1)))
        #expect(steps(actions) == [.emit(.reload, nil), .spawn("api:1"), .spawn("api:2")])
        #expect(summary.scaled == ["api 1→3"])
        #expect(summary.description == "rescaled api 1→3")
        #expect(h.sup.instanceIDs.map(\.description) == ["api:0", "api:1", "api:2", "job:0"])
    }

    @Test("scale down: the extra instances stop and are forgotten")
    func scaleDown() {
        var h = Harness([worker("api", instances: 3)])
        h.bringUp()
        let (actions, summary) = h.sup.reload(Self.config([worker("api", instances: 1)]), at(.seconds(1)))
        #expect(processSteps(actions) == [
            .signal("api:1", pid: h.pid("api:1"), signal: Self.term, scope: .group),
            .signal("api:2", pid: h.pid("api:2"), signal: Self.term, scope: .group),
        ])
        #expect(summary.scaled == ["api 3→1"])
        #expect(processSteps(h.died("api:1", .signal(Self.term), .seconds(2))) == [.forget("api:1")])
        #expect(processSteps(h.died("api:2", .signal(Self.term), .seconds(2))) == [.forget("api:2")])
        #expect(h.sup.instanceIDs == [iid("api:0")])
        #expect(h.state("api:0") == .running)
    }

    @Test("scale down a dependency: the dependent keeps depending on the instances that remain")
    func scaleDownDependency() {
        var h = Harness([worker("db", instances: 2), worker("api", dependsOn: ["db"])])
        h.bringUp()
        _ = h.sup.reload(Self.config([worker("db", instances: 1), worker("api", dependsOn: ["db"])]), at(.seconds(1)))
        _ = h.died("db:1", .signal(Self.term), .seconds(1))
        // db:0 restarts: api waits for db:0 only.
        _ = h.died("db:0", .exit(1), .seconds(2))
        _ = h.died("api:0", .exit(1), .seconds(2))
        _ = h.tick(.milliseconds(2100))
        #expect(h.state("api:0") == .waiting)
        #expect(spawnedIDs(h.spawned("db:0", .milliseconds(2100))) == ["api:0"])
    }

    @Test("a failed worker whose command changed is tried again")
    func failedRetried() {
        var h = Harness([worker("api")])
        h.bringUp()
        _ = h.died("api:0", .exit(78), .seconds(1))
        #expect(h.state("api:0") == .failed)
        let (actions, summary) = h.sup.reload(Self.config([worker("api", command: ["/usr/bin/api", "--fixed"])]), at(.seconds(2)))
        #expect(steps(actions) == [.emit(.reload, nil), .spawn("api:0")])
        #expect(summary.restarted == ["api"])
    }

    @Test("a failed worker whose policy alone changed stays failed")
    func failedPolicyOnly() {
        var h = Harness([worker("api")])
        h.bringUp()
        _ = h.died("api:0", .exit(78), .seconds(1))
        let (actions, _) = h.sup.reload(Self.config([worker("api", restart: .always)]), at(.seconds(2)))
        #expect(steps(actions) == [.emit(.reload, nil)])
        #expect(h.state("api:0") == .failed)
    }

    @Test("a stopped worker whose command changed stays stopped")
    func stoppedStaysStopped() {
        var h = Harness([worker("api")])
        h.bringUp()
        _ = h.sup.stop([iid("api:0")], at(.seconds(1)))
        _ = h.died("api:0", .signal(Self.term), .seconds(1))
        let (actions, _) = h.sup.reload(Self.config([worker("api", command: ["/usr/bin/api2"])]), at(.seconds(2)))
        #expect(steps(actions) == [.emit(.reload, nil)])
        #expect(h.state("api:0") == .stopped)
    }

    @Test("a worker in backoff whose command changed just uses it at the next spawn")
    func backoffTakesNewCommand() {
        var h = Harness([worker("api")])
        h.bringUp()
        _ = h.died("api:0", .exit(1), .seconds(1))
        let (actions, _) = h.sup.reload(Self.config([worker("api", command: ["/usr/bin/api2"])]), at(.seconds(1)))
        #expect(steps(actions) == [.emit(.reload, nil)])
        #expect(spawnedIDs(h.tick(.milliseconds(1100))) == ["api:0"])
        #expect(h.sup.spec(for: iid("api:0"))?.command == ["/usr/bin/api2"])
    }

    @Test("a worker removed and added back before its old instances stopped is kept")
    func removedThenReadded() {
        var h = Harness([worker("api"), worker("job")])
        h.bringUp()
        _ = h.sup.reload(Self.config([worker("api")]), at(.seconds(1)))
        #expect(h.state("job:0") == .stopping)
        _ = h.sup.reload(Self.config([worker("api"), worker("job")]), at(.seconds(2)))
        let death = h.died("job:0", .signal(Self.term), .seconds(3))
        #expect(steps(death) == [.record("job:0", .clean), .spawn("job:0")])
        #expect(h.sup.instanceIDs.map(\.description) == ["api:0", "job:0"])
    }

    @Test("removed while its stop waited for a dependent, then added back with a new command: it restarts")
    func removedPendingThenReadded() {
        var h = Harness([worker("db"), worker("api", dependsOn: ["db"])])
        h.bringUp()
        let dbPid = h.pid("db:0")
        _ = h.sup.reload(Self.config([]), at(.seconds(1)))
        #expect(h.state("db:0") == .running, "db waits for api to stop first")
        let (actions, _) = h.sup.reload(Self.config([worker("db", command: ["/usr/bin/db2"])]), at(.seconds(2)))
        #expect(processSteps(actions) == [.signal("db:0", pid: dbPid, signal: Self.term, scope: .group)])
        #expect(steps(h.died("api:0", .signal(Self.term), .seconds(3))) == [.record("api:0", .clean), .forget("api:0")])
        #expect(steps(h.died("db:0", .signal(Self.term), .seconds(3))) == [.record("db:0", .clean), .spawn("db:0")])
        #expect(h.sup.spec(for: iid("db:0"))?.command == ["/usr/bin/db2"])
    }

    @Test("scaled down and back up before the extra instance stopped: it is kept")
    func scaledDownThenUp() {
        var h = Harness([worker("db", instances: 2), worker("api", dependsOn: ["db"])])
        h.bringUp()
        _ = h.sup.reload(Self.config([worker("db", instances: 1), worker("api", dependsOn: ["db"])]), at(.seconds(1)))
        _ = h.sup.reload(Self.config([worker("db", instances: 2), worker("api", dependsOn: ["db"])]), at(.seconds(2)))
        #expect(steps(h.died("db:1", .signal(Self.term), .seconds(3))) == [.record("db:1", .clean), .spawn("db:1")])
        h.spawned("db:1", .seconds(3))
        #expect(h.sup.instanceIDs.map(\.description) == ["db:0", "db:1", "api:0"])
        // api still starts after a restart: both db instances exist and are running.
        _ = h.died("api:0", .exit(1), .seconds(4))
        #expect(spawnedIDs(h.tick(.seconds(5))) == ["api:0"])
    }

    @Test("reload during shutdown starts nothing")
    func reloadDuringShutdown() {
        var h = Harness([worker("api")])
        h.bringUp()
        _ = h.sup.shutdown(at(.seconds(1)))
        let (actions, _) = h.sup.reload(Self.config([worker("api"), worker("job")]), at(.seconds(2)))
        #expect(spawnedIDs(actions).isEmpty)
        #expect(h.state("job:0") == .stopped)
    }
}
