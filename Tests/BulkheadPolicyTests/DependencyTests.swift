import Testing
@testable import BulkheadPolicy

@Suite("Dependencies and restart strategies")
struct DependencyTests {
    static let term = Signals.terminate

    // MARK: - The graph

    @Test("start order: dependencies first, ties in config order")
    func startOrder() {
        let g = DependencyGraph([("web", ["api"]), ("api", ["db", "cache"]), ("cache", []), ("db", []), ("cron", [])])
        #expect(g.startOrder() == ["db", "cache", "api", "web", "cron"])
        #expect(DependencyGraph([("a", []), ("b", [])]).startOrder() == ["a", "b"])
    }

    @Test("cycle detection returns the path, or nil")
    func cycles() {
        #expect(DependencyGraph([("a", ["b"]), ("b", ["c"]), ("c", [])]).cycle() == nil)
        #expect(DependencyGraph([("a", ["b"]), ("b", ["c"]), ("c", ["a"])]).cycle() == ["a", "b", "c", "a"])
        #expect(DependencyGraph([("x", []), ("a", ["a"])]).cycle() == ["a", "a"])
        #expect(DependencyGraph([("a", ["b"]), ("b", ["a"]), ("c", ["a"])]).cycle() == ["a", "b", "a"])
        // An unknown dependency is the config layer's error, not a cycle.
        #expect(DependencyGraph([("a", ["ghost"])]).cycle() == nil)
    }

    @Test("transitive dependents")
    func transitiveDependents() {
        let g = DependencyGraph([("db", []), ("api", ["db"]), ("web", ["api"]), ("cron", ["db"]), ("other", [])])
        #expect(g.transitiveDependents(of: "db") == ["api", "web", "cron"])
        #expect(g.transitiveDependents(of: "api") == ["web"])
        #expect(g.transitiveDependents(of: "web").isEmpty)
        #expect(g.transitiveDependents(of: "other").isEmpty)
    }

    @Test("restart groups follow each worker's strategy")
    func restartGroups() {
        let g = DependencyGraph([("db", []), ("api", ["db"]), ("web", ["api"]), ("cron", ["db"])])
        func group(_ origin: String, _ s: [String: RestartStrategy]) -> Set<String> {
            g.restartGroup(of: origin, strategies: s)
        }
        #expect(group("db", [:]).isEmpty, "one_for_one everywhere: nobody else")
        #expect(group("db", ["api": .restForOne]) == ["api"])
        #expect(group("db", ["api": .restForOne, "web": .restForOne]) == ["api", "web"])
        #expect(group("db", ["api": .oneForOne, "web": .restForOne]).isEmpty, "the chain stops at a one_for_one link")
        #expect(group("api", ["api": .oneForAll]) == ["db"])
        #expect(group("api", ["api": .oneForAll, "cron": .restForOne]) == ["db", "cron"])
        #expect(group("db", ["api": .oneForAll]) == ["api"])
        #expect(group("web", ["api": .restForOne]).isEmpty)
    }

    // MARK: - Start order through Supervision

    @Test("a dependent is spawned only after every instance of its dependency is running")
    func startAfterAllInstances() {
        // Config order puts the dependent first: order comes from depends_on, not from the file.
        var h = Harness([worker("api", dependsOn: ["cache"]), worker("cache", instances: 2, ready: .notify)])
        #expect(steps(h.startAll()) == [.spawn("cache:0"), .spawn("cache:1")])
        #expect(h.state("api:0") == .waiting)
        #expect(steps(h.spawned("cache:0", .zero)) == [.emit(.spawn, "cache:0")])
        #expect(steps(h.spawned("cache:1", .zero)) == [.emit(.spawn, "cache:1")])
        #expect(steps(h.notify("cache:0", .ready, .seconds(1))) == [.emit(.ready, "cache:0")])
        #expect(h.state("api:0") == .waiting)
        #expect(steps(h.notify("cache:1", .ready, .seconds(2))) == [.emit(.ready, "cache:1"), .spawn("api:0")])
    }

