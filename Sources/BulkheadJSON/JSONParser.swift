// Parsing entry points. The grammar is RFC 8259, strictly:
//
// - the input must be UTF-8; a byte order mark is rejected, as is any ill-formed sequence
//   (overlong forms, encoded surrogates, code points past U+10FFFF, truncated sequences);
// - a `\u` escape of a UTF-16 surrogate must be a high surrogate followed by a `\u` low
//   surrogate; a lone half is rejected (not replaced), so a string always means what it says;
// - `\u0000` is accepted and yields U+0000;
// - no comments, trailing commas, single quotes, leading `+`, leading zeros, `NaN` or `Infinity`;
// - only space, tab, LF and CR count as whitespace; anything but whitespace after the value is an
//   error;
// - a repeated object key is accepted: the last value wins, at the position of the first key;
// - a number without fraction or exponent that fits in Int64 is `.int` (so `-0` is `.int(0)`);
//   any other is `.double`, and one beyond Double's range (`1e400`) is rejected.

extension JSON {
    /// Parses UTF-8 `bytes` as one JSON document.
    ///
    /// Never traps: any input yields a value or a ``JSONError`` with the byte offset of the problem.
    /// Time is linear in the input size; nothing recurses.
    public init(parsing bytes: some Collection<UInt8>, limits: JSONLimits = .default) throws(JSONError) {
        // Refuse oversized input before copying it (`count` may walk a non-random-access collection,
        // which is still linear).
        let count = bytes.count
        guard count <= limits.maxInputBytes else {
            throw JSONError(offset: limits.maxInputBytes, reason: .inputTooLarge(limit: limits.maxInputBytes))
        }
        let contiguous = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONError) in try JSONParser.parse(buffer, limits: limits) }
        }
        if let contiguous {
            self = try contiguous.get()
        } else {
            let copy = Array(bytes)
            self = try copy.withUnsafeBufferPointer { buffer in
                Result { () throws(JSONError) in try JSONParser.parse(buffer, limits: limits) }
            }.get()
        }
    }

    /// Parses raw memory holding UTF-8 as one JSON document; otherwise as the byte-collection
    /// overload.
    public init(parsing buffer: UnsafeRawBufferPointer, limits: JSONLimits = .default) throws(JSONError) {
        self = try buffer.withMemoryRebound(to: UInt8.self) { bytes in
            Result { () throws(JSONError) in try JSONParser.parse(bytes, limits: limits) }
        }.get()
    }

    /// Parses `text` as one JSON document; offsets in errors count UTF-8 bytes.
    public init(parsing text: String, limits: JSONLimits = .default) throws(JSONError) {
        try self.init(parsing: text.utf8, limits: limits)
    }
}

/// A strict, bounded, non-recursive JSON parser over a byte buffer.
///
/// Nesting is tracked on explicit stacks (one per open container), so a deep document costs heap,
/// bounded by the depth limit, never native stack.
struct JSONParser {
    private let input: UnsafeBufferPointer<UInt8>
    private let limits: JSONLimits
    private let maxDepth: Int
    private var position = 0
    private var elementCount = 0
    /// Reused for strings that hold escapes.
    private var scratch: [UInt8] = []
    /// The FNV-1a hash of the last key's UTF-8 bytes.
    private var lastKeyHash: UInt64 = 0

    private init(input: UnsafeBufferPointer<UInt8>, limits: JSONLimits) {
        self.input = input
        self.limits = limits
        self.maxDepth = min(limits.maxDepth, JSONLimits.depthCeiling)
    }

    static func parse(_ input: UnsafeBufferPointer<UInt8>, limits: JSONLimits) throws(JSONError) -> JSON {
        guard input.count <= limits.maxInputBytes else {
            throw JSONError(offset: limits.maxInputBytes, reason: .inputTooLarge(limit: limits.maxInputBytes))
        }
        var parser = JSONParser(input: input, limits: limits)
        return try parser.parseDocument()
    }

    /// An open array or object, and where its contents start on the parse stacks.
    private struct OpenContainer {
        var isObject: Bool
        /// Index in `elements` (arrays) or `members` (objects) of its first entry.
        var start: Int
    }

