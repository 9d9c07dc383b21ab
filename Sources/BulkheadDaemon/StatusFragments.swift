import BulkheadPolicy

/// Each instance's part of the status document, kept between requests. A thousand-instance
/// document is rebuilt on every `status`, but an instance changes only when something happens
/// to it; of its fields only `uptime_ms` and `next_attempt_in_ms` move with the clock. So the
/// bytes around those two are reused until the instance's snapshot changes, and a request
/// writes two numbers and three copies per instance instead of twenty fields.
final class StatusFragments {
    struct Parts {
        var head: [UInt8]
        var middle: [UInt8]
        var tail: [UInt8]
    }

    /// Everything the parts are made of, but the clock.
    private struct Key: Equatable {
        var snapshot: InstanceSnapshot
        var rejected: Int
        /// The wall clock's offset from the monotonic one, in ms: `started_at` is written in
        /// wall time, so a stepped clock rebuilds it.
        var wallOffsetMilliseconds: Int64

        init(_ s: InstanceSnapshot, rejected: Int, wallOffsetMilliseconds: Int64) {
            snapshot = s
            // A pending attempt matters to the parts only as "a number or null".
            snapshot.nextAttemptAt = s.nextAttemptAt.map { _ in Instant(nanoseconds: 0) }
            self.rejected = rejected
            self.wallOffsetMilliseconds = wallOffsetMilliseconds
        }
    }

    private var cache: [InstanceID: (key: Key, parts: Parts)] = [:]

    func parts(for s: InstanceSnapshot, rejected: Int, wallOffsetMilliseconds: Int64, build: () -> Parts) -> Parts {
        let key = Key(s, rejected: rejected, wallOffsetMilliseconds: wallOffsetMilliseconds)
        if let hit = cache[s.id], hit.key == key { return hit.parts }
        let parts = build()
        cache[s.id] = (key, parts)
        return parts
    }

    /// Instances removed by reloads leave entries behind; start over when they pile up.
    func evictIfLarger(than limit: Int) {
        if cache.count > limit { cache.removeAll(keepingCapacity: true) }
    }
}
