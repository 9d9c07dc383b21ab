import BulkheadJSON
import BulkheadPolicy
import Testing
@testable import Supervisor

/// `/metrics`' counters handed from one image to the next at a re-exec (through the handoff's
/// JSON text): the new image goes on from the old one's counts; a missing or malformed section
/// starts from zero and never fails the re-exec.
@Suite("metrics counters across a re-exec")
struct MetricsHandoffTests {
    static func counted() -> MetricsCounters {
        var counters = MetricsCounters()
        let api = InstanceID(worker: "api", index: 0)
        for n in 0..<3 {
            let base = UInt64(n) * 10_000_000
            counters.count(SupervisorEvent(.exit, api, pid: 5, priority: 3, message: "x"),
                           extra: [.init("CLASS", n == 2 ? "transient" : "crash"), .init("SIGNAL", "SEGV"), .init("DETECT_LATENCY_US", "40")],
                           now: Instant(nanoseconds: base + 1_000_000), wall: 7_000)
            counters.count(SupervisorEvent(.restart, api, message: "r"), extra: [], now: Instant(nanoseconds: base + 2_000_000), wall: 0)
            counters.count(SupervisorEvent(.spawn, api, message: "s"), extra: [], now: Instant(nanoseconds: base + 3_000_000), wall: 0)
        }
        counters.count(SupervisorEvent(.breakerOpen, api, message: "b"), extra: [], now: Instant(nanoseconds: 90_000_000), wall: 0)
        counters.count(SupervisorEvent(.alert, nil, message: "a"), extra: [.init("ALERT", "api-crashing")], now: Instant(nanoseconds: 0), wall: 0)
        counters.hookFinished("page", result: "ok")
        counters.hookFinished("page", result: "timeout")
        counters.hookSuppressed("page")
        return counters
    }

    /// What the new image reads: the handoff as the text the old one wrote.
    static func throughText(_ json: JSON) throws -> JSON {
        try JSON(parsing: json.encodedBytes())
    }

    @Test func theNewImageGoesOnFromTheOldOnesCounts() throws {
        let old = Self.counted()
        var new = MetricsCounters()
        new.restore(try Self.throughText(old.handoff()))
        let api = InstanceID(worker: "api", index: 0)
        #expect(new.instances[api]?.deaths == [.crash: 2, .transient: 1])
        #expect(new.instances[api]?.restarts == 3)
        let code: Int64? = new.instances[api]?.lastExitCode
        #expect(code == Int64(128 + 11), "\(String(describing: code))")
        #expect(new.instances[api]?.lastDeathWall == 7_000)
        #expect(new.detectLatency == old.detectLatency && new.detectLatency.count == 3)
        #expect(new.restartLatency == old.restartLatency && new.restartLatency.count == 3)
        #expect(new.hookRuns == old.hookRuns && new.hookSuppressed == ["page": 1])
        #expect(new.events == old.events && new.events[.exit] == 3)
        #expect(new.alertsFiring == ["api-crashing"] && new.breakerOpen == [api])
    }

    @Test func nothingOrGarbageStartsFromZero() throws {
        var fresh = MetricsCounters()
        fresh.restore(nil)
        fresh.restore(try JSON(parsing: Array(#"{"instances":[{"id":"no colon"},{"id":"api:0","restarts":-4}],"detect_latency":{"counts":[1,2]},"events":{"nope":3,"exit":"x"}}"#.utf8)))
        #expect(fresh.instances[InstanceID(worker: "api", index: 0)]?.restarts == 0)
        #expect(fresh.instances.count == 1)
        #expect(fresh.detectLatency.count == 0, "a histogram with other buckets is not taken")
        #expect(fresh.events.isEmpty)
    }

    @Test func otherBucketsAreNotTaken() throws {
        let old = Self.counted()
        var section = try Self.throughText(old.handoff())
        guard case .object(var object) = section, case .object(var detect)? = object["detect_latency"] else {
            Issue.record("no detect_latency object")
            return
        }
        detect["bounds_ns"] = .array(LatencyHistogram.detectBuckets.map { .int($0.nanoseconds * 2) })
        object["detect_latency"] = .object(detect)
        section = .object(object)
        var new = MetricsCounters()
        new.restore(section)
        #expect(new.detectLatency.count == 0)
        #expect(new.restartLatency.count == 3)
    }
}
