import BulkheadControl
import BulkheadPolicy

/// What a control reply is made of after its first bytes: the rest of a file, or lines read
/// from the instances' rings. The connection asks for more only when the client has taken what
/// it had, so a reply costs one chunk of memory however large it is, and producing it is
/// spread over as many loop turns as the client takes to read it.
protocol ReplySource: AnyObject {
    /// Appends the next part (about `ReplyChunk.bytes`) to `output`.
    func refill(into output: inout [UInt8]) -> ReplyProgress
    /// The connection is gone or the daemon stops: release what it holds.
    func close()
}

enum ReplyProgress: Equatable {
    /// More to come at once.
    case more
    /// Nothing to add until something happens (a follower waiting for lines).
    case idle
    /// Everything is appended.
    case done
}

enum ReplyChunk {
    /// What a connection holds of a reply its client has not read: small, since a thousand
    /// stalled clients each hold one.
    static let bytes = 16 << 10
}

/// `logs`: the newest `lines` lines of some instances, interleaved by time, as one JSON reply
/// produced a chunk at a time from the rings themselves (no copy of the backlog is taken), then,
/// with `follow`, every later line as an event. Lines are addressed by their ring sequence
/// numbers, so lines appended meanwhile do not disturb the backlog, and a line the ring dropped
/// before it was sent is skipped (the backlog) or counted in a `dropped` event (following).
final class LogReply: ReplySource {
    private struct Cursor {
        let id: InstanceID
        var slot: InstanceOutput
        /// The next line to send.
        var next: UInt64
        /// The backlog ends before this line (the ring's end when the request came).
        let end: UInt64
    }

    private enum Phase {
        /// Walking back from the ends to find where the newest `remaining` lines start.
        case selecting(remaining: Int)
        case backlog
        case following
        case finished
    }

    private var cursors: [Cursor]
    /// Named instances that had no slot yet (never started): followed once they get one.
    private var waiting: [InstanceID]
    private let lookup: (InstanceID) -> InstanceOutput?
    private var phase: Phase
    private let follow: Bool
    private let suffix: [UInt8]
    private var wroteFirstLine = false
    /// Lines a follower lost (the ring moved past them before it read them), not yet reported.
    private var lost: UInt64 = 0
    private var stamps = TimestampCache()

    /// Backward steps of the selection per refill: a `logs all -n 100000` over a thousand
    /// instances is spread over turns like any other reply.
    static let selectionStepsPerRefill = 8192

    /// - Parameters:
    ///   - ids: the instances in the order they were named (ties in time go to the earlier one).
    ///   - lookup: an instance's slot now (a reload may replace it; one may appear later).
    init(ids: [InstanceID], lookup: @escaping (InstanceID) -> InstanceOutput?, lines: Int, follow: Bool, suffix: [UInt8]) {
        self.lookup = lookup
        cursors = []
        waiting = []
        for id in ids {
            if let slot = lookup(id) {
                cursors.append(Cursor(id: id, slot: slot, next: slot.log.totalAppended, end: slot.log.totalAppended))
            } else {
                waiting.append(id)
            }
        }
        self.follow = follow
        self.suffix = suffix
        if cursors.count == 1 {
            let ring = cursors[0].slot.log
            cursors[0].next = max(ring.firstSequence, ring.totalAppended - min(UInt64(lines), ring.totalAppended))
            phase = .backlog
        } else {
            phase = .selecting(remaining: lines)
        }
    }

    func refill(into output: inout [UInt8]) -> ReplyProgress {
        switch phase {
        case .selecting(let remaining):
            let left = select(remaining)
            phase = left == 0 ? .backlog : .selecting(remaining: left)
            return .more
        case .backlog:
            var w = CompactWriter(capacity: ReplyChunk.bytes + 1024)
            let finished = writeLines(&w, upTo: \.end, asEvents: false)
            if finished {
                w.raw(suffix)
                phase = follow ? .following : .finished
                for index in cursors.indices { cursors[index].next = max(cursors[index].next, cursors[index].end) }
            }
            output += w.bytes
            return finished && !follow ? .done : .more
        case .following:
            refreshSlots()
            var w = CompactWriter(capacity: ReplyChunk.bytes + 1024)
            let caughtUp = writeLines(&w, upTo: nil, asEvents: true)
            if lost > 0 {
                w.raw(ControlProtocol.encodeEvent("dropped", [("lines", .int(Int64(clamping: lost)))]))
                lost = 0
            }
            output += w.bytes
            return caughtUp && output.isEmpty ? .idle : .more
        case .finished:
            return .done
        }
    }

    func close() {
        phase = .finished
        cursors = []
    }

    /// A followed instance that got its first slot, or a new one (removed and added back by a
    /// reload): its lines are read from the start of that slot's ring.
    private func refreshSlots() {
        for index in cursors.indices {
            guard let current = lookup(cursors[index].id), current !== cursors[index].slot else { continue }
            cursors[index] = Cursor(id: cursors[index].id, slot: current, next: current.log.firstSequence, end: 0)
        }
        waiting.removeAll { id in
            guard let slot = lookup(id) else { return false }
            cursors.append(Cursor(id: id, slot: slot, next: slot.log.firstSequence, end: 0))
            return true
        }
    }

    // MARK: - Selection

    /// Moves `next` back, one line at a time from whichever instance has the newest line not
    /// yet taken, at most `selectionStepsPerRefill` times; returns how many are still to take
    /// (0 when done: every instance has no older line, or `remaining` were taken).
    private func select(_ remaining: Int) -> Int {
        var left = remaining
        var steps = 0
        var heap = MaxHeap()
        for (index, cursor) in cursors.enumerated() {
            if let key = key(before: cursor, index) { heap.push(key) }
        }
        while left > 0, steps < Self.selectionStepsPerRefill, let top = heap.pop() {
            cursors[top.index].next -= 1
            left -= 1
            steps += 1
            if let key = key(before: cursors[top.index], top.index) { heap.push(key) }
        }
        return heap.isEmpty ? 0 : left
    }

