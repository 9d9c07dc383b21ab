// Strings: escapes, surrogate pairs, UTF-8 validation, and a word-at-a-time scan.

extension JSONParser {
    /// A string whose opening quote is at `position`; leaves `position` past the closing quote.
    /// With `hashing`, sets `lastKeyHash` from its (unescaped) bytes.
    mutating func parseString(hashing: Bool = false) throws(JSONError) -> String {
        try parseStringContents(hashing: hashing) { String(decoding: $0, as: UTF8.self) }
    }

    /// As `parseString`, but hands the unescaped UTF-8 to `body` instead of making a String.
    mutating func parseStringContents<R>(hashing: Bool, _ body: (UnsafeBufferPointer<UInt8>) -> R) throws(JSONError) -> R {
        let start = position
        position += 1
        // Bytes from `runStart` to `position` need no unescaping; they are copied in one go.
        var runStart = position
        var escaped = false

        while true {
            // Step over plain ASCII eight bytes at a time, then straight to the first byte that
            // needs a look: the closing quote, an escape, a control or a non-ASCII byte.
            if let word = word(at: position) {
                let flags = WordScan.attentionFlags(word)
                if flags == 0 {
                    position += 8
                    continue
                }
                position += flags.trailingZeroBitCount >> 3
            }
            guard position < input.count else { throw error(.unexpectedEnd) }
            let byte = input[position]
            if byte == ASCII.quote {
                break
            } else if byte == ASCII.backslash {
                if !escaped {
                    // Only strings with escapes use the scratch buffer (clearing it costs).
                    escaped = true
                    scratch.removeAll(keepingCapacity: true)
                }
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
        guard (escaped ? scratch.count : 0) + run.count <= limits.maxStringBytes else {
            throw error(.stringTooLong(limit: limits.maxStringBytes), at: start)
        }
        position += 1  // the closing quote
        guard escaped else {
            if hashing { lastKeyHash = Self.hash(run) }
            return body(run)
        }
        scratch.append(contentsOf: run)
        return scratch.withUnsafeBufferPointer { decoded in
            if hashing { lastKeyHash = Self.hash(decoded) }
            return body(decoded)
        }
    }

    // MARK: Eight bytes at a time

    /// The eight bytes at `offset` as one little-endian word (the first byte lowest), or `nil`
    /// when fewer than eight remain.
    @inline(__always)
    func word(at offset: Int) -> UInt64? {
        guard input.count &- offset >= 8, let base = input.baseAddress else { return nil }
        return UInt64(littleEndian: UnsafeRawPointer(base + offset).loadUnaligned(as: UInt64.self))
    }

    /// FNV-1a: cheap, and good enough to tell a handful of keys apart.
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// An escape whose backslash is at `position`: appends what it means to `scratch`.
    mutating func parseEscape() throws(JSONError) {
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
    mutating func parseUnicodeEscape() throws(JSONError) {
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
    func hex4(at offset: Int) throws(JSONError) -> UInt32 {
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
    mutating func appendUTF8(_ scalar: UInt32) {
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
    mutating func skipUTF8Sequence() throws(JSONError) {
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
