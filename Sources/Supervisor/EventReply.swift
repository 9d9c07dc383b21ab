import BulkheadControl
import BulkheadPolicy

/// `events`: the history (from `since`), as one JSON reply made a chunk at a time, then with
/// `follow` every later event as a line of its own (docs/CONTROL.md). It reads the daemon's
/// `EventHistory` by sequence number: a follower that reads slowly holds one chunk, and when
/// the ring moves past it, it is told how many it lost (`{"event":"lost","events":N}`) and goes
/// on from the oldest event still held. The loop never waits for a reader.
final class EventReply: ReplySource {
    private enum Phase { case backlog, following, finished }

    private let history: EventHistory
    private var next: UInt64
    /// The backlog ends before this event (the stream's end when the request came).
    private let end: UInt64
    /// Workers and instances asked for (empty: every event, the daemon's own included).
    private let workers: Set<String>
    private let instances: Set<InstanceID>
    private let follow: Bool
    private let suffix: [UInt8]
    private var phase = Phase.backlog
    private var wroteFirst = false
    private var lost: UInt64 = 0

    init(history: EventHistory, from first: UInt64, workers: Set<String>, instances: Set<InstanceID>, follow: Bool, suffix: [UInt8]) {
        self.history = history
        next = max(first, history.firstSequence)
        end = history.nextSequence
        self.workers = workers
        self.instances = instances
        self.follow = follow
        self.suffix = suffix
    }

    func wants(_ record: EventRecord) -> Bool {
        if workers.isEmpty && instances.isEmpty { return true }
        if let instance = record.event.instance, instances.contains(instance) || workers.contains(instance.worker) { return true }
        return record.event.instance == nil && record.worker.map(workers.contains) == true
    }

    func refill(into output: inout [UInt8]) -> ReplyProgress {
        switch phase {
        case .backlog:
            var w = CompactWriter(capacity: ReplyChunk.bytes + 1024)
            let finished = write(&w, upTo: end, asEvents: false)
            if finished {
                w.raw(suffix)
                phase = follow ? .following : .finished
            }
            output += w.bytes
            return finished && !follow ? .done : .more
        case .following:
            var w = CompactWriter(capacity: ReplyChunk.bytes + 1024)
            let caughtUp = write(&w, upTo: nil, asEvents: true)
            output += w.bytes
            return caughtUp && output.isEmpty ? .idle : .more
        case .finished:
            return .done
        }
    }

    func close() {
        phase = .finished
    }

    /// Writes events until a chunk is full; true when it reached `limit` (nil: the stream's end).
    private func write(_ w: inout CompactWriter, upTo limit: UInt64?, asEvents: Bool) -> Bool {
        if next < history.firstSequence {
            let missed = history.firstSequence - next
            history.readerLost(missed)
            if asEvents { lost += missed }
            next = history.firstSequence
        }
        if lost > 0 && asEvents {
            w.raw("{\"v\":1,\"event\":\"lost\",\"events\":")
            w.int(Int64(clamping: lost))
            w.raw("}\n")
            lost = 0
        }
        let stop = limit ?? history.nextSequence
        while next < stop {
            if w.count >= ReplyChunk.bytes { return false }
            defer { next += 1 }
            guard let record = history.record(next), wants(record) else { continue }
            if asEvents {
                w.raw("{\"v\":1,\"event\":\"event\",\"record\":")
            } else if wroteFirst {
                w.byte(0x2C)
            }
            wroteFirst = true
            EventJSON.write(record, into: &w)
            if asEvents { w.raw("}\n") }
        }
        return true
    }
}
