import BulkheadJSON
import Testing

/// Hostile input: whatever the bytes, parsing returns a value or throws; it never traps. (A trap
/// would kill the test process, so reaching the end is the assertion.) Tests run in debug builds,
/// where buffer accesses are bounds-checked, so an out-of-range read would trap here too.
@Suite("Fuzz")
struct JSONFuzzTests {
    /// Bytes weighted towards JSON's syntax, so random strings get past the first byte.
    static let alphabet: [UInt8] = Array(#"{}[],:"\ -+.0123456789eEtrufalsn/bu"#.utf8) + [0x00, 0x09, 0x0A, 0x1F, 0x7F, 0x80, 0xBF, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xFF]

    static let seeds: [String] = [
        #"{"id":"api:0","pid":4242,"ready":true,"exit":null,"load":0.5,"tags":["a",1,[]],"limits":{"memory":1073741824,"e":{}}}"#,
        #"[1,-2.5e-3,0,-0,1E+2,9223372036854775807,-9223372036854775808,18446744073709551616]"#,
        #"["\"\\\/\b\f\n\r\t","\u0041\u00e9\u20ac\ud83d\ude00","é€😀",""]"#,
        #"{"a":{"b":{"c":{"d":[[[[{"e":[true,false,null]}]]]]}}}}"#,
        #"{"a":1,"a":2,"b":[{"a":3,"a":4}]}"#,
        "  [ 1 , { \"k\" : \"v\" } ]  ",
    ]

    static let tightLimits = JSONLimits(maxDepth: 4, maxInputBytes: 96, maxStringBytes: 6, maxElements: 12, maxNumberLength: 8)

    /// Parses `bytes`; when they parse, the value must write out and parse back to itself.
    static func check(_ bytes: [UInt8], limits: JSONLimits = .default) {
        let value: JSON
        do {
            value = try JSON(parsing: bytes, limits: limits)
        } catch {
            #expect(error.offset >= 0 && error.offset <= max(bytes.count, limits.maxInputBytes))
            return
        }
        // Doubles written as `null` (none here: the parser never yields NaN or infinity) would
        // break this; so would a lossy writer.
        #expect((try? JSON(parsing: value.encodedBytes())) == value)
    }

    @Test func randomByteStrings() {
        var rng = SplitMix64(seed: 0xF022_0001)
        for _ in 0..<2500 {
            let length = Int.random(in: 0..<40, using: &rng)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(length)
            for _ in 0..<length {
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    bytes.append(UInt8.random(in: 0...255, using: &rng))
                } else {
                    bytes.append(Self.alphabet.randomElement(using: &rng)!)
                }
            }
            Self.check(bytes)
            Self.check(bytes, limits: Self.tightLimits)
        }
    }

    @Test func mutatedDocuments() {
        var rng = SplitMix64(seed: 0xF022_0002)
        let seeds = Self.seeds.map { Array($0.utf8) }
        for seed in seeds {
            #expect((try? JSON(parsing: seed)) != nil)
        }
        for _ in 0..<2500 {
            var bytes = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                Self.mutate(&bytes, using: &rng)
            }
            Self.check(bytes)
            Self.check(bytes, limits: Self.tightLimits)
        }
    }

    /// Random values written out and then damaged.
    @Test func mutatedRandomValues() {
        var rng = SplitMix64(seed: 0xF022_0003)
        for _ in 0..<600 {
            var bytes = randomJSON(depth: 3, using: &rng).encodedBytes(Bool.random(using: &rng) ? .compact : .pretty)
            Self.mutate(&bytes, using: &rng)
            Self.check(bytes)
        }
    }

    static func mutate(_ bytes: inout [UInt8], using rng: inout SplitMix64) {
        let randomByte = Int.random(in: 0..<3, using: &rng) == 0 ? UInt8.random(in: 0...255, using: &rng) : alphabet.randomElement(using: &rng)!
        guard !bytes.isEmpty else {
            bytes.append(randomByte)
            return
        }
        let position = Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<7, using: &rng) {
        case 0:
            bytes[position] = randomByte
        case 1:
            bytes.insert(randomByte, at: position)
        case 2:
            bytes.remove(at: position)
        case 3:
            bytes.removeSubrange(position...)
        case 4:
            // Repeat a slice: deepens nesting, repeats keys.
            let end = min(bytes.count, position + Int.random(in: 1...16, using: &rng))
            bytes.insert(contentsOf: bytes[position..<end], at: position)
        case 5:
            bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
        default:
            let other = Int.random(in: 0..<bytes.count, using: &rng)
            bytes.swapAt(position, other)
        }
    }
}
