import Testing
@testable import BulkheadPolicy

/// Hooks (SPEC §11) as policy: the rate limit, the queue, the concurrency cap, timeouts, and a
/// run waiting for its crash report — fed events with a fake clock, no processes.
@Suite("Hook scheduling")
struct HookSchedulingTests {
    typealias Scheduler = HookScheduler<Int>

    static func hook(_ name: String = "page", rate: EventRate? = nil, concurrency: Int = 4, timeout: Duration = .seconds(10)) -> HookSpec {
        HookSpec(name: name, on: [.death], command: ["/bin/true"], timeout: timeout, rate: rate, concurrency: concurrency)
    }

    /// What a test asserts on: started payloads (with the suppressed count), kills, notes.
    enum Seen: Equatable {
        case start(payload: Int, suppressed: Int)
        case kill(run: Int)
        case rateReached
        case suppressed
        case summary(Int)
        case queueFull
    }

    static func seen(_ actions: [Scheduler.Action]) -> [Seen] {
        actions.map {
            switch $0 {
            case .start(let run): return .start(payload: run.payload, suppressed: run.suppressedBefore)
            case .kill(let id, _): return .kill(run: id)
            case .suppressed(_, let first): return first ? .rateReached : .suppressed
            case .suppressedSummary(_, let count): return .summary(count)
            case .queueFull: return .queueFull
            }
        }
    }

    static func started(_ actions: [Scheduler.Action]) -> [Scheduler.Run] {
        actions.compactMap { if case .start(let run) = $0 { return run } else { return nil } }
    }

    @Test("rate 10/1m: 1000 events in a minute run it 10 times; the rest are counted and passed to the next run")
    func rateLimitedStorm() {
        var s = Scheduler(hooks: [Self.hook(rate: EventRate(count: 10, per: .seconds(60)), concurrency: 64)], processCap: 64)
        var starts = 0
        var notes: [Seen] = []
        var suppressedCount = 0
        for i in 0..<1000 {
            let actions = s.offer(hook: 0, i, waitsFor: nil, at(.milliseconds(Int64(i) * 50)))
            for run in Self.started(actions) {
                starts += 1
                _ = s.finished(run.id, at(.milliseconds(Int64(i) * 50)))
            }
            notes += Self.seen(actions).filter { $0 != .suppressed && { if case .start = $0 { return false } else { return true } }($0) }
            suppressedCount += Self.seen(actions).filter { $0 == .suppressed || $0 == .rateReached }.count
        }
        #expect(starts == 10, "in 50 s of a storm, one window of 10")
        #expect(notes == [.rateReached], "the first suppression is told once, not 990 times")
        #expect(suppressedCount == 990, "every suppression is counted")
        // The window reopens 60 s after the first run: the count is told then, once.
        #expect(s.nextDeadline == at(.seconds(60)))
        #expect(Self.seen(s.tick(at(.seconds(60)))) == [.summary(990)])
        #expect(s.tick(at(.seconds(61))).isEmpty)
        // The next event runs, and is told how many it missed.
        #expect(Self.seen(s.offer(hook: 0, 5000, waitsFor: nil, at(.seconds(62)))) == [.start(payload: 5000, suppressed: 990)])
    }

    @Test("the window slides: a run is admitted as soon as the oldest of the last N leaves it")
    func slidingWindow() {
        var limit = HookRateLimit(EventRate(count: 2, per: .seconds(10)))
        #expect(limit.admit(at(.seconds(0))) == .run(suppressedBefore: 0))
        #expect(limit.admit(at(.seconds(5))) == .run(suppressedBefore: 0))
        #expect(limit.admit(at(.seconds(9))) == .suppressed(first: true))
        #expect(limit.admit(at(.seconds(9.5))) == .suppressed(first: false))
        #expect(limit.admit(at(.seconds(10))) == .run(suppressedBefore: 2))
        #expect(limit.admit(at(.seconds(14))) == .suppressed(first: true))
        #expect(limit.admit(at(.seconds(15))) == .run(suppressedBefore: 1))
    }

    @Test("concurrency: runs beyond the hook's cap wait in order; the daemon's cap holds across hooks")
    func concurrencyCaps() {
        var s = Scheduler(hooks: [Self.hook("a", concurrency: 2), Self.hook("b", concurrency: 2)], processCap: 3)
        var runs: [Scheduler.Run] = []
        for i in 0..<3 { runs += Self.started(s.offer(hook: 0, i, waitsFor: nil, at(.zero))) }
        #expect(runs.map(\.payload) == [0, 1], "hook a: 2 at once")
        runs += Self.started(s.offer(hook: 1, 10, waitsFor: nil, at(.zero)))
        runs += Self.started(s.offer(hook: 1, 11, waitsFor: nil, at(.zero)))
        #expect(runs.map(\.payload) == [0, 1, 10], "3 processes in all")
        #expect(s.runningCount == 3)
        let next = Self.started(s.finished(runs[0].id, at(.seconds(1))))
        #expect(next.map(\.payload) == [2], "hook a's queue first, in order")
        let after = Self.started(s.finished(runs[1].id, at(.seconds(2))))
        #expect(after.map(\.payload) == [11])
    }

