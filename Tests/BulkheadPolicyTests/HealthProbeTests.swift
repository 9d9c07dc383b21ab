import Testing
@testable import BulkheadPolicy

/// Health checks as pure policy: when checks go out (initial_delay, interval), what their
/// results do (successes, failures), and how a ready probe gates `running` and a live probe
/// kills as hung — all on a fake clock.
@Suite("Health probes")
struct HealthProbeTests {
    static let target = ProbeTarget(host: "127.0.0.1", port: 8080)
    static let http = ProbeCheck.http(target, path: "/healthz")

    static func probed(_ name: String = "api", instances: Int = 1, ready: ReadyMode = .spawn, readyProbe: ProbeSpec? = nil,
                       liveProbe: ProbeSpec? = nil, startTimeout: Duration = .seconds(60), dependsOn: [String] = []) -> WorkerSpec {
        var spec = worker(name, instances: instances, ready: ready, startTimeout: startTimeout, watchdogGrace: .seconds(2), dependsOn: dependsOn)
        spec.health = HealthChecks(ready: readyProbe, live: liveProbe)
        return spec
    }

    static func pass(_ t: Duration, latency: Duration = .milliseconds(2)) -> ProbeResult {
        ProbeResult(passed: true, at: at(t), latency: latency, detail: "HTTP 200")
    }

    static func fail(_ t: Duration, _ detail: String = "HTTP 500") -> ProbeResult {
        ProbeResult(passed: false, at: at(t), latency: .milliseconds(3), detail: detail)
    }

    /// The probes among `actions`: (instance, role).
    static func probes(_ actions: [SupervisorAction]) -> [Step] {
        steps(actions).filter { if case .probe = $0 { return true } else { return false } }
    }

    // MARK: - The tracker alone


    @Test("a tracker: first check at initial_delay, then every interval from the start of the last; none while one is out")
    func trackerTiming() {
        func launch(_ tracker: inout ProbeTracker, _ now: Instant) -> Bool { tracker.launchIfDue(now) }
        func finish(_ tracker: inout ProbeTracker, _ result: ProbeResult) -> ProbeTracker.Outcome { tracker.finished(result) }
        let spec = ProbeSpec(check: Self.http, initialDelay: .seconds(5), interval: .seconds(10), timeout: .seconds(1))
        var tracker = ProbeTracker(role: .live, spec: spec, startingAt: at(.seconds(1)))
        #expect(tracker.deadline == at(.seconds(6)))
        #expect(!launch(&tracker, at(.milliseconds(5999))))
        #expect(launch(&tracker, at(.seconds(6))))
        #expect(tracker.deadline == nil, "nothing is due while a check is out")
        #expect(!launch(&tracker, at(.seconds(100))))
        #expect(finish(&tracker, Self.pass(.milliseconds(6300))) == .passedEnough)
        #expect(tracker.deadline == at(.seconds(16)), "interval counts from the start of the check")
        #expect(launch(&tracker, at(.seconds(16))))
        // A check slower than the interval is followed at once.
        #expect(finish(&tracker, Self.fail(.seconds(30))) == .counted)
        #expect(tracker.deadline == at(.seconds(30)))
        #expect(tracker.finished(Self.fail(.seconds(31))) == .ignored, "an answer with no check out is ignored")
    }

    @Test("a tracker counts in a row: failures reset by a pass, successes by a failure; it keeps the last five results")
    func trackerCounts() {
        let spec = ProbeSpec(check: Self.http, interval: .seconds(1), failures: 3, successes: 2)
        var tracker = ProbeTracker(role: .live, spec: spec, startingAt: .zero)
        var t = Duration.zero
        func run(_ result: (Duration) -> ProbeResult) -> ProbeTracker.Outcome {
            let launched = tracker.launchIfDue(at(t))
            #expect(launched)
            let outcome = tracker.finished(result(t + .milliseconds(1)))
            t += .seconds(1)
            return outcome
        }
        #expect(run { Self.fail($0) } == .counted)
        #expect(run { Self.fail($0) } == .counted)
        #expect(run { Self.pass($0) } == .counted, "one pass of the two successes needed")
        #expect(tracker.consecutiveFailures == 0)
        #expect(run { Self.fail($0) } == .counted)
        #expect(run { Self.fail($0) } == .counted)
        #expect(run { Self.fail($0) } == .failedEnough)
        #expect(tracker.consecutiveFailures == 3)
        #expect(tracker.recent.count == ProbeTracker.kept)
        #expect(tracker.recent.map(\.passed) == [false, true, false, false, false])
        #expect(run { Self.pass($0) } == .counted)
        #expect(run { Self.pass($0) } == .passedEnough)
    }

