import Testing
@testable import BulkheadPolicy

@Suite("Crash fingerprint and same-crash escalation")
struct CrashFingerprintTests {
    // MARK: - The fingerprint

    @Test("masking: digit runs and hex addresses become #", arguments: [
        ("index 7 out of range", "index # out of range"),
        ("index 12345 out of range", "index # out of range"),
        ("bad pointer 0x7ffd5c3a9e10 at +0x1f", "bad pointer # at +#"),
        ("0xZZ", "#ZZ"),
        ("expected 'Lab.(unknown context at $55c40ac955e0).Vault' executor", "expected 'Lab.(unknown context at #).Vault' executor"),
        ("costs $5, $beef", "costs $#, $beef"),
        ("no digits here", "no digits here"),
        ("", ""),
        ("ünïcode 42 ✓", "ünïcode # ✓"),
    ])
    func masking(input: String, masked: String) {
        #expect(CrashFingerprint.mask(input) == masked)
    }

    @Test("the hash is FNV-1a 64, printed as 16 hex digits (stable across runs and builds)")
    func stableHash() {
        #expect(CrashFingerprint.hex(CrashFingerprint.fnv1a("")) == "cbf29ce484222325")
        #expect(CrashFingerprint.hex(CrashFingerprint.fnv1a("a")) == "af63dc4c8601ec8c")
        let fp = CrashFingerprint.compute(.trap("Fatal error: boom"))
        #expect(fp.count == 16)
        #expect(fp.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    }

    @Test("`index 7 out of range` and `index 9 out of range` are the same crash")
    func numbersMasked() {
        let a = CrashFingerprint.compute(.trap("Fatal error: Index 7 out of range"))
        let b = CrashFingerprint.compute(.trap("Fatal error: Index 9 out of range"))
        let c = CrashFingerprint.compute(.trap("Fatal error: Unexpectedly found nil while unwrapping an Optional value"))
        #expect(a == b)
        #expect(a != c)
    }

    @Test("source location and top frames are part of the fingerprint (addresses in frames masked)")
    func locationAndFrames() {
        let here = CrashFingerprint.compute(.trap("Fatal error: boom", at: "Orders.swift:10"))
        let there = CrashFingerprint.compute(.trap("Fatal error: boom", at: "Billing.swift:10"))
        #expect(here != there)
        var f1 = DeathFacts.trap("Fatal error: boom")
        f1.topFrames = ["0x0000555555 Worker.charge(_:) + 12", "main"]
        var f2 = DeathFacts.trap("Fatal error: boom")
        f2.topFrames = ["0x00007fffaa Worker.charge(_:) + 40", "main"]
        var f3 = DeathFacts.trap("Fatal error: boom")
        f3.topFrames = ["0x00007fffaa Worker.refund(_:) + 40", "main"]
        #expect(CrashFingerprint.compute(f1) == CrashFingerprint.compute(f2))
        #expect(CrashFingerprint.compute(f1) != CrashFingerprint.compute(f3))
    }

    @Test("without runtime details: the signal (or exit) and the last non-blank stderr line")
    func withoutRuntimeDetails() {
        let segv = DeathFacts(termination: .signaled(signal: 11, coreDumped: false), stderrTail: ["starting", "worker 3 lost", "  "])
        let segvOther = DeathFacts(termination: .signaled(signal: 11, coreDumped: true), stderrTail: ["worker 8 lost"])
        let bus = DeathFacts(termination: .signaled(signal: 7, coreDumped: false), stderrTail: ["worker 3 lost"])
        let exit = DeathFacts(termination: .exited(code: 1), stderrTail: ["worker 3 lost"])
        #expect(CrashFingerprint.stderrHeadline(segv.stderrTail) == "worker 3 lost")
        #expect(CrashFingerprint.stderrHeadline(["", " \t"]) == nil)
        #expect(CrashFingerprint.stderrHeadline([]) == nil)
        #expect(CrashFingerprint.compute(segv) == CrashFingerprint.compute(segvOther), "core dump or not, same bug")
        #expect(CrashFingerprint.compute(segv) != CrashFingerprint.compute(bus))
        #expect(CrashFingerprint.compute(segv) != CrashFingerprint.compute(exit))
    }

    // MARK: - Escalation through Supervision

    static func crashy(sameCrash: Int = 3) -> WorkerSpec {
        worker(
            "api",
            backoff: BackoffPolicy(initial: .zero, max: .seconds(1), multiplier: 2, jitter: 0, resetAfter: .seconds(30)),
            crashLoop: CrashLoopPolicy(maxRestarts: 100, window: .seconds(60), cooldown: .seconds(300), sameCrash: sameCrash)
        )
    }

    static let restarted: [Step] = [.record("api:0", .crash), .emit(.restart, "api:0"), .spawn("api:0")]

    /// Kills api:0 with `facts` at second `s`; restarts it when policy asks.
    static func die(_ h: inout Harness, _ facts: DeathFacts, _ s: Int64) -> [SupervisorAction] {
        let actions = h.died("api:0", facts, .seconds(s))
        if !spawnedIDs(actions).isEmpty { h.spawned("api:0", .seconds(s)) }
        return actions
    }

    @Test("the same crash same_crash times in a row → persistent → failed, with a note and the original class")
    func escalates() {
        var h = Harness([Self.crashy()])
        h.bringUp()
        let boom = DeathFacts.trap("Fatal error: Index 7 out of range")
        #expect(steps(Self.die(&h, boom, 1)) == Self.restarted)
        #expect(steps(Self.die(&h, boom, 2)) == Self.restarted)
        let third = Self.die(&h, boom, 3)
        #expect(steps(third) == [.record("api:0", .persistent), .emit(.failed, "api:0")])
        let record = try! #require(records(third).first)
        #expect(record.originalClass == .crash)
        #expect(record.classification.rule == "default: signal ILL")
        #expect(record.fingerprint == CrashFingerprint.compute(boom))
        #expect(record.note?.contains("3 times in a row") == true)
        #expect(record.note?.contains(record.fingerprint) == true)
        #expect(record.action == "failed: not restarted until `bulkhead reset api:0`")
        #expect(events(third).first?.priority == 2)
        #expect(h.state("api:0") == .failed)
        #expect(h.sup.snapshot(of: iid("api:0"))?.lastClass == .persistent)
        #expect(h.sup.nextDeadline() == nil)
        #expect(h.tick(.seconds(3600)).isEmpty)
    }

    @Test("ordinary crashes carry no note and no original class")
    func noNoteBeforeEscalation() {
        var h = Harness([Self.crashy()])
        h.bringUp()
        let record = records(Self.die(&h, .trap("Fatal error: boom"), 1)).first
        #expect(record?.note == nil)
        #expect(record?.originalClass == nil)
    }

    @Test("numbers are masked: index 7, 9 and 12 out of range are one streak")
    func maskedStreak() {
        var h = Harness([Self.crashy()])
        h.bringUp()
        #expect(steps(Self.die(&h, .trap("Fatal error: Index 7 out of range"), 1)) == Self.restarted)
        #expect(steps(Self.die(&h, .trap("Fatal error: Index 9 out of range"), 2)) == Self.restarted)
        #expect(records(Self.die(&h, .trap("Fatal error: Index 12 out of range"), 3)).first?.classification.deathClass == .persistent)
        #expect(h.state("api:0") == .failed)
    }

    @Test("a different fingerprint in between resets the streak")
    func differentCrashResets() {
        var h = Harness([Self.crashy()])
        h.bringUp()
        let a = DeathFacts.trap("Fatal error: a")
        let b = DeathFacts.trap("Fatal error: b")
        for (s, facts) in [(1, a), (2, a), (3, b), (4, a), (5, a)] as [(Int64, DeathFacts)] {
            #expect(steps(Self.die(&h, facts, s)) == Self.restarted, "death at \(s)s")
        }
        #expect(records(Self.die(&h, a, 6)).first?.classification.deathClass == .persistent)
    }

    @Test("a non-crash failure in between resets the streak")
    func otherFailureResets() {
        var h = Harness([Self.crashy()])
        h.bringUp()
        let a = DeathFacts.trap("Fatal error: a")
        _ = Self.die(&h, a, 1)
        _ = Self.die(&h, a, 2)
        #expect(steps(Self.die(&h, .exit(1), 3)) == [.record("api:0", .transient), .emit(.restart, "api:0"), .spawn("api:0")])
        #expect(steps(Self.die(&h, a, 4)) == Self.restarted)
        #expect(steps(Self.die(&h, a, 5)) == Self.restarted)
        #expect(h.state("api:0") == .running)
    }

    @Test("a stable run in between resets the streak (seen by tick or at the death)")
    func stableRunResets() {
        var h = Harness([Self.crashy()])
        h.bringUp()
        let a = DeathFacts.trap("Fatal error: a")
        _ = Self.die(&h, a, 1)
        _ = Self.die(&h, a, 2)
        // Up since 2s; reset_after is 30s.
        #expect(h.tick(.seconds(32)).isEmpty)
        #expect(steps(Self.die(&h, a, 40)) == Self.restarted)
        #expect(steps(Self.die(&h, a, 41)) == Self.restarted)
        // No tick this time: the death at 71s comes after 30s of uptime.
        #expect(steps(Self.die(&h, a, 71)) == Self.restarted)
        #expect(steps(Self.die(&h, a, 72)) == Self.restarted)
        #expect(records(Self.die(&h, a, 73)).first?.classification.deathClass == .persistent)
    }

    @Test("same_crash: 0 disables the escalation")
    func disabled() {
        var h = Harness([Self.crashy(sameCrash: 0)])
        h.bringUp()
        for s in 1...20 as ClosedRange<Int64> {
            #expect(steps(Self.die(&h, .trap("Fatal error: a"), s)) == Self.restarted)
        }
    }

    @Test("same_crash: 1 fails on the first crash")
    func one() {
        var h = Harness([Self.crashy(sameCrash: 1)])
        h.bringUp()
        #expect(steps(Self.die(&h, .trap("Fatal error: a"), 1)) == [.record("api:0", .persistent), .emit(.failed, "api:0")])
    }

    @Test("plain signal crashes (no runtime message) escalate too, keyed by signal and stderr headline")
    func signalOnlyStreak() {
        var h = Harness([Self.crashy()])
        h.bringUp()
        let segv = DeathFacts(termination: .signaled(signal: 11, coreDumped: true), stderrTail: ["segfault in slot 3"])
        let segv2 = DeathFacts(termination: .signaled(signal: 11, coreDumped: true), stderrTail: ["segfault in slot 4"])
        _ = Self.die(&h, segv, 1)
        _ = Self.die(&h, segv2, 2)
        #expect(records(Self.die(&h, segv, 3)).first?.classification.deathClass == .persistent)
    }

    @Test("reset clears the streak: after `bulkhead reset` the same crash gets restarts again")
    func resetClearsStreak() {
        var h = Harness([Self.crashy()])
        h.bringUp()
        let a = DeathFacts.trap("Fatal error: a")
        for s in 1...3 as ClosedRange<Int64> { _ = Self.die(&h, a, s) }
        #expect(h.state("api:0") == .failed)
        let reset = h.sup.reset([iid("api:0")], at(.seconds(10)))
        #expect(reset.lines == ["api:0: was failed; starting"])
        #expect(steps(reset.actions) == [.spawn("api:0")])
        h.spawned("api:0", .seconds(10))
        #expect(h.sup.snapshot(of: iid("api:0"))?.lastClass == nil)
        #expect(steps(Self.die(&h, a, 11)) == Self.restarted)
        #expect(steps(Self.die(&h, a, 12)) == Self.restarted)
    }

    @Test("crashes during a requested restart do not make a running worker `failed` or say it is not restarted")
    func crashOnStopDoesNotEscalate() {
        var h = Harness([Self.crashy()])
        h.bringUp()
        let a = DeathFacts.trap("Fatal error: crashed in deinit")
        for s in 1...3 as ClosedRange<Int64> {
            let restart = h.sup.restart([iid("api:0")], at(.seconds(s)))
            #expect(processSteps(restart.actions) == [.signal("api:0", pid: h.pid("api:0"), signal: Signals.terminate, scope: .group)])
            let death = h.died("api:0", a, .seconds(s))
            #expect(steps(death) == [.record("api:0", .crash), .spawn("api:0")])
            #expect(records(death).first?.note == nil)
            h.spawned("api:0", .seconds(s))
        }
        #expect(h.state("api:0") == .running)
    }
}