    private mutating func parseDocument() throws(JSONError) -> JSON {
        // Open containers, innermost last. The contents of all open arrays share one stack and
        // those of all open objects another; a closing container takes its slice off the top
        // into one exactly sized array. An object member is pushed with a placeholder value when
        // its key is read, and the value is filled in when it is complete.
        var open: [OpenContainer] = []
        var elements: [JSON] = []
        var members: [JSONObject.Member] = []
        // A hash of each key in `members`, so that checking a small object for repeated keys
        // compares integers.
        var keyHashes: [UInt64] = []

        nextValue: while true {
            skipWhitespace()
            guard position < input.count else { throw error(.unexpectedEnd) }
            elementCount += 1
            guard elementCount <= limits.maxElements else {
                throw error(.tooManyElements(limit: limits.maxElements))
            }

            var value: JSON
            switch input[position] {
            case ASCII.openBracket:
                guard open.count < maxDepth else { throw error(.tooDeep(limit: maxDepth)) }
                position += 1
                skipWhitespace()
                if position < input.count, input[position] == ASCII.closeBracket {
                    position += 1
                    value = .array([])
                } else {
                    open.append(OpenContainer(isObject: false, start: elements.count))
                    continue nextValue
                }
            case ASCII.openBrace:
                guard open.count < maxDepth else { throw error(.tooDeep(limit: maxDepth)) }
                position += 1
                skipWhitespace()
                if position < input.count, input[position] == ASCII.closeBrace {
                    position += 1
                    value = .object(JSONObject())
                } else {
                    open.append(OpenContainer(isObject: true, start: members.count))
                    members.append(JSONObject.Member(key: try parseKey(), value: .null))
                    keyHashes.append(lastKeyHash)
                    continue nextValue
                }
            case ASCII.quote:
                value = .string(try parseString())
            case ASCII.minus, ASCII.zero...ASCII.nine:
                value = try parseNumber()
            case ASCII.lowerT:
                try parseLiteral("true")
                value = .bool(true)
            case ASCII.lowerF:
                try parseLiteral("false")
                value = .bool(false)
            case ASCII.lowerN:
                try parseLiteral("null")
                value = .null
            default:
                throw error(.expectedValue)
            }

            // `value` is complete: hand it to its container, closing containers as they end.
            while true {
                guard let container = open.last else {
                    skipWhitespace()
                    guard position == input.count else { throw error(.trailingData) }
                    return value
                }
                skipWhitespace()
                guard position < input.count else { throw error(.unexpectedEnd) }
                let byte = input[position]
                if container.isObject {
                    members[members.count - 1].value = value
                    if byte == ASCII.comma {
                        position += 1
                        skipWhitespace()
                        members.append(JSONObject.Member(key: try parseKey(), value: .null))
                        keyHashes.append(lastKeyHash)
                        continue nextValue
                    }
                    guard byte == ASCII.closeBrace else { throw error(.expectedCommaOrBrace) }
                    position += 1
                    open.removeLast()
                    let mayRepeatKeys = Self.mayRepeat(keyHashes[container.start...])
                    value = .object(JSONObject(parsed: Array(members[container.start...]), mayRepeatKeys: mayRepeatKeys))
                    members.removeSubrange(container.start...)
                    keyHashes.removeSubrange(container.start...)
                } else {
                    elements.append(value)
                    if byte == ASCII.comma {
                        position += 1
                        continue nextValue
                    }
                    guard byte == ASCII.closeBracket else { throw error(.expectedCommaOrBracket) }
                    position += 1
                    open.removeLast()
                    value = .array(Array(elements[container.start...]))
                    elements.removeSubrange(container.start...)
                }
            }
        }
    }

    private func error(_ reason: JSONError.Reason) -> JSONError {
        JSONError(offset: position, reason: reason)
    }

    private func error(_ reason: JSONError.Reason, at offset: Int) -> JSONError {
        JSONError(offset: offset, reason: reason)
    }

