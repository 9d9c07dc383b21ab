import BulkheadJSON
import Testing

@Suite("Writer")
struct JSONWriterTests {
    static let document: JSON = [
        "id": "api:0",
        "pid": 4242,
        "ready": true,
        "exit": nil,
        "load": 0.5,
        "tags": ["a", 1, []],
        "limits": ["memory": 1_073_741_824, "empty": [:]],
    ]

    @Test func compactIsOneLineWithoutWhitespace() {
        #expect(
            Self.document.encoded(.compact)
                == #"{"id":"api:0","pid":4242,"ready":true,"exit":null,"load":0.5,"tags":["a",1,[]],"limits":{"memory":1073741824,"empty":{}}}"#
        )
        #expect(Self.document.description == Self.document.encoded())
    }

    @Test func prettyIndentsByTwoSpaces() {
        let expected = """
            {
              "id": "api:0",
              "pid": 4242,
              "ready": true,
              "exit": null,
              "load": 0.5,
              "tags": [
                "a",
                1,
                []
              ],
              "limits": {
                "memory": 1073741824,
                "empty": {}
              }
            }
            """
        #expect(Self.document.encoded(.pretty) == expected)
    }

    @Test func scalarsAndEmptyContainers() {
        #expect(JSON.null.encoded(.pretty) == "null")
        #expect(JSON.array([]).encoded(.pretty) == "[]")
        #expect(JSON.object(JSONObject()).encoded(.pretty) == "{}")
        #expect(JSON.array([[]]).encoded(.pretty) == "[\n  []\n]")
        #expect(JSON.bool(false).encoded() == "false")
    }

    @Test func stringEscaping() {
        #expect(JSON.string(#"say "hi" \ bye"#).encoded() == #""say \"hi\" \\ bye""#)
        #expect(JSON.string("\u{8}\u{C}\n\r\t").encoded() == #""\b\f\n\r\t""#)
        #expect(JSON.string("\u{0}\u{1}\u{1F}").encoded() == #""\u0000\u0001\u001f""#)
        // Not escaped: DEL, '/', and every non-ASCII scalar (written as UTF-8).
        #expect(JSON.string("\u{7F}/é€😀\u{2028}").encoded() == "\"\u{7F}/é€😀\u{2028}\"")
        #expect(JSON.string("").encoded() == #""""#)
    }

    @Test func compactNeverEmitsARawNewline() throws {
        let value: JSON = ["line\nkey": "a\nb\r\n", "list": ["\n"]]
        let bytes = value.encodedBytes(.compact)
        #expect(!bytes.contains(0x0A))
        #expect(!bytes.contains(0x0D))
        #expect(try JSON(parsing: bytes) == value)
    }

    @Test func integerExtremesAreExact() {
        #expect(JSON.int(.max).encoded() == "9223372036854775807")
        #expect(JSON.int(.min).encoded() == "-9223372036854775808")
        #expect(JSON.int(0).encoded() == "0")
        #expect(JSON.int(-7).encoded() == "-7")
        #expect(JSON.int(1_700_000_000_123_456_789).encoded() == "1700000000123456789")
    }

    @Test(arguments: [
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e16, "1e+16"),
        (1e-5, "1e-05"),
        (123.456, "123.456"),
        (Double.greatestFiniteMagnitude, "1.7976931348623157e+308"),
        (Double.leastNonzeroMagnitude, "5e-324"),
        (9_223_372_036_854_775_808.0, "9.223372036854776e+18"),
    ])
    func doublesAreShortestRoundTripText(number: Double, text: String) throws {
        #expect(JSON.double(number).encoded() == text)
        let parsed = try JSON(parsing: text)
        #expect(parsed.double?.bitPattern == number.bitPattern)
        guard case .double = parsed else {
            Issue.record("\(text) parsed as \(parsed), not a double")
            return
        }
    }

    @Test func nonFiniteDoublesAreNull() {
        let value: JSON = [.double(.nan), .double(.infinity), .double(-.infinity), .double(.signalingNaN)]
        #expect(value.encoded() == "[null,null,null,null]")
    }

    @Test func encodeAppendsToTheBuffer() {
        var buffer = Array("x".utf8)
        JSON.array([1, 2]).encode(into: &buffer)
        buffer.append(0x0A)
        JSON.bool(true).encode(into: &buffer, format: .pretty)
        #expect(String(decoding: buffer, as: UTF8.self) == "x[1,2]\ntrue")
    }
}
