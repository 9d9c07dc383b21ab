import BulkheadJSON
import Testing

@Suite("Parser")
struct JSONParserTests {
    // MARK: Valid input

    @Test func scalars() throws {
        #expect(try JSON(parsing: "null") == .null)
        #expect(try JSON(parsing: "true") == .bool(true))
        #expect(try JSON(parsing: "false") == .bool(false))
        #expect(try JSON(parsing: "0") == .int(0))
        #expect(try JSON(parsing: "-0") == .int(0))
        #expect(try JSON(parsing: "-12") == .int(-12))
        #expect(try JSON(parsing: "1.5") == .double(1.5))
        #expect(try JSON(parsing: "1.0") == .double(1.0))
        #expect(try JSON(parsing: "-2.5E-3") == .double(-0.0025))
        #expect(try JSON(parsing: "1e2") == .double(100))
        #expect(try JSON(parsing: "1E+2") == .double(100))
        #expect(try JSON(parsing: #""text""#) == .string("text"))
    }

    @Test func whitespaceIsSpaceTabNewlineReturnOnly() throws {
        #expect(try JSON(parsing: " \t\r\n[ 1 ,\n2 ] \n") == [1, 2])
        #expect(try JSON(parsing: "{ \"a\" : 1 }") == ["a": 1])
        #expect(parseError("\u{C}1") == JSONError(offset: 0, reason: .expectedValue))
        #expect(parseError("[1,\u{A0}2]") == JSONError(offset: 3, reason: .expectedValue))
    }

    @Test func everyInputForm() throws {
        let text = #"{"a":[1,2]}"#
        let expected: JSON = ["a": [1, 2]]
        let array = Array(text.utf8)
        #expect(try JSON(parsing: text) == expected)
        #expect(try JSON(parsing: array) == expected)
        #expect(try JSON(parsing: array[...]) == expected)
        #expect(try JSON(parsing: text.utf8) == expected)
        // A collection without contiguous storage takes the copying path.
        #expect(try JSON(parsing: array.lazy.map { $0 }) == expected)
        let fromRaw = try array.withUnsafeBytes { raw in try JSON(parsing: raw) }
        #expect(fromRaw == expected)
        // A slice's offsets count from the slice's start.
        let padded = Array("xx[1,]".utf8)
        #expect(parseError(Array(padded[2...])) == JSONError(offset: 3, reason: .expectedValue))
    }

    // MARK: Numbers

    @Test func int64ExtremesAreExact() throws {
        #expect(try JSON(parsing: "9223372036854775807") == .int(.max))
        #expect(try JSON(parsing: "-9223372036854775808") == .int(.min))
        #expect(try JSON(parsing: "[1700000000123456789]") == [.int(1_700_000_000_123_456_789)])
        // One past either end no longer fits: the nearest Double.
        #expect(try JSON(parsing: "9223372036854775808") == .double(9_223_372_036_854_775_808.0))
        #expect(try JSON(parsing: "-9223372036854775809") == .double(-9_223_372_036_854_775_809.0))
        for value in [Int64.min, .min + 1, -1, 0, 1, 1 << 53 + 1, .max - 1, .max] {
            #expect(try JSON(parsing: JSON.int(value).encoded()) == .int(value))
        }
    }

