import Testing
@testable import BulkheadPolicy

@Suite("Operator commands")
struct CommandTests {
    static let term = Signals.terminate

    static func harness() -> Harness {
        Harness([worker("api", instances: 2), worker("job"), worker("db")])
    }

    // MARK: - Names

    @Test("resolve: `api`, `api:1`, `all`, in config order, without duplicates")
    func resolve() throws {
        let s = Self.harness().sup
        #expect(try s.resolve(["api"]) == [iid("api:0"), iid("api:1")])
        #expect(try s.resolve(["api:1"]) == [iid("api:1")])
        #expect(try s.resolve(["all"]) == [iid("api:0"), iid("api:1"), iid("job:0"), iid("db:0")])
        #expect(try s.resolve(["db", "api:1"]) == [iid("db:0"), iid("api:1")])
        #expect(try s.resolve(["api:1", "api", "all"]) == [iid("api:1"), iid("api:0"), iid("job:0"), iid("db:0")])
    }

    @Test("resolve: unknown names", arguments: [
        (["nope"], Supervision.NameError.unknownWorker("nope")),
        (["nope:0"], .unknownWorker("nope")),
        (["api:2"], .unknownInstance("api:2")),
        (["api", "ghost"], .unknownWorker("ghost")),
        (["api:-1"], .unknownWorker("api:-1")),
        (["API"], .unknownWorker("API")),
        ([], .empty),
    ])
    func resolveErrors(names: [String], error: Supervision.NameError) {
        #expect(throws: error) { try Self.harness().sup.resolve(names) }
    }

    @Test("instance ids parse and print")
    func instanceIDs() {
        #expect(InstanceID(parsing: "api:1") == InstanceID(worker: "api", index: 1))
        #expect(InstanceID(parsing: "my-worker_2:10")?.description == "my-worker_2:10")
        #expect(InstanceID(parsing: "api") == nil)
        #expect(InstanceID(parsing: "api:") == nil)
        #expect(InstanceID(parsing: "api:x") == nil)
        #expect(InstanceID(parsing: "api:-1") == nil)
        #expect(iid("api:2") < iid("api:10"), "index order, not text order")
        #expect(iid("api:9") < iid("job:0"))
    }

    // MARK: - start

