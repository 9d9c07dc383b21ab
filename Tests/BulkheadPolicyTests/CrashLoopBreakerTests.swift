import Testing
@testable import BulkheadPolicy

@Suite("Crash-loop breaker")
struct CrashLoopBreakerTests {
    static let policy = CrashLoopPolicy(maxRestarts: 3, window: .seconds(10), cooldown: .seconds(60), sameCrash: 0)

    // MARK: - The breaker alone

    @Test("max_restarts restarts inside the window pass; the next one opens the breaker for cooldown")
    func opensAfterMaxRestarts() {
        var b = CrashLoopBreaker()
        #expect(b.restartRequested(at: at(.seconds(1)), policy: Self.policy) == .restart)
        #expect(b.restartRequested(at: at(.seconds(2)), policy: Self.policy) == .restart)
        #expect(b.restartRequested(at: at(.seconds(3)), policy: Self.policy) == .restart)
        #expect(b.restartRequested(at: at(.seconds(4)), policy: Self.policy) == .open(until: at(.seconds(64))))
        #expect(b.state == .open(until: at(.seconds(64))))
    }

    @Test("restarts older than the window do not count (the window's start is exclusive)")
    func windowAges() {
        var b = CrashLoopBreaker()
        for s in [0, 5, 9] as [Int64] {
            #expect(b.restartRequested(at: at(.seconds(s)), policy: Self.policy) == .restart)
        }
        // At 10s the restart at 0s is exactly one window old: out.
        #expect(b.restartRequested(at: at(.seconds(10)), policy: Self.policy) == .restart)
        #expect(b.recentRestarts == [at(.seconds(5)), at(.seconds(9)), at(.seconds(10))])
        #expect(b.restartRequested(at: at(.seconds(11)), policy: Self.policy) == .open(until: at(.seconds(71))))
    }

    @Test("cooldown → half-open; a death while half-open reopens; a stable run closes and says so")
    func halfOpen() {
        var b = CrashLoopBreaker()
        for s in 1...4 as ClosedRange<Int64> { _ = b.restartRequested(at: at(.seconds(s)), policy: Self.policy) }
        b.cooldownEnded()
        #expect(b.state == .halfOpen)
        #expect(b.restartRequested(at: at(.seconds(65)), policy: Self.policy) == .open(until: at(.seconds(125))))
        b.cooldownEnded()
        #expect(b.stableRun() == true)
        #expect(b.state == .closed)
        #expect(b.stableRun() == false, "a stable run with a closed breaker closes nothing")
    }

    @Test("cooldownEnded does nothing unless the breaker is open")
    func cooldownEndedOnlyWhenOpen() {
        var b = CrashLoopBreaker()
        b.cooldownEnded()
        #expect(b.state == .closed)
    }

    @Test("reset closes and forgets history")
    func reset() {
        var b = CrashLoopBreaker()
        for s in 1...4 as ClosedRange<Int64> { _ = b.restartRequested(at: at(.seconds(s)), policy: Self.policy) }
        b.reset()
        #expect(b.state == .closed)
        #expect(b.recentRestarts.isEmpty)
        #expect(b.restartRequested(at: at(.seconds(5)), policy: Self.policy) == .restart)
    }

    // MARK: - Through Supervision

    /// Immediate restarts (initial 0) keep the sequences short; same_crash off; reset_after 30s.
    static let looping = worker(
        "api",
        backoff: BackoffPolicy(initial: .zero, max: .seconds(30), multiplier: 2, jitter: 0, resetAfter: .seconds(30)),
        crashLoop: policy
    )

    static let restartNow: [Step] = [.record("api:0", .transient), .emit(.restart, "api:0"), .spawn("api:0")]

    /// Brings api:0 up and lets it die max_restarts + 1 times, one second apart: the breaker opens at 4s.
    static func tripped() -> Harness {
        var h = Harness([looping])
        h.bringUp()
        for s in 1...3 as ClosedRange<Int64> {
            #expect(steps(h.died("api:0", .exit(1), .seconds(s))) == restartNow)
            h.spawned("api:0", .seconds(s))
        }
        let opened = h.died("api:0", .exit(1), .seconds(4))
        #expect(steps(opened) == [.record("api:0", .transient), .emit(.breakerOpen, "api:0")])
        #expect(records(opened).first?.action == "breaker open: one half-open try in 1m")
        #expect(events(opened).last?.priority == 2)
        return h
    }

