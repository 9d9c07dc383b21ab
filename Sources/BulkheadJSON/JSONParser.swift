// The parser's core: one pass over the bytes, containers on explicit stacks.

/// A strict, bounded, non-recursive JSON parser over a byte buffer.
///
/// Nesting is tracked on explicit stacks (one per open container), so a deep document costs heap,
/// bounded by the depth limit, never native stack.
struct JSONParser {
    let input: UnsafeBufferPointer<UInt8>
    let limits: JSONLimits
    let maxDepth: Int
    var position = 0
    var elementCount = 0
    /// Reused for strings that hold escapes.
    var scratch: [UInt8] = []
    /// The FNV-1a hash of the last key's UTF-8 bytes.
    var lastKeyHash: UInt64 = 0

    init(input: UnsafeBufferPointer<UInt8>, limits: JSONLimits) {
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
    struct OpenContainer {
        var isObject: Bool
        /// Index in `elements` (arrays) or `members` (objects) of its first entry.
        var start: Int
    }

    mutating func parseDocument() throws(JSONError) -> JSON {
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
                    members.removeLast(members.count - container.start)
                    keyHashes.removeLast(keyHashes.count - container.start)
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
                    elements.removeLast(elements.count - container.start)
                }
            }
        }
    }

    func error(_ reason: JSONError.Reason) -> JSONError {
        JSONError(offset: position, reason: reason)
    }

    func error(_ reason: JSONError.Reason, at offset: Int) -> JSONError {
        JSONError(offset: offset, reason: reason)
    }

    mutating func skipWhitespace() {
        while position < input.count {
            switch input[position] {
            case ASCII.space:
                // Pretty-printed files are largely indentation: eight spaces at a time.
                if let word = word(at: position), word == WordScan.eightSpaces {
                    position += 8
                } else {
                    position += 1
                }
            case ASCII.newline, ASCII.tab, ASCII.carriageReturn:
                position += 1
            default:
                return
            }
        }
    }

    /// Whether two of `hashes` are equal, which small objects check (large ones are checked with
    /// a hash table as they are built).
    static func mayRepeat(_ hashes: ArraySlice<UInt64>) -> Bool {
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
    mutating func parseKey() throws(JSONError) -> String {
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

    mutating func parseLiteral(_ word: StaticString) throws(JSONError) {
        let bytes = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for expected in bytes {
            guard position < input.count else { throw error(.unexpectedEnd) }
            guard input[position] == expected else { throw error(.invalidLiteral) }
            position += 1
        }
    }
}
