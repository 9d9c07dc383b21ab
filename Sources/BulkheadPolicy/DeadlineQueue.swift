/// The instances whose phase has a deadline, earliest first: a binary min-heap with each
/// instance's position, so setting, moving or clearing one deadline is O(log n) and the earliest
/// is O(1). With 10,000 instances each holding a watchdog or a start timeout, a scan per loop
/// turn (or per `tick`) would be the supervisor's main cost.
struct DeadlineQueue: Sendable {
    private var heap: [(at: Instant, id: InstanceID)] = []
    private var position: [InstanceID: Int] = [:]

    var earliest: Instant? { heap.first?.at }
    var count: Int { heap.count }
    var ids: Set<InstanceID> { Set(position.keys) }

    func deadline(of id: InstanceID) -> Instant? {
        position[id].map { heap[$0].at }
    }

    /// Sets, moves or (nil) clears `id`'s deadline.
    mutating func set(_ id: InstanceID, _ at: Instant?) {
        guard let at else {
            remove(id)
            return
        }
        if let index = position[id] {
            let before = heap[index].at
            guard before != at else { return }
            heap[index].at = at
            if at < before { siftUp(index) } else { siftDown(index) }
        } else {
            heap.append((at, id))
            position[id] = heap.count - 1
            siftUp(heap.count - 1)
        }
    }

    mutating func remove(_ id: InstanceID) {
        guard let index = position.removeValue(forKey: id) else { return }
        let last = heap.count - 1
        if index != last {
            heap[index] = heap[last]
            position[heap[index].id] = index
        }
        heap.removeLast()
        if index < heap.count {
            siftUp(index)
            siftDown(index)
        }
    }

    /// Takes every instance due at `now` out of the queue (their deadlines come back as their
    /// phases are stored again).
    mutating func takeDue(_ now: Instant) -> [InstanceID] {
        var due: [InstanceID] = []
        while let first = heap.first, first.at <= now {
            due.append(first.id)
            remove(first.id)
        }
        return due
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].at < heap[parent].at else { return }
            swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            let right = left + 1
            let smaller = right < heap.count && heap[right].at < heap[left].at ? right : left
            guard heap[smaller].at < heap[parent].at else { return }
            swapAt(parent, smaller)
            parent = smaller
        }
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        position[heap[a].id] = a
        position[heap[b].id] = b
    }
}
