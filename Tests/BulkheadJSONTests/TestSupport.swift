import BulkheadJSON

/// SplitMix64: a tiny deterministic generator, so every randomized test replays exactly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The error parsing `text` throws, or `nil` when it parses.
func parseError(_ text: String, limits: JSONLimits = .default) -> JSONError? {
    parseError(Array(text.utf8), limits: limits)
}

/// The error parsing `bytes` throws, or `nil` when they parse.
func parseError(_ bytes: [UInt8], limits: JSONLimits = .default) -> JSONError? {
    do {
        _ = try JSON(parsing: bytes, limits: limits)
        return nil
    } catch {
        return error
    }
}

/// `text` as bytes with `inserted` spliced in at the `^` marker (for invalid UTF-8).
func bytes(_ text: String, inserting inserted: [UInt8]) -> [UInt8] {
    var result: [UInt8] = []
    for byte in text.utf8 {
        if byte == UInt8(ascii: "^") {
            result.append(contentsOf: inserted)
        } else {
            result.append(byte)
        }
    }
    return result
}

/// A random value of bounded depth, exercising every case, awkward strings and extreme numbers.
func randomJSON(depth: Int, using rng: inout SplitMix64) -> JSON {
    let kind = depth <= 0 ? Int.random(in: 0..<5, using: &rng) : Int.random(in: 0..<7, using: &rng)
    switch kind {
    case 0:
        return .null
    case 1:
        return .bool(Bool.random(using: &rng))
    case 2:
        let extremes: [Int64] = [.min, .max, 0, -1, 1, 1 << 53, (1 << 53) + 1]
        return .int(Bool.random(using: &rng) ? extremes.randomElement(using: &rng)! : Int64.random(in: .min ... .max, using: &rng))
    case 3:
        // Any finite Double, from its bits (NaN is left out: it equals nothing).
        while true {
            let number = Double(bitPattern: rng.next())
            if number.isFinite { return .double(number) }
        }
    case 4:
        return .string(randomString(using: &rng))
    case 5:
        let count = Int.random(in: 0..<5, using: &rng)
        return .array((0..<count).map { _ in randomJSON(depth: depth - 1, using: &rng) })
    default:
        let count = Int.random(in: 0..<5, using: &rng)
        var object = JSONObject()
        for _ in 0..<count {
            object.set(randomString(using: &rng), randomJSON(depth: depth - 1, using: &rng))
        }
        return .object(object)
    }
}

/// A short string drawn from control characters, JSON syntax, Latin, BMP and astral scalars.
func randomString(using rng: inout SplitMix64) -> String {
    let pools: [ClosedRange<UInt32>] = [0x00...0x1F, 0x20...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF]
    var text = ""
    for _ in 0..<Int.random(in: 0..<8, using: &rng) {
        let pool = pools.randomElement(using: &rng)!
        if let scalar = Unicode.Scalar(UInt32.random(in: pool, using: &rng)) {
            text.unicodeScalars.append(scalar)
        }
    }
    return text
}
