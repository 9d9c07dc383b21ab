/// The bytes of JSON's syntax, named.
enum ASCII {
    static let tab: UInt8 = 0x09
    static let newline: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let period: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let zero: UInt8 = 0x30
    static let one: UInt8 = 0x31
    static let nine: UInt8 = 0x39
    static let colon: UInt8 = 0x3A
    static let upperA: UInt8 = 0x41
    static let upperE: UInt8 = 0x45
    static let upperF: UInt8 = 0x46
    static let openBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let closeBracket: UInt8 = 0x5D
    static let lowerA: UInt8 = 0x61
    static let lowerB: UInt8 = 0x62
    static let lowerE: UInt8 = 0x65
    static let lowerF: UInt8 = 0x66
    static let lowerN: UInt8 = 0x6E
    static let lowerR: UInt8 = 0x72
    static let lowerT: UInt8 = 0x74
    static let lowerU: UInt8 = 0x75
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D
}

/// Tests on eight bytes at once, loaded as one little- or big-endian word (the tests are
/// per-byte, so byte order does not matter).
///
/// The classic bit tricks: subtracting `0x01` from every byte borrows into a byte's high bit
/// exactly when that byte was below the subtrahend; a borrow can spill into the next byte only
/// from a byte that was itself flagged, so "any byte flagged" is exact.
enum WordScan {
    static let lowBits: UInt64 = 0x0101_0101_0101_0101
    static let highBits: UInt64 = 0x8080_8080_8080_8080
    static let eightSpaces: UInt64 = 0x2020_2020_2020_2020

    /// Whether a JSON string needs an escape for any byte of `word`: `"`, `\` or a control
    /// character (U+0000–U+001F).
    static func needsEscape(_ word: UInt64) -> Bool {
        // Bytes ≥ 0x80 are masked out of the control test: they are not below 0x20.
        let control = (word &- 0x20 &* lowBits) & ~word
        let quote = word ^ (UInt64(ASCII.quote) &* lowBits)
        let backslash = word ^ (UInt64(ASCII.backslash) &* lowBits)
        let hasQuote = (quote &- lowBits) & ~quote
        let hasBackslash = (backslash &- lowBits) & ~backslash
        return (control | hasQuote | hasBackslash) & highBits != 0
    }

    /// The same test on four bytes.
    static func needsEscape(_ word: UInt32) -> Bool {
        let lowBits: UInt32 = 0x0101_0101
        let control = (word &- 0x20 &* lowBits) & ~word
        let quote = word ^ (UInt32(ASCII.quote) &* lowBits)
        let backslash = word ^ (UInt32(ASCII.backslash) &* lowBits)
        let hasQuote = (quote &- lowBits) & ~quote
        let hasBackslash = (backslash &- lowBits) & ~backslash
        return (control | hasQuote | hasBackslash) & 0x8080_8080 != 0
    }

    /// The high bit of each byte of `word` that a string parser must look at: `"`, `\`, a
    /// control character or a non-ASCII byte. Bytes after the first flagged one may be flagged
    /// falsely (a borrow spills upwards), but the lowest flag is always exact, so with the
    /// first byte in the low bits `trailingZeroBitCount / 8` is the offset of the first such
    /// byte; zero means none.
    static func attentionFlags(_ word: UInt64) -> UInt64 {
        let control = (word &- 0x20 &* lowBits) & ~word
        let quote = word ^ (UInt64(ASCII.quote) &* lowBits)
        let backslash = word ^ (UInt64(ASCII.backslash) &* lowBits)
        let hasQuote = (quote &- lowBits) & ~quote
        let hasBackslash = (backslash &- lowBits) & ~backslash
        return (word | control | hasQuote | hasBackslash) & highBits
    }
}
