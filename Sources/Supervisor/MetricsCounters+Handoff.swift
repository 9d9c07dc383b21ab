import BulkheadJSON
import BulkheadPolicy

/// `/metrics`' counters across a re-exec: the new image goes on counting where the old one
/// stopped, so an upgrade is not a counter reset on every dashboard (Prometheus copes with a
/// reset, but `increase()` over it loses what was counted between the last scrape and the
/// exec). Read leniently: a section that is missing (an older image) or malformed starts the
/// counters from zero, as a fresh start would; it never fails the re-exec.
extension MetricsCounters {
    func handoff() -> JSON {
        .object(JSONObject([
            ("instances", .array(instances.map { id, counts in
                .object(JSONObject([
                    ("id", .string(id.description)),
                    ("deaths", .object(JSONObject(counts.deaths.map { ($0.key.rawValue, .int(Int64(clamping: $0.value))) }))),
                    ("restarts", .int(Int64(clamping: counts.restarts))),
                    ("last_exit_code", counts.lastExitCode.map(JSON.int) ?? .null),
                    ("last_death_wall", counts.lastDeathWall.map(JSON.int) ?? .null),
                ]))
            })),
            ("detect_latency", detectLatency.handoff()),
            ("restart_latency", restartLatency.handoff()),
            ("hook_runs", .array(hookRuns.map { key, count in
                .object(JSONObject([("hook", .string(key.hook)), ("result", .string(key.result)), ("count", .int(Int64(clamping: count)))]))
            })),
            ("hook_suppressed", .object(JSONObject(hookSuppressed.map { ($0.key, .int(Int64(clamping: $0.value))) }))),
            ("events", .object(JSONObject(events.map { ($0.key.rawValue, .int(Int64(clamping: $0.value))) }))),
            ("alerts_firing", .array(alertsFiring.sorted().map(JSON.string))),
            ("breaker_open", .array(breakerOpen.map { .string($0.description) })),
        ]))
    }

    /// The counters an earlier image handed over; nil or malformed parts are left at zero.
    mutating func restore(_ section: JSON?) {
        guard let section else { return }
        for item in section["instances"]?.array ?? [] {
            guard let id = item["id"]?.string.flatMap(InstanceID.init(parsing:)) else { continue }
            var counts = PerInstance()
            for member in item["deaths"]?.object?.members ?? [] {
                if let deathClass = DeathClass(rawValue: member.key), let n = Self.count(member.value) { counts.deaths[deathClass] = n }
            }
            counts.restarts = Self.count(item["restarts"]) ?? 0
            counts.lastExitCode = item["last_exit_code"]?.int
            counts.lastDeathWall = item["last_death_wall"]?.int
            instances[id] = counts
        }
        detectLatency.restore(section["detect_latency"])
        restartLatency.restore(section["restart_latency"])
        for item in section["hook_runs"]?.array ?? [] {
            guard let hook = item["hook"]?.string, let result = item["result"]?.string, let n = Self.count(item["count"]) else { continue }
            hookRuns[HookKey(hook: hook, result: result)] = n
        }
        for member in section["hook_suppressed"]?.object?.members ?? [] {
            if let n = Self.count(member.value) { hookSuppressed[member.key] = n }
        }
        for member in section["events"]?.object?.members ?? [] {
            if let kind = EventKind(rawValue: member.key), let n = Self.count(member.value) { events[kind] = n }
        }
        alertsFiring = Set((section["alerts_firing"]?.array ?? []).compactMap(\.string))
        breakerOpen = Set((section["breaker_open"]?.array ?? []).compactMap { $0.string.flatMap(InstanceID.init(parsing:)) })
    }

    private static func count(_ value: JSON?) -> UInt64? {
        value?.int.flatMap { $0 >= 0 ? UInt64($0) : nil }
    }
}

extension LatencyHistogram {
    func handoff() -> JSON {
        .object(JSONObject([
            ("bounds_ns", .array(bounds.map { .int($0.nanoseconds) })),
            ("counts", .array(counts.map { .int(Int64(clamping: $0)) })),
            ("sum_ns", .int(sumNanoseconds)),
        ]))
    }

    /// Taken only whole and only with this image's buckets (they are constants: an image with
    /// other buckets starts from zero rather than mislabel the old counts).
    mutating func restore(_ section: JSON?) {
        guard let values = section?["counts"]?.array, values.count == bounds.count + 1,
              section?["bounds_ns"]?.array?.compactMap(\.int) == bounds.map(\.nanoseconds),
              let sum = section?["sum_ns"]?.int else { return }
        let restored = values.compactMap { $0.int.flatMap { $0 >= 0 ? UInt64($0) : nil } }
        guard restored.count == values.count else { return }
        replace(counts: restored, sumNanoseconds: sum)
    }
}
