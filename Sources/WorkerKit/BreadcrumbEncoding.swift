import CLinux

/// How a breadcrumb becomes the text of one ring entry:
///
///     message key1=value1 key2="value with spaces"
///
/// The message comes first, then the fields sorted by key (byte order), each as `key=value`
/// with the quoting rules of `LineText`. An entry holds at most `BH_CRUMB_TEXT` (232) bytes;
/// longer text is cut on a UTF-8 boundary and ends in `…`, so a reader always gets valid UTF-8
/// and can tell that something was cut.
public enum BreadcrumbEncoding {
    /// Bytes of text one ring entry holds (`BH_CRUMB_TEXT`).
    public static let capacity = Int(BH_CRUMB_TEXT)

    /// The entry text for a breadcrumb, as it would be written into the ring.
    public static func encode(_ message: String, _ fields: [String: String] = [:]) -> String {
        withEncoded(message, fields) { bytes in
            String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Encodes into a stack buffer and hands the bytes to `body`; no heap allocation for a
    /// message without fields.
    static func withEncoded<R>(_ message: String, _ fields: [String: String], _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: capacity, alignment: 1) { buffer in
            var sink = FixedLine(buffer: buffer)
            var complete = LineText.appendText(message, to: &sink)
            if complete && !fields.isEmpty {
                for key in fields.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                    complete = sink.append(byte: UInt8(ascii: " "))
                        && LineText.appendField(key: key, value: fields[key] ?? "", to: &sink)
                    if !complete { break }
                }
            }
            if !complete { sink.markCut() }
            return body(UnsafeRawBufferPointer(rebasing: buffer[0..<sink.count]))
        }
    }
}

/// A fixed-size buffer that refuses units that do not fit.
struct FixedLine: LineSink {
    let buffer: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    mutating func append(bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count <= buffer.count - count else { return false }
        if let source = bytes.baseAddress, !bytes.isEmpty {
            (buffer.baseAddress! + count).copyMemory(from: source, byteCount: bytes.count)
        }
        count += bytes.count
        return true
    }

    /// Makes room for `…` (3 bytes) and appends it. Units are appended whole, so stepping back
    /// over continuation bytes lands on the start of a scalar.
    mutating func markCut() {
        let ellipsis: StaticString = "…"
        let room = buffer.count - ellipsis.utf8CodeUnitCount
        while count > room {
            count -= 1
            while count > 0 && buffer[count] & 0xC0 == 0x80 {
                count -= 1
            }
        }
        _ = append(ascii: ellipsis)
    }
}
