/// Every fuzz target: a parser of bytes bulkhead does not control, run on whatever libFuzzer
/// makes up. A target returns normally for any input; a trap, a sanitizer report, a leak or a
/// run over the time limit is a finding (scripts/fuzz). Seeds are in Fuzz/corpus/<name>/.
enum FuzzTargets {
    typealias Target = @Sendable (UnsafeRawBufferPointer) -> Void

    /// One line per parser. Add a target here (and a seed directory Fuzz/corpus/<name>/).
    static let all: [String: Target] = [
        "config": ConfigFuzz.run,
        "control": ControlFuzz.run,
        "notify": NotifyFuzz.run,
        "forensics": ForensicsFuzz.run,
        "breadcrumbs": BreadcrumbsFuzz.run,
        "json": JSONFuzz.run,
        "state": StateFileFuzz.run,
        "envfile": EnvFileFuzz.run,
    ]

    nonisolated(unsafe) private static var selected: Target?

    static func select(_ name: String) {
        selected = all[name]
    }

    static func run(_ bytes: UnsafeRawBufferPointer) {
        selected?(bytes)
    }
}

/// Splits fuzz input into fields at a separator byte (so one input can carry several inputs).
struct FuzzFields {
    private var rest: UnsafeRawBufferPointer.SubSequence

    init(_ bytes: UnsafeRawBufferPointer) {
        rest = bytes[...]
    }

    /// The bytes up to the next `separator` (or the end), consumed with it.
    mutating func next(separator: UInt8 = 0) -> [UInt8] {
        if let end = rest.firstIndex(of: separator) {
            defer { rest = rest[(end + 1)...] }
            return Array(rest[..<end])
        }
        defer { rest = rest[rest.endIndex...] }
        return Array(rest)
    }

    mutating func byte() -> UInt8 {
        guard let first = rest.first else { return 0 }
        rest = rest.dropFirst()
        return first
    }

    var remaining: [UInt8] { Array(rest) }
}
