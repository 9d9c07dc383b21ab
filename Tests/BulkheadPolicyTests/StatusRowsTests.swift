import Testing
@testable import BulkheadPolicy

/// The daemon keeps status rows (StatusView) fed by what policy reports changed.
@Suite("Status rows")
struct StatusRowsTests {
    /// The snapshots and order of the previous check, to see what changed since.
    final class Seen {
        var rows: [InstanceID: InstanceSnapshot] = [:]
        var order: [InstanceID] = []
    }

    /// Policy keeps no rows: the daemon keeps them and refreshes the instances policy reports
    /// changed (`takeChanges`). So no instance may change without being reported, and an order
    /// change (a reload) must be reported too; a miss would leave a stale row in `status`.
    static func check(_ h: inout Harness, _ seen: Seen, _ when: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let changes = h.sup.takeChanges()
        let fresh = h.sup.snapshot()
        let order = fresh.map(\.id)
        if order != seen.order {
            #expect(changes.orderChanged, "\(when): the order changed unreported", sourceLocation: sourceLocation)
        } else if !changes.orderChanged {
            for row in fresh where seen.rows[row.id] != row {
                #expect(changes.instances.contains(row.id), "\(when): \(row.id) changed unreported", sourceLocation: sourceLocation)
            }
        }
        for row in fresh {
            #expect(h.sup.snapshot(of: row.id) == row, "\(when): \(row.id)", sourceLocation: sourceLocation)
        }
        seen.rows = Dictionary(uniqueKeysWithValues: fresh.map { ($0.id, $0) })
        seen.order = order
    }

    @Test("rows follow starts, readiness, status texts, deaths, backoff, stops and resets")
    func rowsFollowEveryEvent() {
        var h = Harness([
            worker("api", instances: 3, ready: .notify, startTimeout: .seconds(10)),
            worker("job", instances: 2),
        ])
        let seen = Seen()
        Self.check(&h, seen, "before start")
        _ = h.spawnAll(h.startAll(), .zero)
        Self.check(&h, seen, "spawned")
        _ = h.notify("api:0", .ready, .seconds(1))
        _ = h.notify("api:1", .status("warming up"), .seconds(1))
        Self.check(&h, seen, "one ready, one with a status text")
        _ = h.notify("api:1", .status("warming up"), .seconds(1))
        Self.check(&h, seen, "the same status text again")
        _ = h.died("job:1", .signal(11), .seconds(2))
        Self.check(&h, seen, "job:1 crashed")
        for second in 3...15 {
            _ = h.spawnAll(h.tick(.seconds(Int64(second))), .seconds(Int64(second)))
            Self.check(&h, seen, "tick at \(second)s")
        }
        _ = h.spawnAll(h.sup.stop([iid("job:0")], at(.seconds(16))).actions, .seconds(16))
        Self.check(&h, seen, "job:0 stopping")
        _ = h.died("job:0", .signal(15), .seconds(17))
        Self.check(&h, seen, "job:0 stopped")
        _ = h.spawnAll(h.sup.start([iid("job:0")], at(.seconds(18))).actions, .seconds(18))
        Self.check(&h, seen, "job:0 started again")
        _ = h.sup.reset([iid("api:2")], at(.seconds(19)))
        Self.check(&h, seen, "reset")
    }

    @Test("a reload that adds, scales, removes and re-adds keeps rows in config order")
    func rowsFollowReloads() {
        var h = Harness([worker("a", instances: 2), worker("b"), worker("c", instances: 3)])
        let seen = Seen()
        h.bringUp()
        Self.check(&h, seen, "up")
        var (actions, _) = h.sup.reload(SupervisorConfig(workers: [
            worker("a", instances: 3), worker("c", instances: 1), worker("d", instances: 2),
        ]), at(.seconds(1)))
        _ = h.spawnAll(actions, .seconds(1))
        Self.check(&h, seen, "a scaled up, b removed, c scaled down, d added")
        for id in ["b:0", "c:1", "c:2"] { _ = h.died(id, .signal(15), .seconds(2)) }
        Self.check(&h, seen, "the removed ones exited and were forgotten")
        #expect(h.sup.snapshot().map(\.id.description) == ["a:0", "a:1", "a:2", "c:0", "d:0", "d:1"])
        (actions, _) = h.sup.reload(SupervisorConfig(workers: [worker("b"), worker("a", instances: 3)]), at(.seconds(3)))
        _ = h.spawnAll(actions, .seconds(3))
        Self.check(&h, seen, "b back, c and d leaving")
    }
}
