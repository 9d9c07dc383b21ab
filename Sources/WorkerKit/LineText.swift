/// The one-line text rules shared by log lines and breadcrumbs, so a record never spans lines
/// and `key=value` pairs can be split again by a reader:
///
/// - free text (a message): kept as is, except control characters, which are escaped
///   (`\n`, `\r`, `\t`, and `\xHH` for the other C0 controls and DEL);
/// - a key: characters outside `[A-Za-z0-9_.-]` become `_`; an empty key is `_`;
/// - a value: written bare when it is non-empty and holds no space, `"`, `=`, `\` or control
///   character; otherwise in double quotes with `\"`, `\\` and the control escapes above.
///
/// Every unit (a scalar or an escape) is appended whole or not at all, so a sink that runs out
/// of room never ends in half a UTF-8 sequence.
enum LineText {
    static func appendText(_ text: String, to sink: inout some LineSink) -> Bool {
        for scalar in text.unicodeScalars {
            guard appendScalar(scalar, quoted: false, to: &sink) else { return false }
        }
        return true
    }

    static func appendKey(_ key: String, to sink: inout some LineSink) -> Bool {
        if key.isEmpty { return sink.append(byte: UInt8(ascii: "_")) }
        for scalar in key.unicodeScalars {
            let byte = isKeyCharacter(scalar) ? UInt8(scalar.value) : UInt8(ascii: "_")
            guard sink.append(byte: byte) else { return false }
        }
        return true
    }

    static func appendValue(_ value: String, to sink: inout some LineSink) -> Bool {
        guard needsQuotes(value) else { return appendText(value, to: &sink) }
        guard sink.append(byte: UInt8(ascii: "\"")) else { return false }
        for scalar in value.unicodeScalars {
            guard appendScalar(scalar, quoted: true, to: &sink) else { return false }
        }
        return sink.append(byte: UInt8(ascii: "\""))
    }

    /// `key=value`, as one unit of meaning (pieces may still be cut by a full sink).
    static func appendField(key: String, value: String, to sink: inout some LineSink) -> Bool {
        appendKey(key, to: &sink) && sink.append(byte: UInt8(ascii: "=")) && appendValue(value, to: &sink)
    }

    static func needsQuotes(_ value: String) -> Bool {
        if value.isEmpty { return true }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\""), UInt8(ascii: "="), UInt8(ascii: "\\"), 0x7F:
                return true
            case 0..<0x20:
                return true
            default:
                continue
            }
        }
        return false
    }

    private static func isKeyCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", ".", "-": true
        default: false
        }
    }

    private static func appendScalar(_ scalar: Unicode.Scalar, quoted: Bool, to sink: inout some LineSink) -> Bool {
        switch scalar.value {
        case 0x0A: return sink.append(ascii: "\\n")
        case 0x0D: return sink.append(ascii: "\\r")
        case 0x09: return sink.append(ascii: "\\t")
        case 0..<0x20, 0x7F: return appendHexEscape(UInt8(scalar.value), to: &sink)
        case 0x22 where quoted: return sink.append(ascii: "\\\"")
        case 0x5C where quoted: return sink.append(ascii: "\\\\")
        default:
            var buffer: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
            return withUnsafeMutableBytes(of: &buffer) { bytes in
                var count = 0
                UTF8.encode(scalar) { unit in
                    bytes[count] = unit
                    count += 1
                }
                return sink.append(bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
            }
        }
    }

    /// `\xHH`, built on the stack: breadcrumbs are written on hot paths.
    private static func appendHexEscape(_ byte: UInt8, to sink: inout some LineSink) -> Bool {
        let digits: StaticString = "0123456789abcdef"
        var escape: (UInt8, UInt8, UInt8, UInt8) = (
            UInt8(ascii: "\\"), UInt8(ascii: "x"),
            digits.utf8Start[Int(byte >> 4)], digits.utf8Start[Int(byte & 0x0F)]
        )
        return withUnsafeBytes(of: &escape) { sink.append(bytes: $0) }
    }
}

/// Where `LineText` appends bytes. `append` returns false, appending nothing, when the unit does
/// not fit.
protocol LineSink {
    mutating func append(bytes: UnsafeRawBufferPointer) -> Bool
}

extension LineSink {
    mutating func append(byte: UInt8) -> Bool {
        withUnsafeBytes(of: byte) { append(bytes: $0) }
    }

    mutating func append(ascii: StaticString) -> Bool {
        append(bytes: UnsafeRawBufferPointer(start: ascii.utf8Start, count: ascii.utf8CodeUnitCount))
    }
}

/// A growing byte array: never full.
struct GrowingLine: LineSink {
    var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 128) {
        bytes.reserveCapacity(capacity)
    }

    mutating func append(bytes other: UnsafeRawBufferPointer) -> Bool {
        bytes.append(contentsOf: other)
        return true
    }
}