    // MARK: - Ready probe

    @Test("with a ready probe, ready: spawn waits in starting for the probe; a pass makes it running and dependents start")
    func readyProbeGatesRunning() {
        let probe = ProbeSpec(check: Self.http, initialDelay: .milliseconds(500), interval: .seconds(1), timeout: .milliseconds(300))
        var h = Harness([Self.probed(readyProbe: probe), worker("web", dependsOn: ["api"])])
        #expect(steps(h.startAll()) == [.spawn("api:0")])
        #expect(steps(h.spawned("api:0", .zero)) == [.emit(.spawn, "api:0")])
        #expect(h.state("api:0") == .starting)
        #expect(h.state("web:0") == .waiting)
        #expect(h.sup.nextDeadline() == at(.milliseconds(500)), "the first check, before start_timeout")
        #expect(h.tick(.milliseconds(499)).isEmpty)
        let first = h.tick(.milliseconds(500))
        #expect(Self.probes(first) == [.probe("api:0", .ready)])
        guard case .probe(_, let pid, _, let check, let timeout)? = first.first else { Issue.record("no probe"); return }
        #expect(pid == h.pid("api:0") && check == Self.http && timeout == .milliseconds(300))

        // A failure: still starting, said once.
        let failed = h.sup.probeFinished(iid("api:0"), pid: h.pid("api:0"), role: .ready, Self.fail(.milliseconds(510), "connect: Connection refused"), at(.milliseconds(510)))
        #expect(steps(failed) == [.emit(.health, "api:0")])
        #expect(h.state("api:0") == .starting)
        #expect(h.sup.nextDeadline() == at(.milliseconds(1500)))
        #expect(Self.probes(h.tick(.milliseconds(1500))) == [.probe("api:0", .ready)])
        let again = h.sup.probeFinished(iid("api:0"), pid: h.pid("api:0"), role: .ready, Self.fail(.milliseconds(1510)), at(.milliseconds(1510)))
        #expect(again.isEmpty, "a second failure in a row is in status, not another event")

        _ = h.tick(.milliseconds(2500))
        let passed = h.sup.probeFinished(iid("api:0"), pid: h.pid("api:0"), role: .ready, Self.pass(.milliseconds(2504)), at(.milliseconds(2504)))
        #expect(steps(passed) == [.emit(.ready, "api:0"), .spawn("web:0")])
        #expect(events(passed).first?.message == "ready (ready probe passed: HTTP 200 in 2ms)")
        #expect(h.state("api:0") == .running)
        #expect(h.sup.nextDeadline() == nil, "a passed ready probe runs no more")
        let health = h.sup.snapshot(of: iid("api:0"))?.health ?? []
        #expect(health.count == 1 && health[0].done && health[0].last?.detail == "HTTP 200")
    }

    @Test("with ready: notify, the ready probe starts at READY=1 and makes the instance ready")
    func readyProbeAfterNotify() {
        let probe = ProbeSpec(check: Self.http, interval: .seconds(1), successes: 2)
        var h = Harness([Self.probed(ready: .notify, readyProbe: probe, startTimeout: .seconds(30))])
        _ = h.startAll()
        _ = h.spawned("api:0", .zero)
        #expect(h.sup.nextDeadline() == at(.seconds(30)), "no check before READY=1")
        #expect(h.notify("api:0", .ready, .seconds(2)).isEmpty)
        #expect(h.state("api:0") == .starting)
        #expect(Self.probes(h.tick(.seconds(2))) == [.probe("api:0", .ready)])
        #expect(h.sup.probeFinished(iid("api:0"), pid: h.pid("api:0"), role: .ready, Self.pass(.seconds(2)), at(.seconds(2))).isEmpty)
        #expect(h.state("api:0") == .starting, "successes: 2")
        _ = h.tick(.seconds(3))
        _ = h.sup.probeFinished(iid("api:0"), pid: h.pid("api:0"), role: .ready, Self.pass(.seconds(3)), at(.seconds(3)))
        #expect(h.state("api:0") == .running)
    }