    /// The line just before `cursor.next`, if the ring still holds it.
    private func key(before cursor: Cursor, _ index: Int) -> HeapKey? {
        guard cursor.next > cursor.slot.log.firstSequence,
              let wall = cursor.slot.log.wallNanoseconds(at: cursor.next - 1) else { return nil }
        return HeapKey(wall: wall, index: index)
    }

    // MARK: - Writing

    /// Writes lines in time order until a chunk is full; true when every cursor reached its
    /// limit (`end`, or with nil the ring's current end).
    private func writeLines(_ w: inout CompactWriter, upTo limit: KeyPath<Cursor, UInt64>?, asEvents: Bool) -> Bool {
        var heap = MinHeap()
        for index in cursors.indices {
            skipDropped(index, counting: asEvents)
            if let key = key(at: cursors[index], index, limit: limit) { heap.push(key) }
        }
        while let top = heap.pop() {
            if w.count >= ReplyChunk.bytes { return false }
            let cursor = cursors[top.index]
            _ = cursor.slot.log.withLine(at: cursor.next) { stream, wall, text in
                if asEvents {
                    w.raw("{\"v\":1,\"event\":\"line\",\"line\":")
                } else if wroteFirstLine {
                    w.raw(",")
                }
                wroteFirstLine = true
                writeLine(&w, instance: cursor.slot.label, stream: stream, wall: wall, text: text)
                if asEvents { w.raw("}\n") }
            }
            cursors[top.index].next += 1
            skipDropped(top.index, counting: asEvents)
            if let key = key(at: cursors[top.index], top.index, limit: limit) { heap.push(key) }
        }
        return true
    }

    /// A cursor the ring has overtaken jumps to the oldest line still held.
    private func skipDropped(_ index: Int, counting: Bool) {
        let first = cursors[index].slot.log.firstSequence
        guard cursors[index].next < first else { return }
        if counting { lost += first - cursors[index].next }
        cursors[index].next = first
    }

    private func key(at cursor: Cursor, _ index: Int, limit: KeyPath<Cursor, UInt64>?) -> HeapKey? {
        let end = limit.map { cursor[keyPath: $0] } ?? cursor.slot.log.totalAppended
        guard cursor.next < end, let wall = cursor.slot.log.wallNanoseconds(at: cursor.next) else { return nil }
        return HeapKey(wall: wall, index: index)
    }

    /// `{"instance":"api:0","stream":"stdout","at":"…","text":"…"}` (docs/CONTROL.md).
    func writeLine(_ w: inout CompactWriter, instance: String, stream: OutputStream, wall: Int64, text: UnsafeRawBufferPointer) {
        w.raw("{\"instance\":")
        w.string(instance)
        w.raw(stream == .stdout ? ",\"stream\":\"stdout\",\"at\":" : ",\"stream\":\"stderr\",\"at\":")
        stamps.write(wall, into: &w)
        w.raw(",\"text\":")
        // Worker bytes need not be UTF-8: invalid sequences become U+FFFD, as before.
        w.string(String(decoding: text, as: UTF8.self))
        w.raw("}")
    }
}

/// Heap entries: a line's time, and which cursor it belongs to (ties: the earlier cursor).
private struct HeapKey {
    var wall: Int64
    var index: Int
}

/// The newest first.
private struct MaxHeap {
    private var items: [HeapKey] = []
    var isEmpty: Bool { items.isEmpty }

    private static func above(_ a: HeapKey, _ b: HeapKey) -> Bool {
        a.wall != b.wall ? a.wall > b.wall : a.index > b.index
    }

    mutating func push(_ key: HeapKey) {
        items.append(key)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.above(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> HeapKey? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < items.count && Self.above(items[left], items[best]) { best = left }
                if right < items.count && Self.above(items[right], items[best]) { best = right }
                if best == parent { break }
                items.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}

/// The oldest first: a max-heap of the keys turned around.
private struct MinHeap {
    private var heap = MaxHeap()

    mutating func push(_ key: HeapKey) {
        heap.push(HeapKey(wall: -key.wall &- 1, index: -key.index &- 1))
    }

    mutating func pop() -> HeapKey? {
        heap.pop().map { HeapKey(wall: -($0.wall &+ 1), index: -($0.index &+ 1)) }
    }
}

/// `"2026-11-29T14:03:27.412Z"` for many lines of the same second: the date and time are
/// formatted once per second (gmtime and twelve digits), the milliseconds per line.
struct TimestampCache {
    private var second: Int64 = .min
    /// `"2026-11-29T14:03:27.` for `second`.
    private var head: [UInt8] = []

    mutating func write(_ wallNanoseconds: Int64, into w: inout CompactWriter) {
        let thisSecond = wallNanoseconds / 1_000_000_000
        if thisSecond != second {
            var full = CompactWriter(capacity: 32)
            full.iso8601(thisSecond * 1_000_000_000)
            head = Array(full.bytes.dropLast(5))   // without `000Z"`
            second = thisSecond
        }
        w.raw(head)
        let millis = Int((wallNanoseconds / 1_000_000) % 1000)
        w.byte(UInt8(millis / 100) + 0x30)
        w.byte(UInt8(millis / 10 % 10) + 0x30)
        w.byte(UInt8(millis % 10) + 0x30)
        w.raw("Z\"")
    }
}
