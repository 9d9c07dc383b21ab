// The parser's public entry points; `JSONParser` does the work.

extension JSON {
    /// Parses UTF-8 `bytes` as one JSON document.
    ///
    /// Treats the input as hostile: any input yields a value or a ``JSONError`` with the byte
    /// offset of the problem, never a trap; time is linear in the input size, nothing recurses,
    /// and `limits` bound depth, size, string length, value count and number length.
    ///
    /// The grammar is RFC 8259, strictly:
    /// - The input must be UTF-8. Ill-formed sequences (overlong forms, encoded surrogates, code
    ///   points past U+10FFFF, truncated sequences) are rejected, not replaced, and so is a byte
    ///   order mark.
    /// - A `\u` escape of a UTF-16 surrogate must be a high surrogate followed at once by a `\u`
    ///   low surrogate; a lone half is rejected (`.loneSurrogate`), not replaced, so a string
    ///   always means what its text says. `\u0000` is accepted.
    /// - No comments, trailing commas, single quotes, leading `+` or zeros, `NaN` or `Infinity`;
    ///   whitespace is space, tab, LF and CR only; anything but whitespace after the value is
    ///   an error.
    /// - A number without fraction or exponent that fits in `Int64` becomes `.int` (so `-0` is
    ///   `.int(0)`); any other becomes the correctly rounded `.double`, and one beyond `Double`'s
    ///   range (`1e400`) is rejected.
    /// - A repeated object key is accepted: the last value wins, at the position of the first
    ///   key (as JavaScript's `JSON.parse` does). Keys compare by their UTF-8 bytes.
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

/// One JSON string on its own, decoded to its UTF-8 bytes without building a `JSON` value or a
/// `String`: for a reply whose whole point is one long text (`bulkhead status`'s table).
public enum JSONStringBytes {
    /// The bytes `input` (a JSON string, quotes included, and nothing else but whitespace
    /// after it) stands for; the same grammar and limits as `JSON(parsing:)`.
    public static func decode(_ input: UnsafeRawBufferPointer, limits: JSONLimits = .default) throws(JSONError) -> [UInt8] {
        guard input.count <= limits.maxInputBytes else {
            throw JSONError(offset: limits.maxInputBytes, reason: .inputTooLarge(limit: limits.maxInputBytes))
        }
        return try input.withMemoryRebound(to: UInt8.self) { bytes in
            Result { () throws(JSONError) in
                var parser = JSONParser(input: bytes, limits: limits)
                guard parser.position < bytes.count, bytes[parser.position] == ASCII.quote else {
                    throw parser.error(.expectedString)
                }
                let decoded = try parser.parseStringContents(hashing: false) { Array($0) }
                parser.skipWhitespace()
                guard parser.position == bytes.count else { throw parser.error(.trailingData) }
                return decoded
            }
        }.get()
    }
}