    @Test(arguments: [
        ("01", 1), ("-01", 2), ("00", 1), ("1.", 2), (".5", 0), ("+1", 0), ("1e", 2), ("1e+", 3),
        ("-", 1), ("--1", 1), ("-a", 1), ("1.e5", 2), ("0x10", 1), ("NaN", 0), ("Infinity", 0), ("-Infinity", 1),
        ("[1.]", 3), ("1.5e+-3", 5),
    ])
    func malformedNumbers(text: String, offset: Int) {
        let error = parseError(text)
        #expect(error?.offset == offset, "\(text)")
        let reason = error?.reason
        #expect(
            reason == .invalidNumber || reason == .unexpectedEnd || reason == .expectedValue
                || reason == .trailingData || reason == .invalidLiteral,
            "\(text): \(String(describing: reason))"
        )
    }

    @Test func hugeNumberStrings() throws {
        let loose = JSONLimits(maxNumberLength: 5000)
        let three00 = "1" + String(repeating: "0", count: 300)
        #expect(try JSON(parsing: three00, limits: loose) == .double(1e300))
        #expect(try JSON(parsing: String(three00.prefix(256))) == .double(1e255))
        #expect(parseError("1e999999") == JSONError(offset: 0, reason: .numberOutOfRange))
        #expect(parseError("[-1e400]") == JSONError(offset: 1, reason: .numberOutOfRange))
        #expect(try JSON(parsing: "1e-999999") == .double(0))
        let long = String(repeating: "9", count: 257)
        #expect(parseError("[\(long)]") == JSONError(offset: 1, reason: .numberTooLong(limit: 256)))
        #expect(parseError(String(repeating: "9", count: 400), limits: loose)?.reason == .numberOutOfRange)
        let manyDigits = "0." + String(repeating: "1", count: 4000)
        #expect(try JSON(parsing: manyDigits, limits: loose).double == 0.11111111111111111)
        let longExponent = "1e" + String(repeating: "0", count: 4000) + "1"
        #expect(try JSON(parsing: longExponent, limits: loose) == .double(10))
    }

    // MARK: Strings

    @Test func escapes() throws {
        #expect(try JSON(parsing: #""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
        #expect(try JSON(parsing: #""a\u0000b""#) == .string("a\u{0}b"))
        #expect(try JSON(parsing: #""\u00e9\u00E9\u20AC""#) == .string("éé€"))
        #expect(try JSON(parsing: #"{"k\n":"v"}"#) == ["k\n": "v"])
        #expect(parseError(#""\x""#) == JSONError(offset: 1, reason: .invalidEscape))
        #expect(parseError(#""\u12G4""#) == JSONError(offset: 5, reason: .invalidEscape))
        #expect(parseError(#""\u12"#) == JSONError(offset: 5, reason: .unexpectedEnd))
        #expect(parseError(#""\"#) == JSONError(offset: 2, reason: .unexpectedEnd))
    }

    @Test func surrogatePairs() throws {
        #expect(try JSON(parsing: #""\uD83D\uDE00""#) == .string("😀"))
        #expect(try JSON(parsing: #""x\ud834\udd1ey""#) == .string("x𝄞y"))
        #expect(try JSON(parsing: #""\uDBFF\uDFFF""#) == .string("\u{10FFFF}"))
    }

    @Test(arguments: [
        (#""\uD800""#, 1),
        (#""\uD800x""#, 1),
        (#""\uD800\n""#, 1),
        (#""ab\uD800\uD800""#, 3),
        (#""\uDC00""#, 1),
        (#""\uDFFF\uD800""#, 1),
    ])
    func loneSurrogatesAreRejected(text: String, offset: Int) {
        #expect(parseError(text) == JSONError(offset: offset, reason: .loneSurrogate))
    }

    @Test func rawControlCharactersAreRejected() throws {
        #expect(parseError("\"a\nb\"") == JSONError(offset: 2, reason: .controlCharacterInString))
        #expect(parseError("\"\u{0}\"") == JSONError(offset: 1, reason: .controlCharacterInString))
        #expect(parseError("\"\u{1F}\"") == JSONError(offset: 1, reason: .controlCharacterInString))
        #expect(try JSON(parsing: "\"\u{7F}\"") == .string("\u{7F}"))
    }

    @Test func validUTF8IsKept() throws {
        #expect(try JSON(parsing: #"{"é€":"😀𝄞\u0041"}"#) == ["é€": "😀𝄞A"])
        #expect(try JSON(parsing: "\"\u{7FF}\u{800}\u{D7FF}\u{E000}\u{FFFF}\u{10000}\u{10FFFF}\"").string?.unicodeScalars.count == 7)
    }

    @Test(arguments: [
        [0x80] as [UInt8],  // lone continuation byte
        [0xC0, 0x80],  // overlong NUL
        [0xC1, 0xBF],  // overlong
        [0xC3, 0x28],  // bad continuation
        [0xE0, 0x80, 0x80],  // overlong three-byte
        [0xE0, 0x9F, 0xBF],  // overlong three-byte
        [0xED, 0xA0, 0x80],  // encoded surrogate U+D800
        [0xED, 0xBF, 0xBF],  // encoded surrogate U+DFFF
        [0xF0, 0x80, 0x80, 0x80],  // overlong four-byte
        [0xF4, 0x90, 0x80, 0x80],  // past U+10FFFF
        [0xF5, 0x80, 0x80, 0x80],
        [0xFE],
        [0xFF],
        [0xE2, 0x82],  // truncated by the closing quote
        [0xF0, 0x9F, 0x98],  // truncated by the closing quote
    ])
    func invalidUTF8IsRejected(sequence: [UInt8]) {
        let input = bytes(#"["ok","ab^cd"]"#, inserting: sequence)
        #expect(parseError(input) == JSONError(offset: 9, reason: .invalidUTF8))
    }

    @Test func offsetsCountUTF8Bytes() {
        // [ " é(2) 😀(4) " , → the x is byte 10.
        #expect(parseError(#"["é😀",x]"#) == JSONError(offset: 10, reason: .expectedValue))
    }

    @Test func invalidBytesOutsideStrings() {
        #expect(parseError([0xEF, 0xBB, 0xBF, 0x31]) == JSONError(offset: 0, reason: .expectedValue))  // BOM
        #expect(parseError([0x5B, 0xC3, 0xA9, 0x5D]) == JSONError(offset: 1, reason: .expectedValue))
        #expect(parseError([0x22, 0xF0, 0x9F]) == JSONError(offset: 3, reason: .unexpectedEnd))
        #expect(parseError([0x31, 0x00]) == JSONError(offset: 1, reason: .trailingData))
    }

    // MARK: Structure

    @Test(arguments: [
        ("", 0, JSONError.Reason.unexpectedEnd),
        ("   ", 3, .unexpectedEnd),
        ("[", 1, .unexpectedEnd),
        ("[1", 2, .unexpectedEnd),
        ("[1,", 3, .unexpectedEnd),
        ("{", 1, .unexpectedEnd),
        (#"{"a""#, 4, .unexpectedEnd),
        (#"{"a":"#, 5, .unexpectedEnd),
        (#""abc"#, 4, .unexpectedEnd),
        ("tru", 3, .unexpectedEnd),
        ("trux", 3, .invalidLiteral),
        ("nul", 3, .unexpectedEnd),
        ("falsy", 4, .invalidLiteral),
        ("[1,]", 3, .expectedValue),
        ("[,1]", 1, .expectedValue),
        ("[1 2]", 3, .expectedCommaOrBracket),
        ("[1}", 2, .expectedCommaOrBracket),
        (#"{"a":1,}"#, 7, .expectedKey),
        ("{1:2}", 1, .expectedKey),
        ("{'a':1}", 1, .expectedKey),
        (#"{"a" 1}"#, 5, .expectedColon),
        (#"{"a":1 "b":2}"#, 7, .expectedCommaOrBrace),
        (#"{"a":1]"#, 6, .expectedCommaOrBrace),
        ("'a'", 0, .expectedValue),
        ("/*c*/1", 0, .expectedValue),
        ("]", 0, .expectedValue),
    ])
    func structuralErrors(text: String, offset: Int, reason: JSONError.Reason) {
        #expect(parseError(text) == JSONError(offset: offset, reason: reason), "\(text)")
    }

    @Test(arguments: ["1 2", "{} x", "[]]", "nullx", "true false", "\"a\"\"b\"", "0 \u{0}", "{}{}"])
    func trailingGarbageIsRejected(text: String) {
        #expect(parseError(text)?.reason == .trailingData, "\(text)")
    }

    @Test func everyTruncationFails() {
        let text = Array(#"{"id":"api:0","n":[1,-2.5e3,true,false,null,{"k":"\u00e9\n😀"}],"e":{}}"#.utf8)
        #expect(parseError(text) == nil)
        for length in 0..<text.count {
            let error = parseError(Array(text[..<length]))
            #expect(error != nil, "prefix of \(length) bytes parsed")
            if let error {
                #expect(error.offset <= length)
            }
        }
    }

    @Test func duplicateKeysLastWins() throws {
        let value = try JSON(parsing: #"{"a":1,"b":2,"a":3}"#)
        #expect(value["a"] == .int(3))
        #expect(value.object?.keys == ["a", "b"])
        #expect(value.encoded() == #"{"a":3,"b":2}"#)
        // Through the hash index as well.
        var text = "{"
        for number in 0..<40 {
            text += "\"k\(number % 20)\":\(number),"
        }
        text += "\"end\":0}"
        let large = try JSON(parsing: text)
        #expect(large.object?.count == 21)
        #expect(large["k3"] == .int(23))
        #expect(large.object?.keys.first == "k0")
    }

    @Test func keyOrderIsPreserved() throws {
        let value = try JSON(parsing: #"{"zebra":1,"apple":2,"mango":{"y":1,"x":2}}"#)
        #expect(value.object?.keys == ["zebra", "apple", "mango"])
        #expect(value["mango"]?.object?.keys == ["y", "x"])
        #expect(value.encoded() == #"{"zebra":1,"apple":2,"mango":{"y":1,"x":2}}"#)
    }

    // MARK: Limits

    @Test func nestingDepthLimit() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(parseError(ok) == nil)
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(parseError(tooDeep) == JSONError(offset: 64, reason: .tooDeep(limit: 64)))
        let objects = String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65)
        #expect(parseError(objects) == JSONError(offset: 64 * 5, reason: .tooDeep(limit: 64)))
        // A hostile run of openers fails at the limit without recursing.
        let hostile = [UInt8](repeating: 0x5B, count: 1_000_000)
        #expect(parseError(hostile) == JSONError(offset: 64, reason: .tooDeep(limit: 64)))
        // The limit can be raised, but never past the ceiling.
        let raised = JSONLimits(maxDepth: 200)
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        let value = try JSON(parsing: deep, limits: raised)
        #expect(value.encoded() == deep)
        let huge = JSONLimits(maxDepth: .max)
        let ceiling = JSONLimits.depthCeiling
        #expect(parseError(hostile, limits: huge) == JSONError(offset: ceiling, reason: .tooDeep(limit: ceiling)))
        let atCeiling = String(repeating: "[", count: ceiling) + String(repeating: "]", count: ceiling)
        let deepest = try JSON(parsing: atCeiling, limits: huge)
        #expect(deepest == deepest)
        #expect(deepest.encoded(.pretty).count > atCeiling.count)
        #expect(parseError("[1]", limits: JSONLimits(maxDepth: 0)) == JSONError(offset: 0, reason: .tooDeep(limit: 0)))
        #expect(parseError("1", limits: JSONLimits(maxDepth: 0)) == nil)
    }

    @Test func inputSizeLimit() {
        let limits = JSONLimits(maxInputBytes: 8)
        #expect(parseError("[1,2,33]", limits: limits) == nil)
        #expect(parseError("[1,2,333]", limits: limits) == JSONError(offset: 8, reason: .inputTooLarge(limit: 8)))
        #expect(parseError(Array("[1,2,333]".utf8).lazy.map { $0 }.description, limits: limits)?.reason == .inputTooLarge(limit: 8))
    }

    @Test func stringLengthLimit() {
        let limits = JSONLimits(maxStringBytes: 4)
        #expect(parseError(#"["abcd","éé","😀"]"#, limits: limits) == nil)
        #expect(parseError(#"["ok","abcde"]"#, limits: limits) == JSONError(offset: 6, reason: .stringTooLong(limit: 4)))
        #expect(parseError(#"{"abcde":1}"#, limits: limits) == JSONError(offset: 1, reason: .stringTooLong(limit: 4)))
        #expect(parseError(#""\n\n\n\n""#, limits: limits) == nil)
        #expect(parseError(#""\n\n\n\n\n""#, limits: limits)?.reason == .stringTooLong(limit: 4))
        #expect(parseError(#""ab\u20AC""#, limits: limits)?.reason == .stringTooLong(limit: 4))
    }

    @Test func elementCountLimit() {
        let limits = JSONLimits(maxElements: 3)
        #expect(parseError("[1,2]", limits: limits) == nil)
        #expect(parseError("[1,2,3]", limits: limits) == JSONError(offset: 5, reason: .tooManyElements(limit: 3)))
        #expect(parseError(#"{"a":{},"b":[]}"#, limits: limits) == nil)
        #expect(parseError(#"{"a":{},"b":[],"c":0}"#, limits: limits)?.reason == .tooManyElements(limit: 3))
    }

    @Test func errorsDescribeThemselves() {
        let error = JSONError(offset: 12, reason: .expectedCommaOrBracket)
        #expect(error.description == "invalid JSON at byte 12: expected ',' or ']'")
        #expect(JSONError.Reason.tooDeep(limit: 64).description == "nested deeper than 64")
    }

    // MARK: Large documents

    /// The shape of a Swift runtime backtrace report for a stack overflow: one crashed thread with
    /// tens of thousands of frames. The text is assembled from a frame template to keep the test
    /// fast in debug builds.
    @Test func backtraceSizedReport() throws {
        let frameCount = 58_000
        var text = Array(#"{"crashedThread":0,"threads":[{"crashed":true,"frames":["#.utf8)
        let frame = Array(#"{"pc":"0x5555deadbeef"}"#.utf8)
        text.reserveCapacity(frameCount * (frame.count + 1) + 64)
        for number in 0..<frameCount {
            if number > 0 { text.append(UInt8(ascii: ",")) }
            text.append(contentsOf: frame)
        }
        text.append(contentsOf: "]}]}".utf8)
        #expect(text.count > JSONLimits.default.maxInputBytes)
        #expect(parseError(text)?.reason == .inputTooLarge(limit: JSONLimits.default.maxInputBytes))
        let parsed = try JSON(parsing: text, limits: .largeDocument)
        let frames = parsed["threads"]?[0]?["frames"]?.array
        #expect(frames?.count == frameCount)
        #expect(frames?.last?["pc"] == "0x5555deadbeef")
    }
}