    @Test("a chain starts one link at a time")
    func chainStart() {
        var h = Harness([worker("web", dependsOn: ["api"]), worker("api", dependsOn: ["db"]), worker("db")])
        #expect(steps(h.startAll()) == [.spawn("db:0")])
        #expect(spawnedIDs(h.spawned("db:0", .zero)) == ["api:0"])
        #expect(spawnedIDs(h.spawned("api:0", .zero)) == ["web:0"])
        #expect(spawnedIDs(h.spawned("web:0", .zero)).isEmpty)
    }

    @Test("a dependency that crashes before it is ready holds its dependents back")
    func dependencyNeverReady() {
        var h = Harness([worker("db", ready: .notify), worker("api", dependsOn: ["db"])])
        _ = h.startAll()
        h.spawned("db:0", .zero)
        _ = h.died("db:0", .exit(1), .seconds(1))
        #expect(h.state("api:0") == .waiting)
        #expect(spawnedIDs(h.tick(.milliseconds(1100))) == ["db:0"])
        #expect(h.state("api:0") == .waiting)
    }

    @Test("a dependency with a stop pending is not ready: its dependents are not started against it")
    func pendingStopIsNotReady() {
        // The dependent comes first in the file, so it is looked at first in every pass.
        var h = Harness([worker("api", dependsOn: ["db"]), worker("db")])
        #expect(steps(h.startAll()) == [.spawn("db:0")])
        _ = h.sup.stop([iid("db:0")], at(.zero))
        let spawned = h.spawned("db:0", .milliseconds(1))
        #expect(processSteps(spawned) == [.signal("db:0", pid: h.pid("db:0"), signal: Self.term, scope: .group)])
        #expect(h.state("api:0") == .waiting)
    }

    @Test("a dependency being restarted by the operator holds a waiting dependent until it is back")
    func restartingDependencyNotReady() {
        var h = Harness([worker("api", dependsOn: ["db"]), worker("db")])
        h.bringUp()
        _ = h.died("api:0", .exit(1), .seconds(1))
        _ = h.sup.restart([iid("db:0")], at(.seconds(1)))
        #expect(processSteps(h.tick(.seconds(2))).isEmpty, "api's backoff is over, but db is on its way down")
        #expect(h.state("api:0") == .waiting)
        _ = h.died("db:0", .signal(Self.term), .seconds(2))
        #expect(spawnedIDs(h.spawned("db:0", .seconds(2))) == ["api:0"])
    }

    // MARK: - Stop order

    static let chain = [worker("db"), worker("api", dependsOn: ["db"]), worker("web", dependsOn: ["api"])]