    @Test("a ready probe that never passes ends in start_timeout: a failed start, class transient")
    func readyProbeTimesOut() {
        let probe = ProbeSpec(check: Self.http, interval: .seconds(1))
        var h = Harness([Self.probed(readyProbe: probe, startTimeout: .seconds(3))])
        _ = h.startAll()
        _ = h.spawned("api:0", .zero)
        for second in 0..<3 {
            _ = h.tick(.seconds(Int64(second)))
            _ = h.sup.probeFinished(iid("api:0"), pid: h.pid("api:0"), role: .ready, Self.fail(.seconds(Int64(second))), at(.seconds(Int64(second))))
        }
        let timedOut = h.tick(.seconds(3))
        #expect(steps(timedOut).contains(.emit(.startTimeout, "api:0")))
        #expect(events(timedOut).first { $0.kind == .startTimeout }?.message.hasPrefix("no pass of the ready probe (http://127.0.0.1:8080/healthz) within start_timeout 3s") == true)
        #expect(h.state("api:0") == .stopping)
        let died = h.died("api:0", .signal(Signals.terminate), .seconds(4))
        #expect(records(died).first?.classification == Classification(.transient, rule: "default: not ready within start_timeout"))
    }

    // MARK: - Live probe

    @Test("the live probe starts once ready; failures in a row → SIGQUIT, watchdog_grace, SIGKILL; class hang, rule liveness, results in the record")
    func liveProbeKillsAsHung() {
        let probe = ProbeSpec(check: Self.http, initialDelay: .seconds(1), interval: .seconds(2), timeout: .milliseconds(500), failures: 3)
        var h = Harness([Self.probed(liveProbe: probe)])
        _ = h.startAll()
        #expect(steps(h.spawned("api:0", .zero)) == [.emit(.spawn, "api:0"), .emit(.ready, "api:0")])
        #expect(h.sup.nextDeadline() == at(.seconds(1)))
        let pid = h.pid("api:0")

        func check(_ t: Duration, _ result: ProbeResult) -> [SupervisorAction] {
            #expect(Self.probes(h.tick(t)) == [.probe("api:0", .live)])
            return h.sup.probeFinished(iid("api:0"), pid: pid, role: .live, result, at(t + .milliseconds(5)))
        }
        #expect(check(.seconds(1), Self.pass(.seconds(1))).isEmpty)
        let first = check(.seconds(3), Self.fail(.seconds(3)))
        #expect(steps(first) == [.emit(.health, "api:0")])
        #expect(events(first).first?.message == "live probe failed (1 of 3): HTTP 500 after 3ms")
        let recovered = check(.seconds(5), Self.pass(.seconds(5)))
        #expect(events(recovered).first?.message == "live probe passes again after 1 failure: HTTP 200 in 2ms")
        _ = check(.seconds(7), Self.fail(.seconds(7), "timed out after 500ms"))
        _ = check(.seconds(9), Self.fail(.seconds(9), "timed out after 500ms"))
        #expect(h.state("api:0") == .running)
        let killed = check(.seconds(11), Self.fail(.seconds(11), "timed out after 500ms"))
        #expect(processSteps(killed) == [.signal("api:0", pid: pid, signal: Signals.quit, scope: .process)])
        #expect(events(killed).first?.message == "live probe failed 3 times in a row (last: timed out after 500ms): SIGQUIT for a thread dump, SIGKILL in 2s")
        #expect(h.state("api:0") == .stopping)
        #expect(h.sup.nextDeadline() == at(.milliseconds(13_005)), "SIGKILL after watchdog_grace")
        let sigkill = h.tick(.milliseconds(13_005))
        #expect(processSteps(sigkill) == [.signal("api:0", pid: pid, signal: Signals.kill, scope: .group)])
        #expect(events(sigkill).first?.message.contains("after SIGQUIT: SIGKILL") == true)

        let died = h.died("api:0", .signal(Signals.kill), .seconds(14))
        let record = records(died).first
        #expect(record?.classification == Classification(.hang, rule: "liveness"))
        #expect(record?.probes.map(\.role) == [.live, .live, .live, .live, .live], "the last five results, oldest first")
        #expect(record?.probes.last?.result.detail == "timed out after 500ms")
        #expect(h.state("api:0") == .backoff)
    }

