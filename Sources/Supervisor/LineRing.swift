/// The last lines of one instance, bounded by count and bytes: the stderr tail of a crash report
/// and the buffer behind `bulkhead logs`. Appending copies bytes into a fixed ring; nothing is
/// allocated per line, so a flooding worker costs memcpy, not malloc.
///
/// Bytes are written in age order around the ring, so the oldest live line is always the first
/// one at or after the write position: making room only ever drops from the oldest end.
struct LineRing {
    struct Line: Equatable {
        var stream: OutputStream
        var wallNanoseconds: Int64
        var text: String
    }

    private struct Record {
        var offset: Int
        var length: Int
        var stream: OutputStream
        var wallNanoseconds: Int64
    }

    let maxLines: Int
    private let byteCapacity: Int
    private var bytes: [UInt8] = []
    private var records: [Record] = []
    private var first = 0
    private(set) var count = 0
    private var writeOffset = 0
    /// Every line ever appended (cursor for following).
    private(set) var totalAppended: UInt64 = 0

    init(maxLines: Int, maxBytes: Int) {
        self.maxLines = max(1, maxLines)
        self.byteCapacity = max(1024, maxBytes)
    }

    mutating func append(_ line: UnsafeRawBufferPointer, stream: OutputStream, wallNanoseconds: Int64) {
        if bytes.isEmpty {
            // Allocated on first use: an instance that never prints costs nothing.
            bytes = [UInt8](repeating: 0, count: byteCapacity)
            records = [Record](repeating: Record(offset: 0, length: 0, stream: .stdout, wallNanoseconds: 0), count: maxLines)
        }
        let length = min(line.count, byteCapacity / 4)
        // An empty line still takes one byte of the ring, so every line has a place of its own:
        // otherwise the next line starts where an empty one lies and, finding it the oldest
        // overlapping record, drops it (a tail's leading blank line vanished that way).
        let footprint = max(length, 1)
        if writeOffset + footprint > byteCapacity {
            // Wrap: the lines in the skipped tail are the oldest; drop them first.
            while count > 0 && records[first].offset >= writeOffset { dropOldest() }
            writeOffset = 0
        }
        let start = writeOffset
        let end = start + footprint
        while count > 0 {
            let oldest = records[first]
            let overlaps = oldest.offset < end && oldest.offset + max(oldest.length, 1) > start
            if count == maxLines || overlaps { dropOldest() } else { break }
        }
        if length > 0, let source = line.baseAddress {
            bytes.withUnsafeMutableBytes { ($0.baseAddress! + start).copyMemory(from: source, byteCount: length) }
        }
        writeOffset = end
        records[(first + count) % maxLines] = Record(offset: start, length: length, stream: stream, wallNanoseconds: wallNanoseconds)
        count += 1
        totalAppended += 1
    }

    private mutating func dropOldest() {
        first = (first + 1) % maxLines
        count -= 1
    }

    /// Every line of `batch`, in order (one exclusive access for the lot).
    /// Only the last `maxLines` of a big batch can survive it, so only those are copied.
    mutating func append(_ batch: LineBatch, stream: OutputStream, wallNanoseconds: Int64) {
        let skip = batch.count - maxLines
        if skip > 0 { totalAppended += UInt64(skip) }
        batch.forEach(from: max(0, skip)) { append($0, stream: stream, wallNanoseconds: wallNanoseconds) }
    }

    /// The newest `limit` lines, oldest first (optionally of one stream only).
    func lines(last limit: Int, stream: OutputStream? = nil) -> [Line] {
        var out: [Line] = []
        var index = count - 1
        while index >= 0 && out.count < limit {
            let r = records[(first + index) % maxLines]
            if stream == nil || r.stream == stream {
                let text = bytes.withUnsafeBytes { String(decoding: $0[r.offset..<(r.offset + r.length)], as: UTF8.self) }
                out.append(Line(stream: r.stream, wallNanoseconds: r.wallNanoseconds, text: text))
            }
            index -= 1
        }
        return out.reversed()
    }

    // MARK: - By sequence number: line n is the n-th ever appended (0-based), so a reader can
    // walk forward while lines are appended and tell when one it wanted has been dropped.

    /// The oldest line still held.
    var firstSequence: UInt64 { totalAppended - UInt64(count) }

    /// When line `sequence` was read, or nil once it is gone (or not yet written).
    func wallNanoseconds(at sequence: UInt64) -> Int64? {
        record(at: sequence)?.wallNanoseconds
    }

    /// Line `sequence`'s stream and bytes, handed to `body` in place; nil once it is gone.
    func withLine<R>(at sequence: UInt64, _ body: (OutputStream, Int64, UnsafeRawBufferPointer) -> R) -> R? {
        guard let r = record(at: sequence) else { return nil }
        return bytes.withUnsafeBytes { body(r.stream, r.wallNanoseconds, UnsafeRawBufferPointer(rebasing: $0[r.offset..<(r.offset + r.length)])) }
    }

    private func record(at sequence: UInt64) -> Record? {
        guard sequence >= firstSequence, sequence < totalAppended else { return nil }
        return records[(first + Int(sequence - firstSequence)) % maxLines]
    }

    /// Lines appended after cursor `seen` (a previous `totalAppended`), oldest first.
    func lines(after seen: UInt64) -> [Line] {
        guard totalAppended > seen else { return [] }
        return lines(last: Int(min(totalAppended - seen, UInt64(count))))
    }

    mutating func removeAll() {
        first = 0
        count = 0
        writeOffset = 0
    }
}

enum OutputStream: String, Equatable, Sendable {
    case stdout
    case stderr
}
