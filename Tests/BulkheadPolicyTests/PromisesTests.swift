import Testing
@testable import BulkheadPolicy

/// Issue 12: what the README promised and policy did not do.
@Suite("Promises the README makes")
struct PromisesTests {
    @Test("STOPPING=1: state stopping, the exit that follows is clean and not restarted (restart: on-failure)")
    func stoppingMeansTheExitIsExpected() {
        var h = Harness([worker("api", stop: StopPolicy(signal: Signals.terminate, timeout: .seconds(5)))])
        h.bringUp()
        let said = h.notify("api:0", .stopping, .seconds(1))
        #expect(steps(said) == [.emit(.stop, "api:0")])
        #expect(h.state("api:0") == .stopping)
        #expect(h.sup.nextDeadline() == at(.seconds(6)), "SIGKILL if it is still alive after stop.timeout")
        let died = h.died("api:0", .exit(1), .seconds(2))
        #expect(records(died).map(\.classification.deathClass) == [.clean])
        #expect(records(died).first?.classification.rule == "default: exited after STOPPING=1 (expected)")
        #expect(spawnedIDs(died).isEmpty)
        #expect(h.state("api:0") == .stopped)
        #expect(h.tick(.seconds(60)).isEmpty, "nothing is scheduled")
    }

    @Test("STOPPING=1 and then a crash signal or a corruption exit keep their class")
    func stoppingDoesNotHideACrash() {
        for (facts, expected) in [(DeathFacts.signal(11), DeathClass.crash), (.exit(86), .corruption)] {
            var h = Harness([worker("api")])
            h.bringUp()
            _ = h.notify("api:0", .stopping, .seconds(1))
            #expect(records(h.died("api:0", facts, .seconds(2))).map(\.classification.deathClass) == [expected])
        }
    }

    @Test("STOPPING=1 with restart: always restarts like any clean exit; a hang after it is killed at stop.timeout")
    func stoppingWithRestartAlways() {
        var h = Harness([worker("api", restart: .always, stop: StopPolicy(signal: Signals.terminate, timeout: .seconds(5)))])
        h.bringUp()
        _ = h.notify("api:0", .stopping, .seconds(1))
        let kill = h.tick(.seconds(6))
        #expect(processSteps(kill) == [.signal("api:0", pid: h.pid("api:0"), signal: Signals.kill, scope: .group)])
        let died = h.died("api:0", .signal(Signals.kill), .seconds(6))
        #expect(records(died).map(\.classification.deathClass) == [.clean])
        #expect(h.state("api:0") == .backoff)
    }

    @Test("STOPPING=1 while bulkhead is already stopping it changes nothing")
    func stoppingDuringAnOperatorStop() {
        var h = Harness([worker("api")])
        h.bringUp()
        _ = h.sup.stop([iid("api:0")], at(.seconds(1)))
        #expect(h.notify("api:0", .stopping, .seconds(1)).isEmpty)
        let died = h.died("api:0", .exit(0), .seconds(2))
        #expect(records(died).first?.classification.rule == "default: stopped by the operator")
    }

    @Test("no READY=1 within start_timeout: the stop signal to the group, SIGKILL after stop.timeout (as systemd does)")
    func startTimeoutStopsLikeSystemd() {
        var h = Harness([worker("api", ready: .notify, startTimeout: .seconds(30),
                                stop: StopPolicy(signal: Signals.interrupt, timeout: .seconds(4)))])
        h.spawnAll(h.startAll(), .zero)
        let timedOut = h.tick(.seconds(30))
        #expect(steps(timedOut) == [.emit(.startTimeout, "api:0"), .signal("api:0", pid: h.pid("api:0"), signal: Signals.interrupt, scope: .group), .emit(.stop, "api:0")])
        #expect(processSteps(h.tick(.seconds(34))) == [.signal("api:0", pid: h.pid("api:0"), signal: Signals.kill, scope: .group)])
        #expect(records(h.died("api:0", .signal(Signals.kill), .seconds(34))).map(\.classification.deathClass) == [.transient])
    }

    @Test("WATCHDOG=trigger says so, not that pings stopped")
    func watchdogTriggerSaysWhatHappened() {
        var h = Harness([worker("api", watchdog: .seconds(10))])
        h.bringUp()
        let triggered = h.notify("api:0", .watchdogTrigger, .seconds(1))
        #expect(events(triggered).first?.message.contains("WATCHDOG=trigger") == true)
        #expect(events(triggered).first?.message.contains("no WATCHDOG=1") == false)
    }

