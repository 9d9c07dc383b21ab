/// The writer's output: bytes gather in a small staging buffer, written through a pointer, and
/// move to the destination array a few kilobytes at a time.
///
/// `Array.append` checks uniqueness on every call, and a growing temporary buffer touches fresh
/// pages on every large write; between them they dominated the writer's time. Every store into
/// the staging buffer is preceded, in the same method, by a check that it fits.
struct ByteSink: ~Copyable {
    /// Where the text ends up; complete after ``takeOutput()``.
    private var output: [UInt8]
    private let staging: UnsafeMutablePointer<UInt8>
    private var staged = 0

    /// The staging size: small enough to stay in cache, large enough that flushes are rare.
    private static let stagingCapacity = 8 << 10

    /// A sink that appends to `output`.
    init(appendingTo output: [UInt8]) {
        self.output = output
        staging = .allocate(capacity: Self.stagingCapacity)
    }

    deinit {
        staging.deallocate()
    }

    /// Everything written, appended to the array the sink started with.
    mutating func takeOutput() -> [UInt8] {
        flush()
        let result = output
        output = []
        return result
    }

    private mutating func flush() {
        output.append(contentsOf: UnsafeBufferPointer(start: staging, count: staged))
        staged = 0
    }

    /// Makes room for `count` bytes in the staging buffer.
    private mutating func reserve(_ count: Int) {
        // Every unchecked store relies on this; callers ask for at most a few kilobytes.
        precondition(count <= Self.stagingCapacity, "ByteSink.reserve beyond the staging buffer")
        if Self.stagingCapacity - staged < count {
            flush()
        }
    }

    mutating func append(_ byte: UInt8) {
        reserve(1)
        staging[staged] = byte
        staged += 1
    }