    @Test("start: stopped → starting; running → already; failed → refused")
    func start() {
        var h = Self.harness()
        h.bringUp()
        _ = h.sup.stop([iid("api:0")], at(.seconds(1)))
        _ = h.died("api:0", .signal(Self.term), .seconds(1))
        _ = h.died("job:0", .exit(78), .seconds(1))
        let result = h.sup.start(try! h.sup.resolve(["api", "job"]), at(.seconds(2)))
        #expect(result.lines == [
            "api:0: starting",
            "api:1: already running",
            "job:0: is failed; clear it with `bulkhead reset job:0`",
        ])
        #expect(result.refused)
        #expect(steps(result.actions) == [.spawn("api:0")])
    }

    @Test("start during backoff starts at once")
    func startDuringBackoff() {
        var h = Self.harness()
        h.bringUp()
        _ = h.died("db:0", .exit(1), .seconds(1))
        let result = h.sup.start([iid("db:0")], at(.seconds(1)))
        #expect(result.lines == ["db:0: starting"])
        #expect(steps(result.actions) == [.spawn("db:0")])
        #expect(!result.refused)
    }

    @Test("start while stopping: starts again once stopped")
    func startWhileStopping() {
        var h = Self.harness()
        h.bringUp()
        _ = h.sup.stop([iid("db:0")], at(.seconds(1)))
        let result = h.sup.start([iid("db:0")], at(.seconds(1)))
        #expect(result.lines == ["db:0: stopping; starts again once stopped"])
        #expect(result.actions.isEmpty)
        #expect(steps(h.died("db:0", .signal(Self.term), .seconds(2))) == [.record("db:0", .clean), .spawn("db:0")])
    }

    @Test("start cancels a stop that has not begun yet")
    func startCancelsPendingStop() {
        var h = Harness([worker("db"), worker("api", dependsOn: ["db"])])
        h.bringUp()
        // stop all: db waits for api.
        _ = h.sup.stop(try! h.sup.resolve(["all"]), at(.seconds(1)))
        #expect(h.state("db:0") == .running)
        let result = h.sup.start([iid("db:0")], at(.seconds(1)))
        #expect(result.lines == ["db:0: already running"])
        #expect(processSteps(h.died("api:0", .signal(Self.term), .seconds(2))).isEmpty)
        #expect(h.state("db:0") == .running)
    }

    // MARK: - stop

    @Test("stop: lines for every state")
    func stopLines() {
        var h = Self.harness()
        h.bringUp()
        _ = h.died("job:0", .exit(1), .seconds(1))          // backoff
        _ = h.died("db:0", .exit(78), .seconds(1))          // failed
        let first = h.sup.stop(try! h.sup.resolve(["all"]), at(.seconds(2)))
        #expect(first.lines == ["api:0: stopping", "api:1: stopping", "job:0: stopped", "db:0: already failed"])
        #expect(!first.refused)
        #expect(processSteps(first.actions) == [
            .signal("api:0", pid: h.pid("api:0"), signal: Self.term, scope: .group),
            .signal("api:1", pid: h.pid("api:1"), signal: Self.term, scope: .group),
        ])
        let again = h.sup.stop(try! h.sup.resolve(["api", "job"]), at(.seconds(3)))
        #expect(again.lines == ["api:0: already stopping", "api:1: already stopping", "job:0: already stopped"])
        #expect(again.actions.isEmpty)
        #expect(h.tick(.seconds(5)).isEmpty, "job's backoff was cancelled")
    }

    // MARK: - restart

    @Test("restart: a running instance is stopped and spawned again")
    func restartRunning() {
        var h = Self.harness()
        h.bringUp()
        let pid = h.pid("job:0")
        let result = h.sup.restart([iid("job:0")], at(.seconds(1)))
        #expect(result.lines == ["job:0: restarting"])
        #expect(steps(result.actions) == [.signal("job:0", pid: pid, signal: Self.term, scope: .group), .emit(.stop, "job:0")])
        let death = h.died("job:0", .signal(Self.term), .seconds(2))
        #expect(steps(death) == [.record("job:0", .clean), .spawn("job:0")])
        #expect(records(death).first?.action == "start again (restart)")
        h.spawned("job:0", .seconds(2))
        #expect(h.pid("job:0") != pid)
        #expect(h.state("job:0") == .running)
    }

    @Test("restart: stopped or in backoff → starts at once; failed → refused")
    func restartOthers() {
        var h = Self.harness()
        h.bringUp()
        _ = h.died("job:0", .exit(1), .seconds(1))
        _ = h.died("db:0", .exit(78), .seconds(1))
        let result = h.sup.restart([iid("job:0"), iid("db:0")], at(.seconds(1)))
        #expect(result.lines == ["job:0: starting", "db:0: is failed; clear it with `bulkhead reset db:0`"])
        #expect(result.refused)
        #expect(steps(result.actions) == [.spawn("job:0")])
    }

    @Test("restart resets the backoff sequence")
    func restartResetsBackoff() {
        var h = Self.harness()
        h.bringUp()
        for s in 1...3 as ClosedRange<Int64> {
            _ = h.died("job:0", .exit(1), .seconds(s))
            _ = h.tick(.seconds(s) + .milliseconds(500))
            h.spawned("job:0", .seconds(s) + .milliseconds(500))
        }
        _ = h.sup.restart([iid("job:0")], at(.seconds(4)))
        _ = h.died("job:0", .signal(Self.term), .seconds(4))
        h.spawned("job:0", .seconds(4))
        _ = h.died("job:0", .exit(1), .seconds(5))
        #expect(h.sup.snapshot(of: iid("job:0"))?.nextAttemptAt == at(.milliseconds(5100)))
    }

    // MARK: - reset

    @Test("reset: lines and refused flag")
    func reset() {
        var h = Self.harness()
        h.bringUp()
        _ = h.died("db:0", .exit(86), .seconds(1))
        _ = h.died("job:0", .exit(78), .seconds(1))
        let result = h.sup.reset(try! h.sup.resolve(["db", "job", "api:0"]), at(.seconds(2)))
        #expect(result.lines == ["db:0: was quarantined; starting", "job:0: was failed; starting", "api:0: running; counters cleared"])
        #expect(!result.refused)
        #expect(steps(result.actions) == [.emit(.recovered, "db:0"), .spawn("job:0"), .spawn("db:0")])
    }

    // MARK: - Snapshots and summary

    @Test("snapshots: one per instance in config order, with restarts and last class")
    func snapshots() {
        var h = Self.harness()
        h.bringUp()
        _ = h.died("job:0", .signal(6), .seconds(1))
        let snaps = h.sup.snapshot()
        #expect(snaps.map(\.id.description) == ["api:0", "api:1", "job:0", "db:0"])
        let job = snaps[2]
        #expect(job.state == .backoff)
        #expect(job.restarts == 1)
        #expect(job.lastClass == .crash)
        #expect(job.pid == nil)
        #expect(job.nextAttemptAt == at(.milliseconds(1100)))
        #expect(job.wanted)
    }

    @Test("status summary line")
    func summary() {
        var h = Self.harness()
        #expect(StatusSummary.line(h.sup.snapshot()) == "0/4 running, 4 stopped")
        let start = h.startAll()
        #expect(StatusSummary.line(h.sup.snapshot()) == "0/4 running, 4 starting")
        h.spawnAll(start, .zero)
        #expect(StatusSummary.line(h.sup.snapshot()) == "4/4 running")
        _ = h.died("job:0", .exit(1), .seconds(1))
        #expect(StatusSummary.line(h.sup.snapshot()) == "3/4 running, 1 backoff")
        _ = h.died("db:0", .exit(86), .seconds(1))
        _ = h.sup.stop([iid("api:1")], at(.seconds(1)))
        #expect(StatusSummary.line(h.sup.snapshot()) == "1/4 running, 1 stopping, 1 backoff, 1 quarantined")
        #expect(StatusSummary.line([]) == "0/0 running")
    }

    @Test("status summary: every state in a fixed order")
    func summaryOrder() {
        func snap(_ state: InstanceState, _ n: Int) -> InstanceSnapshot {
            InstanceSnapshot(id: InstanceID(worker: "w", index: n), state: state, pid: nil, startedAt: nil, restarts: 0,
                             lastClass: nil, statusText: nil, nextAttemptAt: nil, wanted: true)
        }
        let all = InstanceState.allCases.enumerated().map { snap($1, $0) } + [snap(.running, 99), snap(.failed, 98)]
        #expect(StatusSummary.line(all) == "2/11 running, 1 starting, 1 waiting, 1 stopping, 1 backoff, 1 open, 2 failed, 1 quarantined, 1 stopped")
    }
}
