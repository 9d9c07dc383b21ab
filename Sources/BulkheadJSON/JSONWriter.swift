/// How ``JSON`` text is laid out.
public enum JSONFormat: Sendable {
    /// One line with no whitespace: `{"a":[1,2]}`. Newlines inside strings are escaped, so the
    /// output never holds a raw newline and suits newline-delimited protocols.
    case compact
    /// Two-space indentation, one member or element per line, `": "` after keys, no trailing
    /// newline: the layout of crash report files.
    case pretty
}

extension JSON {
    /// The text of this value in `format`.
    public func encoded(_ format: JSONFormat = .compact) -> String {
        String(decoding: encodedBytes(format), as: UTF8.self)
    }

    /// The UTF-8 text of this value in `format`.
    public func encodedBytes(_ format: JSONFormat = .compact) -> [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes, format: format)
        return bytes
    }

    /// Appends the UTF-8 text of this value in `format` to `buffer`.
    ///
    /// Strings are written as they are (Swift strings are always valid UTF-8) except for `"`, `\`
    /// and the control characters U+0000–U+001F: `\b \f \n \r \t` get their short escapes, the
    /// others `\u00XX`. Doubles are written in the shortest form that parses back to the same
    /// value; NaN and the infinities, which JSON cannot express, are written as `null`.
    public func encode(into buffer: inout [UInt8], format: JSONFormat = .compact) {
        // The sink takes the buffer for the duration, so it stays uniquely referenced and grows
        // in place.
        var sink = ByteSink(appendingTo: buffer)
        buffer = []
        JSONWriter(pretty: format == .pretty).write(self, level: 0, into: &sink)
        buffer = sink.takeOutput()
    }
}

extension JSON: CustomStringConvertible {
    /// The compact text.
    public var description: String { encoded(.compact) }
}

/// Writes values as UTF-8 text.
struct JSONWriter {
    let pretty: Bool

    func write(_ value: borrowing JSON, level: Int, into out: inout ByteSink) {
        switch value {
        case .null:
            out.append("null")
        case .bool(let flag):
            out.append(flag ? "true" : "false")
        case .int(let number):
            if number < 0 { out.append(ASCII.minus) }
            // `magnitude` is a UInt64, so Int64.min needs no special case.
            out.appendDecimal(number.magnitude)
        case .double(let number):
            Self.writeDouble(number, into: &out)
        case .string(let text):
            Self.writeString(text, into: &out)
        case .array(let elements):
            guard !elements.isEmpty else {
                out.append(ASCII.openBracket, ASCII.closeBracket)
                return
            }
            out.append(ASCII.openBracket)
            for index in elements.indices {
                if index > 0 { out.append(ASCII.comma) }
                newline(level: level + 1, into: &out)
                write(elements[index], level: level + 1, into: &out)
            }
            newline(level: level, into: &out)
            out.append(ASCII.closeBracket)
        case .object(let object):
            guard !object.isEmpty else {
                out.append(ASCII.openBrace, ASCII.closeBrace)
                return
            }
            out.append(ASCII.openBrace)
            let members = object.members
            for index in members.indices {
                if index > 0 { out.append(ASCII.comma) }
                newline(level: level + 1, into: &out)
                Self.writeString(members[index].key, into: &out)
                if pretty {
                    out.append(ASCII.colon, ASCII.space)
                } else {
                    out.append(ASCII.colon)
                }
                write(members[index].value, level: level + 1, into: &out)
            }
            newline(level: level, into: &out)
            out.append(ASCII.closeBrace)
        }
    }

    @inline(__always)
    private func newline(level: Int, into out: inout ByteSink) {
        guard pretty else { return }
        out.appendNewline(indentation: 2 * level)
    }

    static func writeDouble(_ number: Double, into out: inout ByteSink) {
        guard number.isFinite else {
            out.append("null")
            return
        }
        if writeShortDecimal(number, into: &out) { return }
        // Swift's `description` is the shortest text that parses back to the same Double
        // (`0.1`, `1e-05`, `1.7976931348623157e+308`); every form it uses is valid JSON, and it
        // writes integral values with a fraction (`1.0`), so they parse back as `.double`.
        var text = number.description
        text.withUTF8 { out.append($0) }
    }

    /// Powers of ten that are exact Doubles.
    private static let powersOfTen: [Double] = [1, 10, 100, 1000, 10000, 100_000, 1_000_000]

    /// Writes `number` as `digits.fraction` when it is n / 10^k for an integer n < 10^15 and k ≤ 6,
    /// with the least such k, and returns whether it did; this covers the common values (0.25,
    /// 12.375, 3.0) at a fraction of the cost of `description`, and prints them as it does.
    ///
    /// Exact: n (< 2^53) and 10^k are exact Doubles and IEEE division rounds correctly, so when
    /// `Double(n) / 10^k == number`, the decimal n·10^-k reads back (correctly rounded) as
    /// `number`; and the least k gives the fewest digits.
    private static func writeShortDecimal(_ number: Double, into out: inout ByteSink) -> Bool {
        let magnitude = number.magnitude
        // Below 1e-4 and from 1e16 up `description` switches to exponents; keep to its layout.
        guard magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e15) else { return false }
        for (scale, power) in powersOfTen.enumerated() {
            let product = magnitude * power
            // Below 10^15 the decimals n·10^-k are further apart than the Double's precision,
            // so at most one of them reads back as `number` and it is the one `description`
            // prints. (With 16 or 17 digits two neighbours can both read back.)
            guard product < 1e15 else { return false }
            // Round to nearest by hand: `rounded()` would call libm. Any error here only fails
            // the exactness check below.
            let digits = UInt64(product + 0.5)
            guard Double(digits) / power == magnitude else { continue }
            let unit = UInt64(power)
            if number.sign == .minus { out.append(ASCII.minus) }
            out.appendDecimal(digits / unit)
            out.append(ASCII.period)
            if scale == 0 {
                out.append(ASCII.zero)
            } else {
                out.appendDecimal(digits % unit, width: scale)
            }
            return true
        }
        return false
    }

    static func writeString(_ text: borrowing String, into out: inout ByteSink) {
        // Native Swift strings are contiguous UTF-8; the copy is for any other kind.
        let written: Void? = text.utf8.withContiguousStorageIfAvailable { out.appendQuoted($0) }
        if written == nil {
            Array(text.utf8).withUnsafeBufferPointer { out.appendQuoted($0) }
        }
    }
}
