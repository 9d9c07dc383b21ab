import Testing
@testable import BulkheadPolicy

/// `tick` and `nextDeadline` look only at the instances `store` keeps in `timed`. Whatever
/// happens, that set must be exactly the instances whose phase has a deadline, or a timer
/// (a backoff, a watchdog, a stop's SIGKILL) would silently never fire.
@Suite("Deadline index")
struct DeadlineIndexTests {
    static func check(_ h: Harness, _ when: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let expected = Set(h.sup.instances.filter { $0.value.phase.deadline != nil }.keys)
        #expect(h.sup.timed == expected, "\(when): timed \(h.sup.timed) vs \(expected)", sourceLocation: sourceLocation)
        let earliest = h.sup.instances.values.compactMap(\.phase.deadline).min()
        #expect(h.sup.nextDeadline() == earliest, "\(when)", sourceLocation: sourceLocation)
    }

    @Test("timed holds exactly the instances with a deadline through starts, deaths, backoff, watchdog and stops")
    func timedFollowsEveryPhase() {
        var h = Harness([
            worker("api", instances: 3, ready: .notify, startTimeout: .seconds(10)),
            worker("dog", watchdog: .seconds(5)),
            worker("plain", instances: 2),
        ])
        Self.check(h, "before start")
        _ = h.spawnAll(h.startAll(), .zero)
        Self.check(h, "spawned")
        _ = h.notify("api:0", .ready, .seconds(1))
        _ = h.notify("api:1", .ready, .seconds(1))
        Self.check(h, "two of three ready")
        _ = h.died("plain:1", .signal(11), .seconds(2))
        Self.check(h, "plain:1 crashed: backoff")
        _ = h.tick(.seconds(3))
        Self.check(h, "backoff over")
        for second in 4...20 {
            _ = h.spawnAll(h.tick(.seconds(Int64(second))), .seconds(Int64(second)))
            Self.check(h, "tick at \(second)s")
        }
        _ = h.died("dog:0", .exit(1), .seconds(21))
        _ = h.spawnAll(h.tick(.seconds(30)), .seconds(30))
        Self.check(h, "after the watchdog and api:2's start timeout played out")
        _ = h.spawnAll(h.tick(.seconds(200)), .seconds(200))
        Self.check(h, "much later: restarts settled")
    }

    @Test("due instances are handled in config order, not in the order of the index")
    func dueInConfigOrder() {
        var h = Harness([worker("a", instances: 4), worker("b", instances: 4)])
        _ = h.spawnAll(h.startAll(), .zero)
        for id in ["b:3", "a:2", "b:0", "a:0", "a:3", "b:1"] {
            _ = h.died(id, .exit(1), .seconds(1))
        }
        let restarted = spawnedIDs(h.tick(.seconds(2)))
        #expect(restarted == ["a:0", "a:2", "a:3", "b:0", "b:1", "b:3"])
    }
}