    private mutating func skipWhitespace() {
        // Pretty-printed files are largely indentation: step over eight spaces at a time.
        while let word = word(at: position), word == Self.eightSpaces {
            position += 8
        }
        while position < input.count {
            switch input[position] {
            case ASCII.space, ASCII.newline, ASCII.tab, ASCII.carriageReturn:
                position += 1
            default:
                return
            }
        }
    }

    /// Whether two of `hashes` are equal, which small objects check (large ones are checked with
    /// a hash table as they are built).
    private static func mayRepeat(_ hashes: ArraySlice<UInt64>) -> Bool {
        guard hashes.count <= JSONObject.indexThreshold else { return true }
        for later in hashes.indices {
            for earlier in hashes.startIndex..<later where hashes[earlier] == hashes[later] {
                return true
            }
        }
        return false
    }

    /// A key and its `:`, starting at `position` (whitespace already skipped); sets
    /// `lastKeyHash`.
    private mutating func parseKey() throws(JSONError) -> String {
        guard position < input.count else { throw error(.unexpectedEnd) }
        guard input[position] == ASCII.quote else { throw error(.expectedKey) }
        let key = try parseString(hashing: true)
        skipWhitespace()
        guard position < input.count else { throw error(.unexpectedEnd) }
        guard input[position] == ASCII.colon else { throw error(.expectedColon) }
        position += 1
        return key
    }

    // MARK: Literals

    private mutating func parseLiteral(_ word: StaticString) throws(JSONError) {
        let bytes = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for expected in bytes {
            guard position < input.count else { throw error(.unexpectedEnd) }
            guard input[position] == expected else { throw error(.invalidLiteral) }
            position += 1
        }
    }

    // MARK: Numbers

