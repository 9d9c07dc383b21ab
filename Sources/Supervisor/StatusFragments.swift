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

    /// Everything the parts are made of, but the clock: the snapshot's revision stands for
    /// the snapshot (it changes whenever the snapshot does; see `InstanceSnapshot.revision`).
    private struct Key: Equatable {
        var revision: UInt64
        var rejected: Int
        /// The wall clock's offset from the monotonic one, in ms: `started_at` is written in
        /// wall time, so a stepped clock rebuilds it.
        var wallOffsetMilliseconds: Int64
    }

    /// By the instance's position in the request's list, not by its id: a thousand id
    /// lookups (hashing each worker name) were a fifth of a status request. A revision is
    /// never reused, so an entry found at a position that now holds another instance (a
    /// `status NAME`, a reload) is simply rebuilt.
    private var cache: [(key: Key, parts: Parts)?] = []

    func parts(at position: Int, for s: InstanceSnapshot, rejected: Int, wallOffsetMilliseconds: Int64, build: () -> Parts) -> Parts {
        let key = Key(revision: s.revision, rejected: rejected, wallOffsetMilliseconds: wallOffsetMilliseconds)
        if position < cache.count, let hit = cache[position], hit.key == key { return hit.parts }
        let parts = build()
        if position >= cache.count { cache.append(contentsOf: repeatElement(nil, count: position + 1 - cache.count)) }
        cache[position] = (key, parts)
        return parts
    }

    /// Positions beyond the longest list asked for lately (instances removed by reloads).
    func trim(to count: Int) {
        if cache.count > count { cache.removeLast(cache.count - count) }
    }
}