    @Test("a result for a process that is gone, or a role with no check out, changes nothing")
    func staleResultsAreIgnored() {
        let probe = ProbeSpec(check: Self.http, interval: .seconds(1), failures: 1)
        var h = Harness([Self.probed(liveProbe: probe)])
        h.bringUp()
        let old = h.pid("api:0")
        #expect(h.sup.probeFinished(iid("api:0"), pid: old, role: .live, Self.fail(.zero), at(.zero)).isEmpty, "no check is out yet")
        _ = h.tick(.zero)
        #expect(h.sup.probeFinished(iid("api:0"), pid: old, role: .ready, Self.fail(.zero), at(.zero)).isEmpty, "no ready probe")
        #expect(h.sup.probeFinished(iid("api:0"), pid: old + 1, role: .live, Self.fail(.zero), at(.zero)).isEmpty, "another pid")
        #expect(h.state("api:0") == .running)
    }

    @Test("each instance probes its own port with BASE+index")
    func portPlusIndex() {
        let check = ProbeCheck.tcp(ProbeTarget(host: "127.0.0.1", port: 9000, portPlusIndex: true))
        var h = Harness([Self.probed(instances: 3, liveProbe: ProbeSpec(check: check, interval: .seconds(1)))])
        h.bringUp()
        let targets = h.tick(.zero).compactMap { action -> String? in
            guard case .probe(let id, _, _, .tcp(let target), _) = action else { return nil }
            return "\(id) \(target.authority)"
        }
        #expect(targets == ["api:0 127.0.0.1:9000", "api:1 127.0.0.1:9001", "api:2 127.0.0.1:9002"])
    }

    @Test("status shows the probes of the live process: last result, latency, failures in a row")
    func snapshotShowsProbes() {
        let probe = ProbeSpec(check: Self.http, interval: .seconds(1), failures: 5)
        var h = Harness([Self.probed(liveProbe: probe)])
        h.bringUp()
        #expect(h.sup.snapshot(of: iid("api:0"))?.health.first?.last == nil)
        _ = h.tick(.zero)
        _ = h.sup.probeFinished(iid("api:0"), pid: h.pid("api:0"), role: .live, Self.fail(.milliseconds(7)), at(.milliseconds(7)))
        let changes = h.sup.takeChanges()
        #expect(changes.instances.contains(iid("api:0")), "a result is a change status must see")
        let probeStatus = h.sup.snapshot(of: iid("api:0"))?.health.first
        #expect(probeStatus?.role == .live && probeStatus?.consecutiveFailures == 1)
        #expect(probeStatus?.last == Self.fail(.milliseconds(7)))
        _ = h.died("api:0", .exit(1), .seconds(1))
        #expect(h.sup.snapshot(of: iid("api:0"))?.health == [], "no process, no probes")
    }

    @Test("a liveness kill is a hang whatever the worker's rules say, and escalation and backoff apply as to any hang")
    func livenessIsHangBeforeRules() {
        let rule = ClassificationRule(signals: [Signals.kill], result: .transient, label: "rules[0]")
        let classification = Classifier.classify(.signal(Signals.kill), cause: .liveness, stopSignal: Signals.terminate, rules: [rule])
        #expect(classification == Classification(.hang, rule: "liveness"))
    }
}