    private func isDigit(at offset: Int) -> Bool {
        offset < input.count && input[offset] >= ASCII.zero && input[offset] <= ASCII.nine
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func parseNumber() throws(JSONError) -> JSON {
        let start = position
        let negative = input[position] == ASCII.minus
        if negative { position += 1 }

        // Integer part.
        guard position < input.count else { throw error(.unexpectedEnd) }
        if input[position] == ASCII.zero {
            position += 1
            guard !isDigit(at: position) else { throw error(.invalidNumber) }
        } else if isDigit(at: position) {
            while isDigit(at: position) { position += 1 }
        } else {
            throw error(.invalidNumber)
        }
        var isInteger = true

        // Fraction.
        if position < input.count, input[position] == ASCII.period {
            isInteger = false
            position += 1
            try requireDigit()
            while isDigit(at: position) { position += 1 }
        }

        // Exponent.
        if position < input.count, input[position] == ASCII.lowerE || input[position] == ASCII.upperE {
            isInteger = false
            position += 1
            if position < input.count, input[position] == ASCII.plus || input[position] == ASCII.minus {
                position += 1
            }
            try requireDigit()
            while isDigit(at: position) { position += 1 }
        }

        guard position - start <= limits.maxNumberLength else {
            throw error(.numberTooLong(limit: limits.maxNumberLength), at: start)
        }
        let digits = UnsafeBufferPointer(rebasing: input[start..<position])
        if isInteger, let exact = Self.int64(digits, negative: negative) {
            return .int(exact)
        }
        // The grammar above admits only forms that `Double.init(_:)` reads, and it rounds
        // correctly. An integer too big for Int64 lands here too and becomes the nearest Double.
        guard let number = Double(String(decoding: digits, as: UTF8.self)), number.isFinite else {
            throw error(.numberOutOfRange, at: start)
        }
        return .double(number)
    }

    private func requireDigit() throws(JSONError) {
        guard position < input.count else { throw error(.unexpectedEnd) }
        guard isDigit(at: position) else { throw error(.invalidNumber) }
    }

    /// The value of an optionally signed run of decimal digits, or `nil` when it overflows Int64.
    private static func int64(_ text: UnsafeBufferPointer<UInt8>, negative: Bool) -> Int64? {
        // Accumulate downwards: Int64's negative range is the larger, so Int64.min fits.
        var value: Int64 = 0
        for byte in text where byte != ASCII.minus {
            let (shifted, overflowed) = value.multipliedReportingOverflow(by: 10)
            let (next, underflowed) = shifted.subtractingReportingOverflow(Int64(byte &- ASCII.zero))
            guard !overflowed, !underflowed else { return nil }
            value = next
        }
        if negative { return value }
        guard value != .min else { return nil }
        return -value
    }

    // MARK: Strings

    /// A string whose opening quote is at `position`; leaves `position` past the closing quote.
    /// With `hashing`, sets `lastKeyHash` from its (unescaped) bytes.
    private mutating func parseString(hashing: Bool = false) throws(JSONError) -> String {
        let start = position
        position += 1
        // Bytes from `runStart` to `position` need no unescaping; they are copied in one go.
        var runStart = position
        var escaped = false
        scratch.removeAll(keepingCapacity: true)

        while true {
            // Step over eight plain ASCII bytes at a time; anything else takes the byte path.
            while let word = word(at: position), !Self.needsAttention(word) {
                position += 8
            }
            guard position < input.count else { throw error(.unexpectedEnd) }
            let byte = input[position]
            if byte == ASCII.quote {
                break
            } else if byte == ASCII.backslash {
                escaped = true
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<position]))
                try parseEscape()
                runStart = position
                guard scratch.count <= limits.maxStringBytes else {
                    throw error(.stringTooLong(limit: limits.maxStringBytes), at: start)
                }
            } else if byte < 0x20 {
                throw error(.controlCharacterInString)
            } else if byte < 0x80 {
                position += 1
            } else {
                try skipUTF8Sequence()
            }
        }

        let run = UnsafeBufferPointer(rebasing: input[runStart..<position])
        guard scratch.count + run.count <= limits.maxStringBytes else {
            throw error(.stringTooLong(limit: limits.maxStringBytes), at: start)
        }
        position += 1  // the closing quote
        guard escaped else {
            if hashing { lastKeyHash = Self.hash(run) }
            return String(decoding: run, as: UTF8.self)
        }
        scratch.append(contentsOf: run)
        return scratch.withUnsafeBufferPointer { decoded in
            if hashing { lastKeyHash = Self.hash(decoded) }
            return String(decoding: decoded, as: UTF8.self)
        }
    }

    // MARK: Eight bytes at a time

    private static let eightSpaces: UInt64 = 0x2020_2020_2020_2020
    private static let lowBits: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The eight bytes at `offset` as one word, or `nil` when fewer than eight remain.
    private func word(at offset: Int) -> UInt64? {
        guard input.count - offset >= 8, let base = input.baseAddress else { return nil }
        return UnsafeRawPointer(base + offset).loadUnaligned(as: UInt64.self)
    }

    /// Whether any byte of `word` ends or escapes a string or needs checking: `"`, `\`, a
    /// control character or a non-ASCII byte. (The classic bit tricks: `x - 0x01…` borrows into
    /// a byte's high bit exactly when that byte was below the subtrahend; a false alarm would
    /// only send the word down the byte-at-a-time path.)
    private static func needsAttention(_ word: UInt64) -> Bool {
        let nonASCII = word & highBits
        let control = (word &- 0x20 &* lowBits) & ~word
        let quote = word ^ (0x22 &* lowBits)
        let backslash = word ^ (0x5C &* lowBits)
        let hasQuote = (quote &- lowBits) & ~quote
        let hasBackslash = (backslash &- lowBits) & ~backslash
        return (nonASCII | control | hasQuote | hasBackslash) & highBits != 0
    }

    /// FNV-1a: cheap, and good enough to tell a handful of keys apart.
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// An escape whose backslash is at `position`: appends what it means to `scratch`.
    private mutating func parseEscape() throws(JSONError) {
        let start = position
        guard input.count - position >= 2 else { throw error(.unexpectedEnd, at: input.count) }
        let unescaped: UInt8
        switch input[position + 1] {
        case ASCII.quote: unescaped = ASCII.quote
        case ASCII.backslash: unescaped = ASCII.backslash
        case ASCII.slash: unescaped = ASCII.slash
        case ASCII.lowerB: unescaped = 0x08
        case ASCII.lowerF: unescaped = 0x0C
        case ASCII.lowerN: unescaped = ASCII.newline
        case ASCII.lowerR: unescaped = ASCII.carriageReturn
        case ASCII.lowerT: unescaped = ASCII.tab
        case ASCII.lowerU:
            try parseUnicodeEscape()
            return
        default:
            throw error(.invalidEscape, at: start)
        }
        scratch.append(unescaped)
        position += 2
    }

    /// `\uXXXX`, or a surrogate pair `\uD8XX\uDCXX`, at `position`.
    private mutating func parseUnicodeEscape() throws(JSONError) {
        let start = position
        let first = try hex4(at: position + 2)
        position += 6
        var scalar = first
        switch first {
        case 0xD800...0xDBFF:
            // A high surrogate must be followed at once by `\u` and a low one.
            guard position < input.count else { throw error(.unexpectedEnd) }
            guard input[position] == ASCII.backslash else { throw error(.loneSurrogate, at: start) }
            guard position + 1 < input.count else { throw error(.unexpectedEnd, at: input.count) }
            guard input[position + 1] == ASCII.lowerU else { throw error(.loneSurrogate, at: start) }
            let second = try hex4(at: position + 2)
            guard (0xDC00...0xDFFF).contains(second) else { throw error(.loneSurrogate, at: start) }
            position += 6
            scalar = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        case 0xDC00...0xDFFF:
            throw error(.loneSurrogate, at: start)
        default:
            break
        }
        appendUTF8(scalar)
    }

    /// Four hex digits at `offset`.
    private func hex4(at offset: Int) throws(JSONError) -> UInt32 {
        guard offset <= input.count, input.count - offset >= 4 else {
            throw error(.unexpectedEnd, at: input.count)
        }
        var value: UInt32 = 0
        for digitOffset in offset..<(offset + 4) {
            let byte = input[digitOffset]
            let digit: UInt8
            switch byte {
            case ASCII.zero...ASCII.nine: digit = byte &- ASCII.zero
            case ASCII.lowerA...ASCII.lowerF: digit = byte &- ASCII.lowerA &+ 10
            case ASCII.upperA...ASCII.upperF: digit = byte &- ASCII.upperA &+ 10
            default: throw error(.invalidEscape, at: digitOffset)
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Appends a scalar (≤ U+10FFFF, not a surrogate) as UTF-8 to `scratch`.
    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(truncatingIfNeeded: scalar))
        case 0x80..<0x800:
            scratch.append(0xC0 | UInt8(truncatingIfNeeded: scalar >> 6))
            scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(0xE0 | UInt8(truncatingIfNeeded: scalar >> 12))
            scratch.append(0x80 | UInt8(truncatingIfNeeded: (scalar >> 6) & 0x3F))
            scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F))
        default:
            scratch.append(0xF0 | UInt8(truncatingIfNeeded: scalar >> 18))
            scratch.append(0x80 | UInt8(truncatingIfNeeded: (scalar >> 12) & 0x3F))
            scratch.append(0x80 | UInt8(truncatingIfNeeded: (scalar >> 6) & 0x3F))
            scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F))
        }
    }

    /// Checks the multi-byte UTF-8 sequence whose lead byte is at `position` (Unicode table 3-7:
    /// no overlong forms, no encoded surrogates, nothing past U+10FFFF) and steps past it.
    private mutating func skipUTF8Sequence() throws(JSONError) {
        let lead = input[position]
        let continuationCount: Int
        // The allowed range of the second byte; later bytes are always 80...BF.
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF:
            continuationCount = 1
        case 0xE0:
            continuationCount = 2
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF:
            continuationCount = 2
        case 0xED:
            continuationCount = 2
            high = 0x9F
        case 0xF0:
            continuationCount = 3
            low = 0x90
        case 0xF1...0xF3:
            continuationCount = 3
        case 0xF4:
            continuationCount = 3
            high = 0x8F
        default:
            throw error(.invalidUTF8)
        }
        for index in 1...continuationCount {
            let offset = position + index
            guard offset < input.count else { throw error(.unexpectedEnd, at: input.count) }
            let byte = input[offset]
            let inRange = index == 1 ? (low...high).contains(byte) : (0x80...0xBF).contains(byte)
            guard inRange else { throw error(.invalidUTF8) }
        }
        position += continuationCount + 1
    }
}
