import BulkheadPolicy

/// One supervisor event as the stream keeps it: what policy or the daemon said, the fields the
/// daemon added, when, and its place in the stream.
struct EventRecord {
    var sequence: UInt64
    var wallNanoseconds: Int64
    var event: SupervisorEvent
    var extra: [SupervisorEvent.Field]

    /// The worker it is about: its instance's, else a `WORKER` field (an alert on a worker).
    var worker: String? {
        event.instance?.worker ?? extra.first { $0.name == "WORKER" }?.value
    }

    func field(_ name: String) -> String? {
        extra.first { $0.name == name }?.value ?? event.fields.first { $0.name == name }?.value
    }
}

/// The last `capacity` events, for `bulkhead events --since` and for followers, addressed by
/// sequence number: a follower keeps a number, and the ring moving past it is how it learns it
/// lost events (`lost: N`). Appending never allocates once the ring is full, and a slow reader
/// costs the loop nothing: readers read the ring when they write, never the other way round.
final class EventHistory {
    private var ring: [EventRecord?]
    private var head = 0
    private(set) var count = 0
    /// Sequence number the next event gets (the first is 1).
    private(set) var nextSequence: UInt64 = 1
    /// Events readers missed because the ring moved past them, in all (a metric).
    private(set) var lostByReaders: UInt64 = 0

    func readerLost(_ count: UInt64) {
        lostByReaders &+= count
    }

    init(capacity: Int) {
        ring = Array(repeating: nil, count: max(capacity, 1))
    }

    var capacity: Int { ring.count }

    /// The oldest sequence number still held (== nextSequence when empty).
    var firstSequence: UInt64 { nextSequence - UInt64(count) }

    @discardableResult
    func append(_ event: SupervisorEvent, extra: [SupervisorEvent.Field], wall: Int64) -> EventRecord {
        let record = EventRecord(sequence: nextSequence, wallNanoseconds: wall, event: event, extra: extra)
        ring[(head + count) % ring.count] = record
        if count == ring.count {
            head = (head + 1) % ring.count
        } else {
            count += 1
        }
        nextSequence += 1
        return record
    }

    func record(_ sequence: UInt64) -> EventRecord? {
        guard sequence >= firstSequence, sequence < nextSequence else { return nil }
        return ring[(head + Int(sequence - firstSequence)) % ring.count]
    }

    /// The first sequence number at or after `wall` (events are appended in wall-clock order,
    /// near enough: a clock step back only makes `--since` show a little more).
    func firstSequence(since wall: Int64) -> UInt64 {
        var low = firstSequence
        var high = nextSequence
        while low < high {
            let mid = low + (high - low) / 2
            if (record(mid)?.wallNanoseconds ?? .max) < wall { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// A new capacity (a reload): the newest events are kept.
    func resize(_ capacity: Int) {
        guard capacity != ring.count, capacity > 0 else { return }
        let kept = (max(firstSequence, nextSequence - UInt64(min(count, capacity)))..<nextSequence).compactMap(record)
        ring = Array(repeating: nil, count: capacity)
        head = 0
        count = kept.count
        for (index, record) in kept.enumerated() { ring[index] = record }
    }
}