    mutating func append(_ first: UInt8, _ second: UInt8) {
        reserve(2)
        staging[staged] = first
        staging[staged + 1] = second
        staged += 2
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        let count = bytes.count
        if count <= 16 {
            // A byte loop beats a call to memmove at this size.
            reserve(count)
            for index in 0..<count {
                staging[staged + index] = bytes[index]
            }
            staged += count
        } else if count <= Self.stagingCapacity / 2 {
            reserve(count)
            if let source = bytes.baseAddress {
                (staging + staged).initialize(from: source, count: count)
            }
            staged += count
        } else {
            flush()
            output.append(contentsOf: bytes)
        }
    }

    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }

    /// Appends a newline and `indentation` spaces.
    mutating func appendNewline(indentation: Int) {
        append(ASCII.newline)
        var remaining = indentation
        while remaining > 0 {
            let run = min(remaining, Self.stagingCapacity)
            reserve(run)
            (staging + staged).initialize(repeating: ASCII.space, count: run)
            staged += run
            remaining -= run
        }
    }

    /// "00" through "99": integers are written two digits at a time.
    private static let digitPairs: StaticString = """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """

    /// Appends the decimal digits of `value`, with leading zeros to make at least `width`.
    mutating func appendDecimal(_ value: UInt64, width: Int = 1) {
        let digitCount = Self.decimalDigitCount(value)
        if digitCount < width {
            reserve(width - digitCount)
            for _ in digitCount..<width {
                staging[staged] = ASCII.zero
                staged += 1
            }
        }
        reserve(digitCount)
        let pairs = Self.digitPairs.utf8Start
        var remaining = value
        var offset = staged + digitCount
        while remaining >= 100 {
            let pair = 2 * Int(truncatingIfNeeded: remaining % 100)
            remaining /= 100
            offset -= 2
            staging[offset] = pairs[pair]
            staging[offset + 1] = pairs[pair + 1]
        }
        if remaining >= 10 {
            let pair = 2 * Int(truncatingIfNeeded: remaining)
            staging[offset - 2] = pairs[pair]
            staging[offset - 1] = pairs[pair + 1]
        } else {
            staging[offset - 1] = ASCII.zero &+ UInt8(truncatingIfNeeded: remaining)
        }
        staged += digitCount
    }

    /// For each byte value, "1" when a JSON string must escape it (`"`, `\`, U+0000–U+001F).
    private static let escapeTable: StaticString = """
        1111111111111111111111111111111100100000000000000000000000000000\
        0000000000000000000000000000100000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000
        """

    /// 10^0 through 10^19.
    private static let powersOfTen: [UInt64] = (0..<20).map { exponent in
        (0..<exponent).reduce(1) { power, _ in power &* 10 }
    }

    /// The number of decimal digits of `value` (1 for zero).
    static func decimalDigitCount(_ value: UInt64) -> Int {
        // log10(2) ≈ 1233/4096: the bit length gives the digit count or one more than it.
        let bits = 64 - (value | 1).leadingZeroBitCount
        let estimate = (bits &* 1233) >> 12
        return estimate + (value >= powersOfTen[estimate] ? 1 : 0)
    }

    /// Appends `utf8` as a JSON string: quoted, with `"`, `\` and U+0000–U+001F escaped
    /// (`\b \f \n \r \t`, else `\u00XX`) and every other byte as it is.
    mutating func appendQuoted(_ utf8: UnsafeBufferPointer<UInt8>) {
        guard let source = utf8.baseAddress else {
            append(ASCII.quote, ASCII.quote)
            return
        }
        let count = utf8.count
        // Most keys and values are short and need no escape: test and copy them as two words
        // that overlap in the middle (4...16 bytes), with no loop at all.
        if count >= 8, count <= 16 {
            let head = UnsafeRawPointer(source).loadUnaligned(as: UInt64.self)
            let tail = UnsafeRawPointer(source + (count - 8)).loadUnaligned(as: UInt64.self)
            if !WordScan.needsEscape(head), !WordScan.needsEscape(tail) {
                reserve(18)
                let target = UnsafeMutableRawPointer(staging + staged)
                target.storeBytes(of: ASCII.quote, as: UInt8.self)
                target.storeBytes(of: head, toByteOffset: 1, as: UInt64.self)
                target.storeBytes(of: tail, toByteOffset: 1 + count - 8, as: UInt64.self)
                target.storeBytes(of: ASCII.quote, toByteOffset: 1 + count, as: UInt8.self)
                staged += count + 2
                return
            }
        } else if count >= 4, count < 8 {
            let head = UnsafeRawPointer(source).loadUnaligned(as: UInt32.self)
            let tail = UnsafeRawPointer(source + (count - 4)).loadUnaligned(as: UInt32.self)
            if !WordScan.needsEscape(head), !WordScan.needsEscape(tail) {
                reserve(10)
                let target = UnsafeMutableRawPointer(staging + staged)
                target.storeBytes(of: ASCII.quote, as: UInt8.self)
                target.storeBytes(of: head, toByteOffset: 1, as: UInt32.self)
                target.storeBytes(of: tail, toByteOffset: 1 + count - 4, as: UInt32.self)
                target.storeBytes(of: ASCII.quote, toByteOffset: 1 + count, as: UInt8.self)
                staged += count + 2
                return
            }
        }
        let escapes = Self.escapeTable.utf8Start
        if count <= 16 {
            // Short strings with something to escape, or under four bytes: one reservation and
            // a byte loop.
            reserve(6 * 16 + 2)
            let target = staging
            var offset = staged
            target[offset] = ASCII.quote
            offset += 1
            for byte in utf8 {
                if escapes[Int(byte)] == ASCII.zero {
                    target[offset] = byte
                    offset += 1
                } else {
                    offset += Self.writeEscape(byte, at: target + offset)
                }
            }
            target[offset] = ASCII.quote
            staged = offset + 1
            return
        }
        // Pieces small enough that even if every byte needs a six-byte escape the piece and the
        // quotes fit in the staging buffer, so the loops below store without further checks.
        let piece = Self.stagingCapacity / 8
        var position = 0
        var first = true
        repeat {
            let pieceEnd = min(position + piece, utf8.count)
            reserve(6 * (pieceEnd - position) + 2)
            // Locals, so the compiler need not reload them after every store.
            let target = staging
            var offset = staged
            if first {
                target[offset] = ASCII.quote
                offset += 1
                first = false
            }
            while position < pieceEnd {
                // Eight bytes that need no escape are copied as one word.
                if pieceEnd - position >= 8 {
                    let word = UnsafeRawPointer(source + position).loadUnaligned(as: UInt64.self)
                    if !WordScan.needsEscape(word) {
                        UnsafeMutableRawPointer(target + offset).storeBytes(of: word, as: UInt64.self)
                        position += 8
                        offset += 8
                        continue
                    }
                }
                // Up to eight bytes one at a time: the rest of a short string, or the word that
                // holds something to escape.
                let stop = min(position + 8, pieceEnd)
                while position < stop {
                    let byte = source[position]
                    position += 1
                    if escapes[Int(byte)] == ASCII.zero {
                        target[offset] = byte
                        offset += 1
                        continue
                    }
                    offset += Self.writeEscape(byte, at: target + offset)
                }
            }
            if position == utf8.count {
                // Reserved above: two bytes beyond the escaped piece.
                target[offset] = ASCII.quote
                offset += 1
            }
            staged = offset
        } while position < utf8.count
    }

    /// Writes the escape for `byte` (one the escape table marks) at `target`, which has room
    /// for six bytes, and returns its length.
    private static func writeEscape(_ byte: UInt8, at target: UnsafeMutablePointer<UInt8>) -> Int {
        target[0] = ASCII.backslash
        switch byte {
        case ASCII.quote, ASCII.backslash: target[1] = byte
        case 0x08: target[1] = ASCII.lowerB
        case 0x0C: target[1] = ASCII.lowerF
        case ASCII.newline: target[1] = ASCII.lowerN
        case ASCII.carriageReturn: target[1] = ASCII.lowerR
        case ASCII.tab: target[1] = ASCII.lowerT
        default:
            target[1] = ASCII.lowerU
            target[2] = ASCII.zero
            target[3] = ASCII.zero
            target[4] = hexDigit(byte >> 4)
            target[5] = hexDigit(byte & 0x0F)
            return 6
        }
        return 2
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? ASCII.zero &+ nibble : ASCII.lowerA &+ (nibble &- 10)
    }
}
