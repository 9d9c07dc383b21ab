import Testing
@testable import BulkheadPolicy

@Suite("sd_notify to bulkhead's own service manager")
struct ServiceNotificationsTests {
    /// Runs `iterationEnded` with a fixed verdict and summary.
    static func end(_ n: inout ServiceNotifications, _ t: Duration, settled: Bool = true, summary: String = "1/1 running") -> [String] {
        n.iterationEnded(at(t), startupSettled: { settled }, summary: { summary })
    }

    @Test("READY=1 with the summary once start-up settled, then nothing while nothing changes")
    func ready() {
        var n = ServiceNotifications(settings: .init())
        #expect(n.nextDeadline() == .zero, "the first iteration must end at once")
        #expect(Self.end(&n, .milliseconds(1)) == ["READY=1\nSTATUS=1/1 running"])
        #expect(n.stage == .ready)
        #expect(Self.end(&n, .seconds(1)) == [])
        #expect(Self.end(&n, .seconds(2)) == [])
        #expect(n.nextDeadline() == nil, "no watchdog, nothing dirty after a check: no wake-ups")
    }

    @Test("while start-up waits: status and EXTEND_TIMEOUT_USEC every 5 s, READY when settled")
    func extend() {
        var n = ServiceNotifications(settings: .init())
        #expect(Self.end(&n, .zero, settled: false, summary: "0/1 running, 1 starting") == ["EXTEND_TIMEOUT_USEC=15000000", "STATUS=0/1 running, 1 starting"])
        #expect(n.nextDeadline() == at(.seconds(5)))
        #expect(Self.end(&n, .seconds(1), settled: false, summary: "0/1 running, 1 starting") == [])
        #expect(Self.end(&n, .seconds(5), settled: false, summary: "0/1 running, 1 starting") == ["EXTEND_TIMEOUT_USEC=15000000"])
        #expect(Self.end(&n, .seconds(6)) == ["READY=1\nSTATUS=1/1 running"])
        #expect(n.nextDeadline() == nil)
    }

    @Test("STATUS= at most every 250 ms, and a held-back change is sent by a wake-up")
    func statusRate() {
        var n = ServiceNotifications(settings: .init())
        _ = Self.end(&n, .zero, summary: "a")
        #expect(Self.end(&n, .milliseconds(100), summary: "b") == [], "too soon")
        #expect(n.nextDeadline() == at(.milliseconds(250)), "the loop wakes for it")
        #expect(Self.end(&n, .milliseconds(250), summary: "b") == ["STATUS=b"])
        #expect(n.nextDeadline() == nil)
        #expect(Self.end(&n, .seconds(10), summary: "b") == [], "unchanged: not sent again")
        #expect(Self.end(&n, .seconds(11), summary: "c") == ["STATUS=c"])
    }

    @Test("WATCHDOG=1 every half WATCHDOG_USEC, from the first iteration on")
    func watchdog() {
        var n = ServiceNotifications(settings: .init(watchdogInterval: .seconds(1)))
        #expect(Self.end(&n, .milliseconds(10)) == ["READY=1\nSTATUS=1/1 running", "WATCHDOG=1"])
        #expect(n.nextDeadline() == at(.milliseconds(1010)))
        #expect(Self.end(&n, .milliseconds(500)) == [])
        #expect(Self.end(&n, .milliseconds(1010)) == ["WATCHDOG=1"])
        // A loop that did not turn for a while pings once when it does, not a burst.
        #expect(Self.end(&n, .seconds(9)) == ["WATCHDOG=1"])
        #expect(n.nextDeadline() == at(.seconds(10)))
    }

