/// Whether JSON text fed piece by piece has closed every `{` and `[` it opened, strings and
/// escapes taken into account: where a report cut into lines ends.
struct JSONBalance {
    private var depth = 0
    private var opened = false
    private var inString = false
    private var escaped = false

    var isClosed: Bool { opened && depth <= 0 }

    mutating func feed(_ text: String) {
        for byte in text.utf8 {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                opened = true
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
    }
}