    @Test("more than max_restarts restarts inside window → open, breaker-open event, nothing spawned")
    func opens() {
        let h = Self.tripped()
        let snap = h.sup.snapshot(of: iid("api:0"))
        #expect(snap?.state == .open)
        #expect(snap?.nextAttemptAt == at(.seconds(64)))
        #expect(snap?.restarts == 3)
        #expect(h.sup.nextDeadline() == at(.seconds(64)))
    }

    @Test("cooldown over → exactly one half-open try: restart event, spawn")
    func halfOpenTry() {
        var h = Self.tripped()
        #expect(h.tick(.milliseconds(63_999)).isEmpty)
        #expect(steps(h.tick(.seconds(64))) == [.emit(.restart, "api:0"), .spawn("api:0")])
        #expect(h.state("api:0") == .starting)
        #expect(h.tick(.seconds(64)).isEmpty, "only one try")
        h.spawned("api:0", .seconds(64))
        #expect(h.state("api:0") == .running)
        #expect(h.sup.snapshot(of: iid("api:0"))?.restarts == 4)
    }

    @Test("a death during the half-open try reopens the breaker")
    func halfOpenDeathReopens() {
        var h = Self.tripped()
        _ = h.tick(.seconds(64))
        h.spawned("api:0", .seconds(64))
        let actions = h.died("api:0", .exit(1), .seconds(65))
        #expect(steps(actions) == [.record("api:0", .transient), .emit(.breakerOpen, "api:0")])
        #expect(h.state("api:0") == .open)
        #expect(h.sup.snapshot(of: iid("api:0"))?.nextAttemptAt == at(.seconds(125)))
        // And the next cooldown gives the next single try.
        #expect(steps(h.tick(.seconds(125))) == [.emit(.restart, "api:0"), .spawn("api:0")])
    }

    @Test("a stable half-open run closes the breaker (recovered event); later crashes restart normally")
    func halfOpenStableCloses() {
        var h = Self.tripped()
        _ = h.tick(.seconds(64))
        h.spawned("api:0", .seconds(64))
        #expect(h.sup.nextDeadline() == at(.seconds(94)))
        #expect(h.tick(.milliseconds(93_999)).isEmpty)
        let closed = h.tick(.seconds(94))
        #expect(steps(closed) == [.emit(.recovered, "api:0")])
        #expect(h.state("api:0") == .running)
        // Closed again: a crash is an ordinary restart.
        #expect(steps(h.died("api:0", .exit(1), .seconds(100))) == Self.restartNow)
    }

    @Test("restarts spread over more than the window never trip it")
    func spreadRestarts() {
        var spec = Self.looping
        spec.backoff.resetAfter = .seconds(3600)
        spec.crashLoop.maxRestarts = 2
        var h = Harness([spec])
        h.bringUp()
        // One death every 6s with a 10s window: never more than 2 restarts inside it.
        for s in stride(from: 6, through: 120, by: 6) as StrideThrough<Int64> {
            #expect(steps(h.died("api:0", .exit(1), .seconds(s))) == Self.restartNow)
            h.spawned("api:0", .seconds(s))
        }
        #expect(h.state("api:0") == .running)
        // The same number of deaths bunched up does trip it.
        var bunched = Harness([spec])
        bunched.bringUp()
        for s in 1...2 as ClosedRange<Int64> {
            _ = bunched.died("api:0", .exit(1), .seconds(s))
            bunched.spawned("api:0", .seconds(s))
        }
        _ = bunched.died("api:0", .exit(1), .seconds(3))
        #expect(bunched.state("api:0") == .open)
    }

    @Test("open, failed and quarantined refuse `start`; `reset` clears open and starts at once")
    func resetClearsOpen() {
        var h = Self.tripped()
        let refused = h.sup.start([iid("api:0")], at(.seconds(5)))
        #expect(refused.refused)
        #expect(refused.actions.isEmpty)
        #expect(refused.lines == ["api:0: is open; clear it with `bulkhead reset api:0`"])
        let reset = h.sup.reset([iid("api:0")], at(.seconds(6)))
        #expect(!reset.refused)
        #expect(reset.lines == ["api:0: was open; starting"])
        #expect(steps(reset.actions) == [.spawn("api:0")])
        h.spawned("api:0", .seconds(6))
        // History is gone: three more restarts are allowed straight away.
        for s in 7...9 as ClosedRange<Int64> {
            #expect(steps(h.died("api:0", .exit(1), .seconds(s))) == Self.restartNow)
            h.spawned("api:0", .seconds(s))
        }
    }
}