    @Test("reload: RELOADING=1 with MONOTONIC_USEC, then READY=1; not before the first READY")
    func reload() {
        var n = ServiceNotifications(settings: .init())
        _ = Self.end(&n, .zero, settled: false)
        #expect(n.reloading(at(.seconds(1))) == [], "systemd does not reload an activating unit")
        #expect(n.reloaded(at(.seconds(1))) == [])
        _ = Self.end(&n, .seconds(2))
        #expect(n.reloading(at(.milliseconds(3_500))) == ["RELOADING=1\nMONOTONIC_USEC=3500000"])
        #expect(n.stage == .reloading)
        #expect(n.reloaded(at(.seconds(4))) == ["READY=1"])
        #expect(n.stage == .ready)
        #expect(Self.end(&n, .seconds(5), summary: "2/2 running") == ["STATUS=2/2 running"])
    }

    @Test("STOPPING=1 once; no READY or reload after it")
    func stopping() {
        var n = ServiceNotifications(settings: .init())
        _ = Self.end(&n, .zero, settled: false)
        #expect(n.stopping(at(.seconds(1))) == ["STOPPING=1"])
        #expect(n.stopping(at(.seconds(2))) == [])
        #expect(Self.end(&n, .seconds(3), summary: "0/1 running, 1 stopping") == ["STATUS=0/1 running, 1 stopping"])
        #expect(n.reloading(at(.seconds(4))) == [])
        #expect(n.stage == .stopping)
    }
}

@Suite("When start-up has settled (READY=1)")
struct StartupPendingTests {
    static let slowBackoff = BackoffPolicy(initial: .seconds(1), max: .seconds(30), multiplier: 2, jitter: 0, resetAfter: .seconds(60))

    @Test("waits for ready: notify instances and for dependents of starting workers")
    func waitsForNotify() {
        var h = Harness([worker("db", ready: .notify), worker("api", dependsOn: ["db"])])
        #expect(h.sup.startupPending().isEmpty, "nothing wanted before startAll")
        let spawns = h.startAll()
        #expect(h.sup.startupPending().map(\.description) == ["db:0", "api:0"], "spawning, and waiting for it")
        h.spawnAll(spawns, .zero)
        #expect(h.sup.startupPending().map(\.description) == ["db:0", "api:0"])
        h.spawnAll(h.notify("db:0", .ready, .seconds(1)), .seconds(1))
        #expect(h.sup.startupPending().isEmpty)
    }

    @Test("a worker that died on its way up, and its dependents, do not hold READY back")
    func deadDependency() {
        var h = Harness([
            worker("db", ready: .notify, backoff: Self.slowBackoff), worker("api", dependsOn: ["db"]),
            worker("web", dependsOn: ["api"]), worker("cron"),
        ])
        h.bringUp()
        #expect(h.sup.startupPending().map(\.description) == ["db:0", "api:0", "web:0"])
        _ = h.died("db:0", .signal(11), .milliseconds(10))
        #expect(h.state("db:0") == .backoff)
        #expect(h.sup.startupPending().isEmpty, "db in backoff blocks api, and api blocks web")
    }

    @Test("failed and quarantined count as settled")
    func failed() {
        var h = Harness([worker("a", ready: .notify), worker("b", ready: .notify, rules: [
            ClassificationRule(exitCodes: [9], result: .corruption, label: "rule 1"),
        ])])
        h.bringUp()
        _ = h.died("a:0", .exit(78), .milliseconds(5))
        #expect(h.state("a:0") == .failed)
        #expect(h.sup.startupPending().map(\.description) == ["b:0"])
        _ = h.died("b:0", .exit(9), .milliseconds(6))
        #expect(h.state("b:0") == .quarantined)
        #expect(h.sup.startupPending().isEmpty)
    }

    @Test("ready: after a delay holds READY back until the delay passed; shutdown settles everything")
    func delayAndShutdown() {
        var h = Harness([worker("a", ready: .after(.seconds(2)))])
        h.bringUp()
        #expect(h.sup.startupPending().map(\.description) == ["a:0"])
        _ = h.tick(.seconds(2))
        #expect(h.sup.startupPending().isEmpty)

        var s = Harness([worker("a", ready: .notify)])
        s.bringUp()
        _ = s.sup.shutdown(at(.seconds(1)))
        #expect(s.sup.startupPending().isEmpty)
    }
}
