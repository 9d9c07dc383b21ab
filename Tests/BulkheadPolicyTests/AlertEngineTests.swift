import Testing
@testable import BulkheadPolicy

/// Alert rules (SPEC §11): fire once when they begin to hold, clear once when they stop; rates
/// over a sliding window, states from the events that enter and leave them.
@Suite("Alert rules")
struct AlertEngineTests {
    static func firing(_ transitions: [AlertEngine.Transition]) -> [String] {
        transitions.map { "\($0.rule) \($0.firing ? "firing" : "cleared")" }
    }

    static func crash(_ engine: inout AlertEngine, _ id: String, _ time: Duration) -> [String] {
        firing(engine.observe(.exit, instance: iid(id), deathClass: .crash, command: nil, at(time)))
    }

    @Test("5 crashes of api within 5m: fires on the fifth, once; clears when the oldest leaves the window")
    func rateRule() {
        var engine = AlertEngine(rules: [AlertRule(name: "api-crashing", condition: .rate(.deathClass(.crash), worker: "api", count: 5, within: .seconds(300)))])
        for minute in 0..<4 {
            #expect(Self.crash(&engine, "api:0", .seconds(Int64(minute) * 60)).isEmpty)
        }
        #expect(Self.crash(&engine, "db:0", .seconds(200)).isEmpty, "another worker's crash does not count")
        #expect(engine.observe(.exit, instance: iid("api:1"), deathClass: .transient, command: nil, at(.seconds(210))).isEmpty, "another class does not count")
        #expect(Self.crash(&engine, "api:1", .seconds(240)) == ["api-crashing firing"])
        #expect(Self.crash(&engine, "api:0", .seconds(250)).isEmpty, "already firing: no second alert")
        // The five newest: 60, 120, 180, 240, 250; the window loses 60 at 360.
        #expect(engine.nextDeadline == at(.seconds(360)))
        #expect(Self.firing(engine.tick(at(.seconds(359)))).isEmpty)
        #expect(Self.firing(engine.tick(at(.seconds(360)))) == ["api-crashing cleared"])
        #expect(engine.nextDeadline == nil)
        #expect(Self.firing(engine.tick(at(.seconds(400)))).isEmpty, "cleared once")
    }

    @Test("any quarantine: fires at the quarantined event, clears when the operator clears it")
    func anyQuarantine() {
        var engine = AlertEngine(rules: [AlertRule(name: "quarantine", condition: .state(.quarantined, worker: nil, for: .zero))])
        #expect(Self.firing(engine.observe(.quarantined, instance: iid("db:0"), deathClass: nil, command: nil, at(.seconds(1)))) == ["quarantine firing"])
        #expect(Self.firing(engine.observe(.quarantined, instance: iid("api:0"), deathClass: nil, command: nil, at(.seconds(2)))).isEmpty)
        #expect(Self.firing(engine.observe(.recovered, instance: iid("db:0"), deathClass: nil, command: nil, at(.seconds(3)))).isEmpty, "api:0 still is")
        #expect(Self.firing(engine.observe(.spawn, instance: iid("api:0"), deathClass: nil, command: nil, at(.seconds(4)))) == ["quarantine cleared"])
    }

    @Test("breaker open longer than 10m: half-open tries do not reset the clock; a reset clears it")
    func breakerOpenLonger() {
        var engine = AlertEngine(rules: [AlertRule(name: "stuck", condition: .state(.breakerOpen, worker: "api", for: .seconds(600)))])
        #expect(engine.observe(.breakerOpen, instance: iid("api:0"), deathClass: nil, command: nil, at(.seconds(0))).isEmpty)
        #expect(engine.nextDeadline == at(.seconds(600)))
        // Cooldown over, a half-open try that dies: the breaker opens again.
        #expect(engine.observe(.spawn, instance: iid("api:0"), deathClass: nil, command: nil, at(.seconds(300))).isEmpty)
        #expect(engine.observe(.breakerOpen, instance: iid("api:0"), deathClass: nil, command: nil, at(.seconds(301))).isEmpty)
        #expect(Self.firing(engine.tick(at(.seconds(599)))).isEmpty)
        let fired = engine.tick(at(.seconds(600)))
        #expect(Self.firing(fired) == ["stuck firing"])
        #expect(fired.first?.instance == iid("api:0"))
        #expect(fired.first?.priority == 2, "crit unless the rule says otherwise")
        #expect(Self.firing(engine.observe(.command, instance: iid("api:0"), deathClass: nil, command: "reset", at(.seconds(700)))) == ["stuck cleared"])
    }

    @Test("a reload keeps an unchanged rule's state and clears a firing rule it removed")
    func reconfigure() {
        let rule = AlertRule(name: "q", condition: .state(.failed, worker: nil, for: .zero))
        var engine = AlertEngine(rules: [rule])
        _ = engine.observe(.failed, instance: iid("a:0"), deathClass: nil, command: nil, at(.seconds(1)))
        #expect(engine.firing == ["q"])
        #expect(engine.reconfigure([rule], at(.seconds(2))).isEmpty)
        #expect(engine.firing == ["q"])
        #expect(Self.firing(engine.reconfigure([], at(.seconds(3)))) == ["q cleared"])
        var again = AlertEngine(rules: [rule])
        _ = again.observe(.failed, instance: iid("a:0"), deathClass: nil, command: nil, at(.seconds(1)))
        #expect(Self.firing(again.retain(instances: [], at(.seconds(2)))) == ["q cleared"], "the instance left the config")
    }

    @Test("alert events never feed a rate rule")
    func noFeedback() {
        var engine = AlertEngine(rules: [AlertRule(name: "noisy", condition: .rate(.kind(.alert), worker: nil, count: 1, within: .seconds(60)))])
        #expect(engine.observe(.alert, instance: nil, deathClass: nil, command: nil, at(.zero)).isEmpty)
    }
}
