import BulkheadJSON
import Testing

/// `JSONStringBytes.decode`: one JSON string to its bytes, for the CLI's status table. It must
/// mean exactly what `JSON(parsing:)` means by the same text, and refuse what it refuses.
@Suite("One string's bytes")
struct JSONStringBytesTests {
    static func decode(_ text: [UInt8], limits: JSONLimits = .default) throws(JSONError) -> [UInt8] {
        try text.withUnsafeBytes { raw in
            Result { () throws(JSONError) in try JSONStringBytes.decode(raw, limits: limits) }
        }.get()
    }

    @Test("every kind of text, written by JSONWriter, comes back byte for byte")
    func roundTrips() throws {
        let texts = [
            "", "plain", "INSTANCE  STATE\napi:0     running\n",
            "quote \" backslash \\ slash / tab \t nul \u{0} unit \u{1F} del \u{7F} é 😀 \u{2028}",
            String(repeating: "row with a status text ✓\n", count: 4000),
        ]
        var rng = SplitMix64(seed: 0x5EED_0002)
        let random = (0..<300).map { _ in randomString(using: &rng) }
        for text in texts + random {
            let encoded = JSON.string(text).encodedBytes(.compact)
            #expect(try Self.decode(encoded) == Array(text.utf8))
        }
    }

    @Test("escapes the writer never uses decode as the parser decodes them")
    func escapes() throws {
        for (text, expected) in [
            (#""\/\b\f\u0041\u00e9\ud83d\ude00""#, "/\u{8}\u{C}Aé😀"),
            (#""a"  "#, "a"),   // whitespace may follow, as after any document
        ] {
            let bytes = Array(text.utf8)
            #expect(try Self.decode(bytes) == Array(expected.utf8), "\(text)")
            #expect(try JSON(parsing: bytes).string == expected)
        }
    }

    @Test("what is not exactly one string is refused, with the parser's reason", arguments: [
        (#"123"#, JSONError.Reason.expectedString),
        (#""a","b""#, .trailingData),
        (#""a"x"#, .trailingData),
        (#""unterminated"#, .unexpectedEnd),
        (#""bad \x escape""#, .invalidEscape),
        (#""lone \ud800 half""#, .loneSurrogate),
        ("\"raw \n newline\"", .controlCharacterInString),
        ("", .expectedString),
    ])
    func refusals(text: String, reason: JSONError.Reason) {
        #expect(throws: JSONError.self) { try Self.decode(Array(text.utf8)) }
        do {
            _ = try Self.decode(Array(text.utf8))
        } catch {
            #expect(error.reason == reason, "\(text)")
        }
    }

    @Test("invalid UTF-8 and oversized strings are refused")
    func limits() {
        #expect(throws: JSONError.self) { try Self.decode([0x22, 0xC3, 0x28, 0x22]) }
        let long = JSON.string(String(repeating: "x", count: 100)).encodedBytes(.compact)
        var small = JSONLimits.default
        small.maxStringBytes = 50
        #expect(throws: JSONError.self) { try Self.decode(long, limits: small) }
    }
}
