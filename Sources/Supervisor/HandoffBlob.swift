import BulkheadJSON

/// The bytes a re-exec hands over besides its JSON (worker output lines, partial lines, a
/// control client's unread request): one buffer, referred to from the JSON as `{"at","len"}`,
/// so that lines are copied, not escaped and parsed.
struct HandoffBlob {
    private(set) var bytes: [UInt8] = []

    init() {}

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Appends `data`; returns the reference to put in the JSON.
    mutating func append(_ data: some Collection<UInt8>) -> JSON {
        let at = bytes.count
        bytes.append(contentsOf: data)
        return .object([("at", .int(Int64(at))), ("len", .int(Int64(data.count)))])
    }

    /// The bytes `reference` names, or nil when it names nothing inside the blob.
    func slice(_ reference: JSON?) -> ArraySlice<UInt8>? {
        guard let at = reference?["at"]?.int, let length = reference?["len"]?.int, at >= 0, length >= 0,
              at <= Int64(bytes.count), length <= Int64(bytes.count) - at else { return nil }
        return bytes[Int(at)..<Int(at + length)]
    }
}

/// Output lines in the blob: per line its stream (1 byte), wall time (8), length (4), bytes.
enum HandoffLines {
    struct Line {
        var stream: OutputStream
        var wallNanoseconds: Int64
        var bytes: ArraySlice<UInt8>
    }

    /// Every line `ring` holds, as the bytes the worker wrote.
    static func encode(_ ring: LineRing, into out: inout [UInt8]) {
        var sequence = ring.firstSequence
        while sequence < ring.totalAppended {
            _ = ring.withLine(at: sequence) { stream, wall, bytes in
                out.append(stream == .stdout ? 1 : 2)
                append(UInt64(bitPattern: wall), bytes: 8, to: &out)
                append(UInt64(bytes.count), bytes: 4, to: &out)
                out.append(contentsOf: bytes)
            }
            sequence += 1
        }
    }

    /// The lines, or nil when the bytes are not lines this wrote.
    static func decode(_ data: ArraySlice<UInt8>) -> [Line]? {
        var lines: [Line] = []
        var index = data.startIndex
        while index < data.endIndex {
            guard data.endIndex - index >= 13, let stream: OutputStream = data[index] == 1 ? .stdout : data[index] == 2 ? .stderr : nil else { return nil }
            let wall = Int64(bitPattern: read(data, at: index + 1, bytes: 8))
            let length = Int(read(data, at: index + 9, bytes: 4))
            let start = index + 13
            guard length <= data.endIndex - start else { return nil }
            lines.append(Line(stream: stream, wallNanoseconds: wall, bytes: data[start..<(start + length)]))
            index = start + length
        }
        return lines
    }

    private static func append(_ value: UInt64, bytes count: Int, to out: inout [UInt8]) {
        for shift in 0..<count { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(shift)))) }
    }

    private static func read(_ data: ArraySlice<UInt8>, at index: Int, bytes count: Int) -> UInt64 {
        var value: UInt64 = 0
        for shift in 0..<count { value |= UInt64(data[index + shift]) << (8 * UInt64(shift)) }
        return value
    }
}
