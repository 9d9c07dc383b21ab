import BulkheadJSON
import Testing

@Suite("Round trips")
struct JSONRoundTripTests {
    @Test func handWrittenDocuments() throws {
        let documents: [JSON] = [
            nil, true, false, 0, -1, .int(.max), .int(.min), 0.5, -0.0, 1e300, .double(.leastNonzeroMagnitude), "", "plain",
            "quote \" backslash \\ slash / tab \t nul \u{0} unit \u{1F} del \u{7F} é 😀 \u{2028}",
            [], [[], [[]]], [:], ["": ""], ["a": ["b": ["c": [1, 2.5, "x", nil, true]]]],
        ]
        for document in documents {
            for format in [JSONFormat.compact, .pretty] {
                let text = document.encoded(format)
                #expect(try JSON(parsing: text) == document, "\(text)")
                #expect(try JSON(parsing: text).encoded(format) == text)
            }
        }
    }

    @Test func stringsCompareByBytesNotCanonicalEquivalence() throws {
        let composed = "\u{E9}"
        let decomposed = "e\u{301}"
        #expect(composed == decomposed)  // Swift's String equality…
        #expect(JSON.string(composed) != JSON.string(decomposed))  // …is not JSON's.
        let object = try JSON(parsing: #"{"\u00e9":1,"e\u0301":2}"#)
        #expect(object.object?.count == 2)
        #expect(object[composed] == .int(1))
        #expect(object[decomposed] == .int(2))
    }

    /// Random values of every shape survive both formats exactly, including every Int64 and
    /// every finite Double (compared bit for bit through `==`, and kind for kind).
    @Test func randomValues() throws {
        var rng = SplitMix64(seed: 0x5EED_0001)
        for _ in 0..<400 {
            let value = randomJSON(depth: 4, using: &rng)
            let compact = value.encodedBytes(.compact)
            #expect(!compact.contains(0x0A))
            #expect(try JSON(parsing: compact) == value)
            let pretty = value.encodedBytes(.pretty)
            #expect(try JSON(parsing: pretty) == value)
        }
    }

    /// The parser's exact fast path for short decimals and the writer's for short fractions
    /// must agree bit for bit with the standard library's conversions.
    @Test func decimalConversionsMatchTheStandardLibrary() throws {
        var rng = SplitMix64(seed: 0x5EED_0003)
        for _ in 0..<3000 {
            let mantissa = UInt64.random(in: 0...(Bool.random(using: &rng) ? 9_999 : 99_999_999_999_999_999), using: &rng)
            let exponent = Int.random(in: -30...30, using: &rng)
            let fraction = Int.random(in: 0...8, using: &rng)
            var text = String(mantissa)
            if fraction > 0 {
                text = String(repeating: "0", count: max(0, fraction + 1 - text.count)) + text
                text.insert(".", at: text.index(text.endIndex, offsetBy: -fraction))
            }
            if Bool.random(using: &rng) { text += "e\(exponent)" }
            if Bool.random(using: &rng) { text = "-" + text }
            guard let expected = Double(text) else {
                Issue.record("the standard library rejected \(text)")
                continue
            }
            let parsed = try JSON(parsing: text)
            #expect(parsed.double?.bitPattern == expected.bitPattern || parsed.int.map(Double.init) == expected, "\(text)")
            let written = JSON.double(expected).encoded()
            #expect(written == expected.description, "\(text)")
        }
    }

    @Test func randomDoublesKeepTheirBits() throws {
        var rng = SplitMix64(seed: 0x5EED_0002)
        for _ in 0..<2000 {
            let number = Double(bitPattern: rng.next())
            guard number.isFinite else { continue }
            let parsed = try JSON(parsing: JSON.double(number).encoded())
            guard case .double(let back) = parsed else {
                Issue.record("\(number) came back as \(parsed)")
                continue
            }
            #expect(back.bitPattern == number.bitPattern, "\(number)")
        }
    }
}
