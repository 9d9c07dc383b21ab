import Testing
@testable import BulkheadPolicy

/// `snapshot()` hands out the rows `store` keeps instead of building them per request. They
/// must always equal fresh snapshots of every instance in config order, and a row's revision
/// must change exactly when the row does (the daemon's status cache keys on it: a revision
/// that stayed while the row changed would serve stale bytes).
@Suite("Status rows")
struct StatusRowsTests {
    /// Revisions of the previous check, to see which rows changed since.
    final class Seen {
        var rows: [InstanceID: InstanceSnapshot] = [:]
        var revisions = Set<UInt64>()
    }

    static func check(_ h: Harness, _ seen: Seen, _ when: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let fresh = h.sup.order.compactMap { h.sup.instances[$0].map(h.sup.snapshot) }
        let kept = h.sup.snapshot()
        #expect(kept.count == fresh.count, "\(when)", sourceLocation: sourceLocation)
        for (row, expected) in zip(kept, fresh) {
            var unstamped = row
            unstamped.revision = 0
            #expect(unstamped == expected, "\(when): \(row.id)", sourceLocation: sourceLocation)
            #expect(h.sup.snapshot(of: row.id) == row, "\(when): \(row.id)", sourceLocation: sourceLocation)
            if let before = seen.rows[row.id] {
                var old = before
                old.revision = row.revision
                if old == row {
                    #expect(before.revision == row.revision, "\(when): \(row.id) unchanged, new revision", sourceLocation: sourceLocation)
                } else {
                    #expect(before.revision != row.revision, "\(when): \(row.id) changed, same revision", sourceLocation: sourceLocation)
                }
            }
            if seen.rows[row.id]?.revision != row.revision {
                #expect(seen.revisions.insert(row.revision).inserted, "\(when): revision \(row.revision) reused", sourceLocation: sourceLocation)
            }
        }
        seen.rows = Dictionary(uniqueKeysWithValues: kept.map { ($0.id, $0) })
    }

    @Test("rows follow starts, readiness, status texts, deaths, backoff, stops and resets")
    func rowsFollowEveryEvent() {
        var h = Harness([
            worker("api", instances: 3, ready: .notify, startTimeout: .seconds(10)),
            worker("job", instances: 2),
        ])
        let seen = Seen()
        Self.check(h, seen, "before start")
        _ = h.spawnAll(h.startAll(), .zero)
        Self.check(h, seen, "spawned")
        _ = h.notify("api:0", .ready, .seconds(1))
        _ = h.notify("api:1", .status("warming up"), .seconds(1))
        Self.check(h, seen, "one ready, one with a status text")
        _ = h.notify("api:1", .status("warming up"), .seconds(1))
        Self.check(h, seen, "the same status text again")
        _ = h.died("job:1", .signal(11), .seconds(2))
        Self.check(h, seen, "job:1 crashed")
        for second in 3...15 {
            _ = h.spawnAll(h.tick(.seconds(Int64(second))), .seconds(Int64(second)))
            Self.check(h, seen, "tick at \(second)s")
        }
        _ = h.spawnAll(h.sup.stop([iid("job:0")], at(.seconds(16))).actions, .seconds(16))
        Self.check(h, seen, "job:0 stopping")
        _ = h.died("job:0", .signal(15), .seconds(17))
        Self.check(h, seen, "job:0 stopped")
        _ = h.spawnAll(h.sup.start([iid("job:0")], at(.seconds(18))).actions, .seconds(18))
        Self.check(h, seen, "job:0 started again")
        _ = h.sup.reset([iid("api:2")], at(.seconds(19)))
        Self.check(h, seen, "reset")
    }

    @Test("a reload that adds, scales, removes and re-adds keeps rows in config order")
    func rowsFollowReloads() {
        var h = Harness([worker("a", instances: 2), worker("b"), worker("c", instances: 3)])
        let seen = Seen()
        h.bringUp()
        Self.check(h, seen, "up")
        var (actions, _) = h.sup.reload(SupervisorConfig(workers: [
            worker("a", instances: 3), worker("c", instances: 1), worker("d", instances: 2),
        ]), at(.seconds(1)))
        _ = h.spawnAll(actions, .seconds(1))
        Self.check(h, seen, "a scaled up, b removed, c scaled down, d added")
        for id in ["b:0", "c:1", "c:2"] { _ = h.died(id, .signal(15), .seconds(2)) }
        Self.check(h, seen, "the removed ones exited and were forgotten")
        #expect(h.sup.snapshot().map(\.id.description) == ["a:0", "a:1", "a:2", "c:0", "d:0", "d:1"])
        (actions, _) = h.sup.reload(SupervisorConfig(workers: [worker("b"), worker("a", instances: 3)]), at(.seconds(3)))
        _ = h.spawnAll(actions, .seconds(3))
        Self.check(h, seen, "b back, c and d leaving")
    }
}
