/// The lines cut from one read of a worker's pipe, gathered so that the instance's rings and
/// the sink each take them in one call. Per-line calls into class-held state would each pay a
/// dynamic exclusivity check; a batch pays one per chunk (and a flood is millions of lines).
struct LineBatch {
    private(set) var bytes: [UInt8] = []
    /// End offset of each line in `bytes`.
    private(set) var ends: [Int] = []

    init(reserving: Bool = false) {
        if reserving {
            bytes.reserveCapacity(128 << 10)
            ends.reserveCapacity(4096)
        }
    }

    var count: Int { ends.count }
    var isEmpty: Bool { ends.isEmpty }

    mutating func add(_ line: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: line)
        ends.append(bytes.count)
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }

    /// Calls `body` with each line from index `first` on, in order.
    func forEach(from first: Int = 0, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard first < ends.count else { return }
        bytes.withUnsafeBytes { raw in
            var start = first == 0 ? 0 : ends[first - 1]
            for end in ends[first...] {
                body(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                start = end
            }
        }
    }
}
