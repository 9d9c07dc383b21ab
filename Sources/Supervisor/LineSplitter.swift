import Glibc

/// Cuts a byte stream into lines. A line longer than `maxLine` is delivered in pieces of
/// `maxLine` bytes (a worker cannot make us buffer without bound).
struct LineSplitter {
    private var partial: [UInt8] = []
    let maxLine: Int

    init(maxLine: Int) {
        self.maxLine = maxLine
    }

    var hasPartial: Bool { !partial.isEmpty }

    /// The start of a line whose newline has not come yet: a re-exec carries it, so the line
    /// arrives whole in the new image.
    var pendingBytes: [UInt8] {
        get { partial }
        set { partial = Array(newValue.prefix(maxLine)) }
    }

    /// Calls `deliver` for each complete line in `chunk` (without the newline).
    mutating func feed(_ chunk: UnsafeRawBufferPointer, _ deliver: (UnsafeRawBufferPointer) -> Void) {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        var start = 0
        while start < chunk.count {
            let remaining = chunk.count - start
            guard let hit = memchr(base + start, 0x0A, remaining) else {
                appendPartial(UnsafeRawBufferPointer(start: base + start, count: remaining), deliver)
                return
            }
            let end = base.distance(to: UnsafeRawPointer(hit))
            let segment = UnsafeRawBufferPointer(start: base + start, count: end - start)
            if partial.isEmpty {
                if segment.count <= maxLine {
                    deliver(segment)
                } else {
                    appendPartial(segment, deliver)
                    flush(deliver)
                }
            } else {
                appendPartial(segment, deliver)
                flush(deliver)
            }
            start = end + 1
        }
    }

    private mutating func appendPartial(_ bytes: UnsafeRawBufferPointer, _ deliver: (UnsafeRawBufferPointer) -> Void) {
        var rest = bytes[...]
        while partial.count + rest.count > maxLine {
            let take = maxLine - partial.count
            partial.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            flush(deliver)
        }
        partial.append(contentsOf: rest)
    }

    /// Delivers what is left without a newline (end of stream).
    mutating func flush(_ deliver: (UnsafeRawBufferPointer) -> Void) {
        guard !partial.isEmpty else { return }
        partial.withUnsafeBytes { deliver($0) }
        partial.removeAll(keepingCapacity: partial.count <= 4096)
    }
}