    /// A reload makes a new scheduler while the old one's runs still go (the daemon keeps them
    /// by id until reaped): its ids must not start over.
    @Test("a scheduler made after another goes on from its run ids")
    func runIDsGoOnAcrossAReload() {
        var old = Scheduler(hooks: [Self.hook()], processCap: 8)
        let first = Self.started(old.offer(hook: 0, 1, waitsFor: nil, at(.zero)))[0]
        var new = Scheduler(hooks: [Self.hook("other")], processCap: 8, firstRunID: old.upcomingRunID)
        let next = Self.started(new.offer(hook: 0, 2, waitsFor: nil, at(.zero)))[0]
        #expect(next.id > first.id, "run \(next.id) after \(first.id)")
    }

    @Test("a run past its timeout is killed once; its slot frees only when it is reaped")
    func timeout() {
        var s = Scheduler(hooks: [Self.hook(concurrency: 1, timeout: .seconds(2))], processCap: 8)
        let run = Self.started(s.offer(hook: 0, 1, waitsFor: nil, at(.zero)))[0]
        #expect(Self.started(s.offer(hook: 0, 2, waitsFor: nil, at(.seconds(1)))).isEmpty)
        #expect(s.nextDeadline == at(.seconds(2)))
        #expect(Self.seen(s.tick(at(.seconds(2)))) == [.kill(run: run.id)])
        #expect(s.tick(at(.seconds(3))).isEmpty, "killed once")
        #expect(s.nextDeadline == nil)
        #expect(Self.seen(s.finished(run.id, at(.seconds(3)))) == [.start(payload: 2, suppressed: 0)])
    }

    @Test("a run waits at the head of its queue for its report, at most readyWait")
    func waitsForReport() {
        var s = Scheduler(hooks: [Self.hook()], processCap: 8)
        #expect(s.offer(hook: 0, 1, waitsFor: "crash-1", at(.zero)).isEmpty)
        #expect(s.offer(hook: 0, 2, waitsFor: nil, at(.zero)).isEmpty, "behind the one waiting: order is kept")
        s.updatePayloads(waitingFor: "crash-1") { $0 += 100 }
        #expect(Self.seen(s.ready("crash-1", at(.milliseconds(5)))) == [.start(payload: 101, suppressed: 0), .start(payload: 2, suppressed: 0)])
        #expect(s.offer(hook: 0, 3, waitsFor: "crash-lost", at(.seconds(1))).isEmpty)
        #expect(s.nextDeadline == at(.seconds(1)) + Scheduler.readyWait)
        #expect(Self.seen(s.tick(at(.seconds(1)) + Scheduler.readyWait)) == [.start(payload: 3, suppressed: 0)], "runs without its report")
    }

    @Test("a full queue drops the event and counts it for the next run")
    func queueFull() {
        var s = Scheduler(hooks: [Self.hook(concurrency: 1)], processCap: 8)
        let first = Self.started(s.offer(hook: 0, 0, waitsFor: nil, at(.zero)))[0]
        for i in 1...Scheduler.queueLimit { _ = s.offer(hook: 0, i, waitsFor: nil, at(.zero)) }
        #expect(Self.seen(s.offer(hook: 0, 999, waitsFor: nil, at(.zero))) == [.queueFull])
        #expect(s.queuedCount(hook: 0) == Scheduler.queueLimit)
        #expect(Self.seen(s.finished(first.id, at(.seconds(1)))) == [.start(payload: 1, suppressed: 0)])
    }

    @Test("a hook matches its events, its workers, and never a hook event")
    func matching() {
        let spec = HookSpec(name: "h", on: [.kind(.failed), .deathClass(.crash), .kind(.alert)], workers: ["api"], command: ["/bin/true"])
        #expect(spec.matches(.exit, deathClass: .crash, worker: "api"))
        #expect(!spec.matches(.exit, deathClass: .transient, worker: "api"))
        #expect(!spec.matches(.exit, deathClass: .crash, worker: "db"))
        #expect(spec.matches(.failed, deathClass: nil, worker: "api"))
        #expect(!spec.matches(.alert, deathClass: nil, worker: nil), "a worker filter leaves out events of no worker")
        let any = HookSpec(name: "h", on: [.death, .kind(.hook)], command: ["/bin/true"])
        #expect(any.matches(.exit, deathClass: .hang, worker: nil))
        #expect(!any.matches(.exit, deathClass: .clean, worker: nil), "death: any class but clean")
        #expect(!any.matches(.hook, deathClass: nil, worker: nil))
    }
}
