import Testing
@testable import BulkheadPolicy

@Suite("Restart backoff")
struct RestartBackoffTests {
    static let sequences: [(BackoffPolicy, [Duration])] = [
        (BackoffPolicy(initial: .milliseconds(100), max: .seconds(1), multiplier: 2, jitter: 0),
         [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1), .seconds(1)]),
        (BackoffPolicy(initial: .seconds(1), max: .seconds(30), multiplier: 3, jitter: 0),
         [.seconds(1), .seconds(3), .seconds(9), .seconds(27), .seconds(30), .seconds(30)]),
        (BackoffPolicy(initial: .milliseconds(250), max: .seconds(10), multiplier: 1, jitter: 0),
         [.milliseconds(250), .milliseconds(250), .milliseconds(250)]),
        // The SPEC's defaults: 100ms doubling up to 30s.
        (BackoffPolicy(initial: .milliseconds(100), max: .seconds(30), multiplier: 2, jitter: 0),
         [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600),
          .milliseconds(3200), .milliseconds(6400), .milliseconds(12800), .milliseconds(25600), .seconds(30), .seconds(30)]),
        // A max below initial caps the very first delay.
        (BackoffPolicy(initial: .seconds(5), max: .seconds(2), multiplier: 2, jitter: 0), [.seconds(2), .seconds(2)]),
    ]

    @Test("delay n = min(max, initial × multiplier^n) with jitter 0", arguments: sequences)
    func delaySequence(policy: BackoffPolicy, expected: [Duration]) {
        let delays = expected.indices.map { RestartBackoff.delay(attempt: $0, policy: policy, jitterSample: 0.7) }
        #expect(delays == expected)
    }

    @Test("jitter bounds: samples -1, 0, 1 give -jitter, exact, +jitter; samples outside [-1, 1] are clamped",
          arguments: [
            (-1.0, Duration.milliseconds(800)), (0.0, .seconds(1)), (1.0, .milliseconds(1200)),
            (-0.5, .milliseconds(900)), (-7.0, .milliseconds(800)), (3.0, .milliseconds(1200)),
          ])
    func jitterBounds(sample: Double, expected: Duration) {
        let policy = BackoffPolicy(initial: .seconds(1), max: .seconds(30), multiplier: 2, jitter: 0.2)
        #expect(RestartBackoff.delay(attempt: 0, policy: policy, jitterSample: sample) == expected)
    }

    @Test("jitter applies to the capped delay too")
    func jitterAtCap() {
        let policy = BackoffPolicy(initial: .seconds(1), max: .seconds(10), multiplier: 2, jitter: 0.5)
        #expect(RestartBackoff.delay(attempt: 20, policy: policy, jitterSample: -1) == .seconds(5))
        #expect(RestartBackoff.delay(attempt: 20, policy: policy, jitterSample: 1) == .seconds(15))
    }

    @Test("delays are exact to the nanosecond (no floating-point truncation)")
    func exactNanoseconds() {
        let policy = BackoffPolicy(initial: .milliseconds(1001), max: .seconds(60), multiplier: 3, jitter: 0)
        #expect(RestartBackoff.delay(attempt: 0, policy: policy, jitterSample: 0) == .milliseconds(1001))
        #expect(RestartBackoff.delay(attempt: 1, policy: policy, jitterSample: 0) == .milliseconds(3003))
        #expect(RestartBackoff.delay(attempt: 2, policy: policy, jitterSample: 0) == .milliseconds(9009))
    }

    @Test("a jitter fraction above 1 is clamped: the delay never goes negative")
    func jitterFractionClamped() {
        let policy = BackoffPolicy(initial: .seconds(1), max: .seconds(10), multiplier: 2, jitter: 3)
        #expect(RestartBackoff.delay(attempt: 0, policy: policy, jitterSample: -1) == .zero)
        #expect(RestartBackoff.delay(attempt: 0, policy: policy, jitterSample: 1) == .seconds(2))
    }

    @Test("initial 0 restarts immediately, whatever the attempt and jitter")
    func zeroInitial() {
        let policy = BackoffPolicy(initial: .zero, max: .seconds(30), multiplier: 2, jitter: 0.2)
        for attempt in 0..<5 {
            for sample in [-1.0, 0, 1] {
                #expect(RestartBackoff.delay(attempt: attempt, policy: policy, jitterSample: sample) == .zero)
            }
        }
    }

    @Test("huge attempt numbers stay at max (no overflow, no infinity)")
    func hugeAttempt() {
        let policy = BackoffPolicy(initial: .milliseconds(100), max: .seconds(30), multiplier: 10, jitter: 0)
        #expect(RestartBackoff.delay(attempt: 10_000, policy: policy, jitterSample: 0) == .seconds(30))
        #expect(RestartBackoff.delay(attempt: Int.max, policy: policy, jitterSample: 0) == .seconds(30))
    }

    @Test("SplitMix64 is reproducible and signedUnit stays in [-1, 1]")
    func generator() {
        var a = SplitMix64(seed: 7)
        var b = SplitMix64(seed: 7)
        var c = SplitMix64(seed: 8)
        let xs = (0..<1000).map { _ in a.signedUnit() }
        let ys = (0..<1000).map { _ in b.signedUnit() }
        let zs = (0..<1000).map { _ in c.signedUnit() }
        #expect(xs == ys)
        #expect(xs != zs)
        #expect(xs.allSatisfy { $0 >= -1 && $0 <= 1 })
        #expect(xs.contains { $0 < -0.5 } && xs.contains { $0 > 0.5 })
    }

    // MARK: - Through Supervision

    static let flaky = worker(
        "api",
        backoff: BackoffPolicy(initial: .milliseconds(100), max: .seconds(1), multiplier: 2, jitter: 0, resetAfter: .seconds(10)),
        crashLoop: CrashLoopPolicy(maxRestarts: 100, window: .seconds(60), cooldown: .seconds(300), sameCrash: 0)
    )

    /// Kills api:0 at `t` and returns the backoff delay policy chose.
    static func crash(_ h: inout Harness, _ t: Duration) -> Duration? {
        let actions = h.died("api:0", .exit(1), t)
        #expect(steps(actions) == [.record("api:0", .transient), .emit(.backoff, "api:0")])
        guard let next = h.sup.snapshot(of: iid("api:0"))?.nextAttemptAt else { return nil }
        return next.duration(since: at(t))
    }

    @Test("Supervision follows the delay sequence and reports it (event field, record action)")
    func supervisionSequence() {
        var h = Harness([Self.flaky])
        h.bringUp()
        var t = Duration.seconds(1)
        var delays: [Duration] = []
        for _ in 0..<6 {
            let actions = h.died("api:0", .exit(1), t)
            let next = h.sup.snapshot(of: iid("api:0"))?.nextAttemptAt ?? .zero
            let delay = next.duration(since: at(t))
            delays.append(delay)
            #expect(events(actions).first?.fields == [.init("BACKOFF_MS", "\(delay.milliseconds)")])
            #expect(records(actions).first?.action == "restart in \(Units.format(delay))")
            #expect(h.state("api:0") == .backoff)
            // Nothing happens before the backoff ends.
            #expect(h.tick(t + delay - .milliseconds(1)).isEmpty)
            t += delay
            #expect(steps(h.tick(t)) == [.emit(.restart, "api:0"), .spawn("api:0")])
            h.spawned("api:0", t)
            t += .milliseconds(50)
        }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)])
        #expect(h.sup.snapshot(of: iid("api:0"))?.restarts == 6)
    }

    @Test("the sequence starts over after reset_after of stable uptime (seen by tick)")
    func resetAfterStableRunViaTick() {
        var h = Harness([Self.flaky])
        h.bringUp()
        #expect(Self.crash(&h, .seconds(1)) == .milliseconds(100))
        #expect(!h.tick(.milliseconds(1100)).isEmpty)
        h.spawned("api:0", .milliseconds(1100))
        #expect(Self.crash(&h, .milliseconds(1200)) == .milliseconds(200))
        _ = h.tick(.milliseconds(1400))
        h.spawned("api:0", .milliseconds(1400))
        // reset_after (10s) of uptime is a deadline; when it passes nothing visible happens...
        #expect(h.sup.nextDeadline() == at(.milliseconds(11_400)))
        #expect(h.tick(.milliseconds(11_399)).isEmpty)
        #expect(h.tick(.milliseconds(11_400)).isEmpty)
        #expect(h.sup.nextDeadline() == nil)
        // ...but the next death gets the first delay again.
        #expect(Self.crash(&h, .seconds(12)) == .milliseconds(100))
    }

    @Test("the sequence starts over when the death itself comes after reset_after of uptime")
    func resetAfterStableRunAtDeath() {
        var h = Harness([Self.flaky])
        h.bringUp()
        #expect(Self.crash(&h, .seconds(1)) == .milliseconds(100))
        _ = h.tick(.milliseconds(1100))
        h.spawned("api:0", .milliseconds(1100))
        #expect(Self.crash(&h, .milliseconds(1200)) == .milliseconds(200))
        _ = h.tick(.milliseconds(1400))
        h.spawned("api:0", .milliseconds(1400))
        // No tick in between: the death 10s later still counts the run as stable.
        #expect(Self.crash(&h, .milliseconds(11_400)) == .milliseconds(100))
    }

    @Test("a run shorter than reset_after keeps growing the delay")
    func shortRunKeepsGrowing() {
        var h = Harness([Self.flaky])
        h.bringUp()
        #expect(Self.crash(&h, .seconds(1)) == .milliseconds(100))
        _ = h.tick(.milliseconds(1100))
        h.spawned("api:0", .milliseconds(1100))
        #expect(h.tick(.milliseconds(11_099)).isEmpty)
        #expect(Self.crash(&h, .milliseconds(11_099)) == .milliseconds(200))
    }

    @Test("initial 0: the restart is immediate (restart event, spawn, no backoff state)")
    func immediateRestart() {
        var spec = Self.flaky
        spec.backoff.initial = .zero
        var h = Harness([spec])
        h.bringUp()
        let actions = h.died("api:0", .exit(1), .seconds(1))
        #expect(steps(actions) == [.record("api:0", .transient), .emit(.restart, "api:0"), .spawn("api:0")])
        #expect(records(actions).first?.action == "restart now")
        #expect(h.state("api:0") == .starting)
    }

    @Test("seeded jitter: delays stay within ±jitter and replay exactly with the same seed")
    func seededJitter() {
        var spec = Self.flaky
        spec.backoff = BackoffPolicy(initial: .seconds(1), max: .seconds(1), multiplier: 2, jitter: 0.2, resetAfter: .seconds(3600))
        func run(seed: UInt64) -> [Duration] {
            var h = Harness([spec], seed: seed)
            h.bringUp()
            var t = Duration.seconds(1)
            var delays: [Duration] = []
            for _ in 0..<40 {
                _ = h.died("api:0", .exit(1), t)
                let delay = (h.sup.snapshot(of: iid("api:0"))?.nextAttemptAt ?? .zero).duration(since: at(t))
                delays.append(delay)
                t += delay
                _ = h.tick(t)
                h.spawned("api:0", t)
                t += .milliseconds(10)
            }
            return delays
        }
        let a = run(seed: 1)
        #expect(a == run(seed: 1))
        #expect(a != run(seed: 2))
        #expect(a.allSatisfy { $0 >= .milliseconds(800) && $0 <= .milliseconds(1200) })
        #expect(Set(a).count > 30, "jitter spreads the delays")
    }
}
