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

    /// Makes room for `count` bytes in the staging buffer; `count` must not exceed its size.
    private mutating func reserve(_ count: Int) {
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

    /// Appends the decimal digits of `value`.
    mutating func appendDecimal(_ value: UInt64) {
        var digitCount = 1
        var scale: UInt64 = 10
        while digitCount < 20, value >= scale {
            digitCount += 1
            scale = scale &* 10
        }
        reserve(digitCount)
        var remaining = value
        var offset = staged + digitCount
        repeat {
            offset -= 1
            staging[offset] = ASCII.zero &+ UInt8(truncatingIfNeeded: remaining % 10)
            remaining /= 10
        } while offset > staged
        staged += digitCount
    }

    /// Appends `utf8` as a JSON string: quoted, with `"`, `\` and U+0000–U+001F escaped
    /// (`\b \f \n \r \t`, else `\u00XX`) and every other byte as it is.
    mutating func appendQuoted(_ utf8: UnsafeBufferPointer<UInt8>) {
        append(ASCII.quote)
        // Pieces small enough that even if every byte needs a six-byte escape the piece fits in
        // the staging buffer, so the loop stores without further checks.
        let piece = Self.stagingCapacity / 8
        var pieceStart = 0
        while pieceStart < utf8.count {
            let pieceEnd = min(pieceStart + piece, utf8.count)
            reserve(6 * (pieceEnd - pieceStart))
            // Locals, so the compiler need not reload them after every store.
            let base = staging
            var offset = staged
            for position in pieceStart..<pieceEnd {
                let byte = utf8[position]
                if byte >= 0x20, byte != ASCII.quote, byte != ASCII.backslash {
                    base[offset] = byte
                    offset += 1
                    continue
                }
                base[offset] = ASCII.backslash
                switch byte {
                case ASCII.quote, ASCII.backslash: base[offset + 1] = byte
                case 0x08: base[offset + 1] = ASCII.lowerB
                case 0x0C: base[offset + 1] = ASCII.lowerF
                case ASCII.newline: base[offset + 1] = ASCII.lowerN
                case ASCII.carriageReturn: base[offset + 1] = ASCII.lowerR
                case ASCII.tab: base[offset + 1] = ASCII.lowerT
                default:
                    base[offset + 1] = ASCII.lowerU
                    base[offset + 2] = ASCII.zero
                    base[offset + 3] = ASCII.zero
                    base[offset + 4] = Self.hexDigit(byte >> 4)
                    base[offset + 5] = Self.hexDigit(byte & 0x0F)
                    offset += 4
                }
                offset += 2
            }
            staged = offset
            pieceStart = pieceEnd
        }
        append(ASCII.quote)
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? ASCII.zero &+ nibble : ASCII.lowerA &+ (nibble &- 10)
    }
}