    @Test("stop all: dependents get the stop signal first; a dependency only after they exited")
    func stopAllReverseOrder() {
        var h = Harness(Self.chain)
        h.bringUp()
        let stop = h.sup.stop(try! h.sup.resolve(["all"]), at(.seconds(1)))
        #expect(stop.lines == ["db:0: stopping", "api:0: stopping", "web:0: stopping"])
        #expect(steps(stop.actions) == [.signal("web:0", pid: h.pid("web:0"), signal: Self.term, scope: .group), .emit(.stop, "web:0")])
        #expect(h.states() == ["db:0": .running, "api:0": .running, "web:0": .stopping])
        #expect(steps(h.died("web:0", .signal(Self.term), .seconds(2))) == [
            .record("web:0", .clean), .signal("api:0", pid: h.pid("api:0"), signal: Self.term, scope: .group), .emit(.stop, "api:0"),
        ])
        #expect(steps(h.died("api:0", .signal(Self.term), .seconds(3))) == [
            .record("api:0", .clean), .signal("db:0", pid: h.pid("db:0"), signal: Self.term, scope: .group), .emit(.stop, "db:0"),
        ])
        #expect(steps(h.died("db:0", .signal(Self.term), .seconds(4))) == [.record("db:0", .clean)])
        #expect(h.states().values.allSatisfy { $0 == .stopped })
        #expect(h.sup.isQuiescent)
    }

    @Test("shutdown: reverse order, instances at rest settle at once, nothing restarts")
    func shutdown() {
        var h = Harness(Self.chain + [worker("cron")])
        h.bringUp()
        _ = h.died("cron:0", .exit(1), .seconds(1))
        #expect(h.state("cron:0") == .backoff)
        let down = h.sup.shutdown(at(.seconds(2)))
        #expect(steps(down) == [.signal("web:0", pid: h.pid("web:0"), signal: Self.term, scope: .group), .emit(.stop, "web:0")])
        #expect(h.state("cron:0") == .stopped)
        #expect(h.sup.shuttingDown)
        #expect(h.tick(.seconds(3)).isEmpty, "the backoff does not fire during shutdown")
        // SIGKILL after the timeout still comes.
        #expect(processSteps(h.tick(.seconds(12))) == [.signal("web:0", pid: h.pid("web:0"), signal: Signals.kill, scope: .group)])
        // A crash on the way down is recorded but not restarted.
        #expect(steps(h.died("web:0", .signal(11), .seconds(12))) == [
            .record("web:0", .crash), .signal("api:0", pid: h.pid("api:0"), signal: Self.term, scope: .group), .emit(.stop, "api:0"),
        ])
        #expect(processSteps(h.died("api:0", .exit(0), .seconds(13))) == [.signal("db:0", pid: h.pid("db:0"), signal: Self.term, scope: .group)])
        #expect(!h.sup.isQuiescent)
        #expect(processSteps(h.died("db:0", .exit(1), .seconds(14))).isEmpty)
        #expect(h.sup.isQuiescent)
        #expect(h.states().values.allSatisfy { $0 == .stopped })
        #expect(h.sup.start([iid("db:0")], at(.seconds(15))).actions.isEmpty, "nothing starts during shutdown")
    }

    @Test("shutdown waits for a dependent that is still spawning")
    func shutdownWaitsForSpawning() {
        var h = Harness([worker("db"), worker("api", dependsOn: ["db"])])
        _ = h.startAll()
        _ = h.spawned("db:0", .zero)   // asks for api:0's spawn
        #expect(h.state("api:0") == .starting)
        #expect(h.sup.shutdown(at(.seconds(1))).isEmpty)
        #expect(processSteps(h.spawned("api:0", .seconds(1))) == [.signal("api:0", pid: h.pid("api:0"), signal: Self.term, scope: .group)])
        #expect(processSteps(h.died("api:0", .signal(Self.term), .seconds(2))) == [.signal("db:0", pid: h.pid("db:0"), signal: Self.term, scope: .group)])
    }

    // MARK: - Strategies

    static func pair(_ strategy: RestartStrategy) -> [WorkerSpec] {
        [worker("db"), worker("api", dependsOn: ["db"], strategy: strategy)]
    }

    @Test("one_for_one: a dependency's crash does not touch the dependent")
    func oneForOne() {
        var h = Harness(Self.pair(.oneForOne))
        h.bringUp()
        let apiPid = h.pid("api:0")
        #expect(steps(h.died("db:0", .signal(11), .seconds(1))) == [.record("db:0", .crash), .emit(.backoff, "db:0")])
        #expect(h.state("api:0") == .running)
        #expect(steps(h.tick(.milliseconds(1100))) == [.emit(.restart, "db:0"), .spawn("db:0")])
        #expect(steps(h.spawned("db:0", .milliseconds(1100))) == [.emit(.spawn, "db:0"), .emit(.ready, "db:0")])
        #expect(h.sup.snapshot(of: iid("api:0"))?.pid == apiPid)
        // And the dependent's own death does not touch the dependency.
        #expect(processSteps(h.died("api:0", .exit(1), .seconds(2))).isEmpty)
        #expect(h.state("db:0") == .running)
    }

    @Test("rest_for_one: the dependent is stopped and restarts after the dependency is ready again")
    func restForOne() {
        var h = Harness(Self.pair(.restForOne))
        h.bringUp()
        let apiPid = h.pid("api:0")
        #expect(steps(h.died("db:0", .signal(11), .seconds(1))) == [
            .record("db:0", .crash), .emit(.backoff, "db:0"),
            .signal("api:0", pid: apiPid, signal: Self.term, scope: .group), .emit(.stop, "api:0"),
        ])
        let apiDeath = h.died("api:0", .signal(Self.term), .seconds(1))
        #expect(steps(apiDeath) == [.record("api:0", .clean)])
        #expect(records(apiDeath).first?.action == "start again (dependency)")
        #expect(h.state("api:0") == .waiting)
        #expect(steps(h.tick(.milliseconds(1100))) == [.emit(.restart, "db:0"), .spawn("db:0")])
        #expect(steps(h.spawned("db:0", .milliseconds(1100))) == [.emit(.spawn, "db:0"), .emit(.ready, "db:0"), .spawn("api:0")])
        h.spawned("api:0", .milliseconds(1100))
        #expect(h.state("api:0") == .running)
        #expect(h.pid("api:0") != apiPid)
        // The dependent's own death does not touch the dependency.
        #expect(processSteps(h.died("api:0", .exit(1), .seconds(2))).isEmpty)
        #expect(h.state("db:0") == .running)
    }

    @Test("rest_for_one: the dependent's stop signal comes even when it ignores it (SIGKILL after the timeout)")
    func restForOneKill() {
        var h = Harness(Self.pair(.restForOne))
        h.bringUp()
        _ = h.died("db:0", .exit(1), .seconds(1))
        #expect(spawnedIDs(h.tick(.milliseconds(1100))) == ["db:0"], "the dependency restarts while the dependent is still going down")
        h.spawned("db:0", .milliseconds(1100))
        #expect(h.state("api:0") == .stopping)
        #expect(processSteps(h.tick(.seconds(11))) == [.signal("api:0", pid: h.pid("api:0"), signal: Signals.kill, scope: .group)])
        _ = h.died("api:0", .signal(Signals.kill), .seconds(11))
        #expect(h.state("api:0") == .starting, "and it comes back at once: its dependency is already up")
    }

    @Test("one_for_all: a death of the worker restarts its dependencies too")
    func oneForAll() {
        var h = Harness(Self.pair(.oneForAll))
        h.bringUp()
        let dbPid = h.pid("db:0")
        #expect(steps(h.died("api:0", .exit(1), .seconds(1))) == [
            .record("api:0", .transient), .emit(.backoff, "api:0"),
            .signal("db:0", pid: dbPid, signal: Self.term, scope: .group), .emit(.stop, "db:0"),
        ])
        // The dependency goes straight back up; the worker waits out its backoff.
        #expect(steps(h.died("db:0", .signal(Self.term), .seconds(1))) == [.record("db:0", .clean), .spawn("db:0")])
        #expect(steps(h.spawned("db:0", .seconds(1))) == [.emit(.spawn, "db:0"), .emit(.ready, "db:0")])
        #expect(steps(h.tick(.milliseconds(1100))) == [.emit(.restart, "api:0"), .spawn("api:0")])
    }

    @Test("one_for_all: a death of the dependency restarts the worker too")
    func oneForAllFromDependency() {
        var h = Harness(Self.pair(.oneForAll))
        h.bringUp()
        #expect(processSteps(h.died("db:0", .exit(1), .seconds(1))) == [.signal("api:0", pid: h.pid("api:0"), signal: Self.term, scope: .group)])
    }

    @Test("one_for_all: a dependency still coming up when the worker dies is stopped too")
    func oneForAllDependencyStarting() {
        var h = Harness([worker("db", ready: .notify), worker("api", dependsOn: ["db"], strategy: .oneForAll)])
        _ = h.startAll()
        h.spawned("db:0", .zero)
        _ = h.notify("db:0", .ready, .zero)
        h.spawned("api:0", .zero)
        _ = h.died("api:0", .exit(1), .seconds(1))
        _ = h.died("db:0", .signal(Self.term), .seconds(1))
        h.spawned("db:0", .seconds(1))
        #expect(h.state("db:0") == .starting)
        #expect(steps(h.tick(.milliseconds(1100))) == [.emit(.restart, "api:0")])
        #expect(h.state("api:0") == .waiting, "api waits for db's READY=1 again")
        #expect(steps(h.notify("db:0", .ready, .seconds(2))) == [.emit(.ready, "db:0"), .spawn("api:0")])
    }

    @Test("one_for_all with two instances: one dies, the dependency restarts, and the other instance restarts after it")
    func oneForAllSiblings() {
        var h = Harness([worker("db"), worker("api", instances: 2, dependsOn: ["db"], strategy: .oneForAll)])
        h.bringUp()
        #expect(processSteps(h.died("api:0", .exit(1), .seconds(1))) == [
            .signal("db:0", pid: h.pid("db:0"), signal: Self.term, scope: .group),
            .signal("api:1", pid: h.pid("api:1"), signal: Self.term, scope: .group),
        ])
        _ = h.died("api:1", .signal(Self.term), .seconds(1))
        #expect(h.state("api:1") == .waiting)
        _ = h.died("db:0", .signal(Self.term), .seconds(1))
        #expect(spawnedIDs(h.spawned("db:0", .seconds(1))) == ["api:1"])
        #expect(spawnedIDs(h.tick(.milliseconds(1100))) == ["api:0"])
    }

    @Test("one_for_one siblings are not touched when a one_for_all worker restarts a shared dependency")
    func oneForAllLeavesOneForOneAlone() {
        var h = Harness([
            worker("db"), worker("api", dependsOn: ["db"], strategy: .oneForAll),
            worker("cron", dependsOn: ["db"]), worker("cache", dependsOn: ["db"], strategy: .restForOne),
        ])
        h.bringUp()
        #expect(processSteps(h.died("api:0", .exit(1), .seconds(1))) == [
            .signal("db:0", pid: h.pid("db:0"), signal: Self.term, scope: .group),
            .signal("cache:0", pid: h.pid("cache:0"), signal: Self.term, scope: .group),
        ])
        #expect(h.state("cron:0") == .running)
    }

    @Test("a transitive rest_for_one chain: both dependents stop, and come back one link at a time")
    func transitiveChain() {
        var h = Harness([
            worker("a"), worker("b", dependsOn: ["a"], strategy: .restForOne), worker("c", dependsOn: ["b"], strategy: .restForOne),
        ])
        h.bringUp()
        #expect(steps(h.died("a:0", .exit(1), .seconds(1))) == [
            .record("a:0", .transient), .emit(.backoff, "a:0"),
            .signal("b:0", pid: h.pid("b:0"), signal: Self.term, scope: .group), .emit(.stop, "b:0"),
            .signal("c:0", pid: h.pid("c:0"), signal: Self.term, scope: .group), .emit(.stop, "c:0"),
        ])
        _ = h.died("c:0", .signal(Self.term), .seconds(1))
        _ = h.died("b:0", .signal(Self.term), .seconds(1))
        #expect(h.states() == ["a:0": .backoff, "b:0": .waiting, "c:0": .waiting])
        #expect(spawnedIDs(h.tick(.milliseconds(1100))) == ["a:0"])
        #expect(spawnedIDs(h.spawned("a:0", .milliseconds(1100))) == ["b:0"])
        #expect(spawnedIDs(h.spawned("b:0", .milliseconds(1100))) == ["c:0"])
        h.spawned("c:0", .milliseconds(1100))
        #expect(h.states().values.allSatisfy { $0 == .running })
    }

    @Test("a one_for_one link in the middle stops the cascade")
    func chainBrokenByOneForOne() {
        var h = Harness([
            worker("a"), worker("b", dependsOn: ["a"], strategy: .oneForOne), worker("c", dependsOn: ["b"], strategy: .restForOne),
        ])
        h.bringUp()
        #expect(processSteps(h.died("a:0", .exit(1), .seconds(1))).isEmpty)
        #expect(h.states() == ["a:0": .backoff, "b:0": .running, "c:0": .running])
    }

    @Test("operator restart of a dependency cascades to rest_for_one dependents")
    func restartCascades() {
        var h = Harness(Self.pair(.restForOne))
        h.bringUp()
        let restart = h.sup.restart([iid("db:0")], at(.seconds(1)))
        #expect(restart.lines == ["db:0: restarting"])
        #expect(processSteps(restart.actions) == [
            .signal("db:0", pid: h.pid("db:0"), signal: Self.term, scope: .group),
            .signal("api:0", pid: h.pid("api:0"), signal: Self.term, scope: .group),
        ])
        #expect(steps(h.died("api:0", .signal(Self.term), .seconds(1))) == [.record("api:0", .clean)])
        #expect(steps(h.died("db:0", .signal(Self.term), .seconds(1))) == [.record("db:0", .clean), .spawn("db:0")])
        #expect(spawnedIDs(h.spawned("db:0", .seconds(1))) == ["api:0"])
    }
}