    @Test("reset clears the restart counter")
    func resetClearsRestarts() {
        var h = Harness([worker("api", crashLoop: CrashLoopPolicy(maxRestarts: 1, window: .seconds(60), cooldown: .seconds(300), sameCrash: 0))])
        h.bringUp()
        _ = h.died("api:0", .signal(11), .seconds(1))
        h.spawnAll(h.tick(.seconds(2)), .seconds(2))
        _ = h.died("api:0", .signal(11), .seconds(3))
        #expect(h.state("api:0") == .open)
        #expect(h.sup.snapshot(of: iid("api:0"))?.restarts == 1)
        _ = h.sup.reset([iid("api:0")], at(.seconds(4)))
        #expect(h.sup.snapshot(of: iid("api:0"))?.restarts == 0)
    }

    @Test("a restart that a stop cancels is not counted")
    func cancelledRestartsAreNotCounted() {
        var h = Harness([worker("api")])
        h.bringUp()
        _ = h.died("api:0", .signal(11), .seconds(1))
        #expect(h.state("api:0") == .backoff)
        #expect(h.sup.snapshot(of: iid("api:0"))?.restarts == 1, "the scheduled restart counts")
        _ = h.sup.stop([iid("api:0")], at(.seconds(1)))
        #expect(h.sup.snapshot(of: iid("api:0"))?.restarts == 0, "…until a stop cancels it")
        // The same through shutdown.
        h.spawnAll(h.sup.start([iid("api:0")], at(.seconds(2))).actions, .seconds(2))
        _ = h.died("api:0", .signal(11), .seconds(3))
        #expect(h.sup.snapshot(of: iid("api:0"))?.restarts == 1)
        _ = h.sup.shutdown(at(.seconds(3)))
        #expect(h.sup.snapshot(of: iid("api:0"))?.restarts == 0)
    }

    @Test("STATUS= text goes with the process that said it: cleared at its death, and at reset")
    func statusTextIsClearedWithItsProcess() {
        var h = Harness([worker("api")])
        h.bringUp()
        _ = h.notify("api:0", .status("draining queue 7"), .seconds(1))
        #expect(h.sup.snapshot(of: iid("api:0"))?.statusText == "draining queue 7")
        _ = h.died("api:0", .exit(1), .seconds(2))
        #expect(h.sup.snapshot(of: iid("api:0"))?.statusText == nil)
        h.spawnAll(h.tick(.seconds(3)), .seconds(3))
        #expect(h.sup.snapshot(of: iid("api:0"))?.statusText == nil, "the new pid starts without the old text")
    }

    @Test("reload: a worker whose settings are the same is unchanged, however its lines moved")
    func reloadComparesSettingsNotLines() {
        var a = worker("api")
        a.sourceLine = 3
        var b = worker("db")
        b.sourceLine = 9
        var h = Harness([a, b])
        h.bringUp()
        a.sourceLine = 5   // a comment was added above it
        b.sourceLine = 11
        var c = b
        c.backoff.initial = .milliseconds(250)
        let (_, summary) = h.sup.reload(SupervisorConfig(workers: [a, c]), at(.seconds(1)))
        #expect(summary.unchanged == ["api"])
        #expect(summary.updated == ["db"])
    }
}

@Suite("Spawns the mechanism does not make")
struct SpawnCancelledTests {
    @Test("a spawn dropped at shutdown leaves the instance stopped, and the daemon quiescent")
    func cancelledAtShutdown() {
        var h = Harness([worker("api", instances: 2)])
        let start = h.startAll()
        #expect(spawnedIDs(start) == ["api:0", "api:1"])
        h.spawned("api:0", .zero)
        _ = h.sup.shutdown(at(.seconds(1)))
        #expect(!h.sup.isQuiescent, "api:0 runs, api:1 is being spawned")
        let cancelled = h.sup.spawnCancelled(iid("api:1"), at(.seconds(1)))
        #expect(spawnedIDs(cancelled).isEmpty)
        #expect(h.state("api:1") == .stopped)
        _ = h.died("api:0", .signal(Signals.terminate), .seconds(2))
        #expect(h.sup.isQuiescent)
    }
}
