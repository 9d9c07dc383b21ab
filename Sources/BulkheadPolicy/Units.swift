/// Parsing of the config's durations (`250ms`, `10s`, `5m`, `1h`, `1h30m`) and sizes
/// (`512MiB`, `2GiB`, `4096`). Pure functions: the config layer turns a `nil` into an error that
/// names file, line and key.
public enum Units {
    private static let durationUnits: [(String, Int64)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
        ("m", 60_000_000_000), ("h", 3_600_000_000_000), ("d", 86_400_000_000_000),
    ]

    /// A duration string: one or more `<number><unit>` parts (`1h30m`, `1.5s`), or `0`. nil for
    /// anything else, and for more than about 285 years (Int64 nanoseconds).
    public static func duration(_ text: String) -> Duration? {
        guard let total = nanoseconds(text), total <= 9.0e18 else { return nil }
        // Rounded, not truncated: 1.001 × 1e9 is 1000999999.99… in binary floating point.
        return .nanoseconds(Int64(total.rounded()))
    }

    /// Written like a duration, whatever its size (so "100000000h" can be called too long
    /// rather than not a duration).
    public static func isDurationSyntax(_ text: String) -> Bool {
        nanoseconds(text) != nil
    }

    private static func nanoseconds(_ text: String) -> Double? {
        let s = Array(text.unicodeScalars)
        if text == "0" { return 0 }
        guard !s.isEmpty else { return nil }
        var total: Double = 0
        var index = 0
        while index < s.count {
            var number = ""
            while index < s.count, s[index] == "." || ("0"..."9").contains(s[index]) {
                number.unicodeScalars.append(s[index])
                index += 1
            }
            var unit = ""
            while index < s.count, !(s[index] == "." || ("0"..."9").contains(s[index])) {
                unit.unicodeScalars.append(s[index])
                index += 1
            }
            guard let value = Double(number), value >= 0, value.isFinite,
                  let scale = durationUnits.first(where: { $0.0 == unit })?.1 else { return nil }
            total += value * Double(scale)
        }
        return total.isFinite ? total : nil
    }

    /// Shortest readable form, e.g. `250ms`, `10s`, `1m30s`.
    public static func format(_ duration: Duration) -> String {
        var ns = duration.nanoseconds
        if ns == 0 { return "0s" }
        if ns < 1_000_000 {
            return ns % 1_000 == 0 ? "\(ns / 1_000)us" : "\(ns)ns"
        }
        if ns < 1_000_000_000 || ns % 1_000_000_000 != 0 && ns < 60_000_000_000 {
            if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
            if ns >= 1_000_000_000 {
                let ms = ns / 1_000_000
                return "\(ms / 1000).\(pad3(ms % 1000))s"
            }
            return "\(ns / 1_000_000)ms"
        }
        var out = ""
        let parts: [(Int64, String)] = [(86_400_000_000_000, "d"), (3_600_000_000_000, "h"), (60_000_000_000, "m"), (1_000_000_000, "s")]
        for (scale, unit) in parts where ns >= scale {
            out += "\(ns / scale)\(unit)"
            ns %= scale
        }
        if ns >= 1_000_000 { out += "\(ns / 1_000_000)ms" }
        return out
    }

    /// A measured time for people (`379µs`, `1.2ms`, `45ms`, `2.3s`): rounded, never raw
    /// nanoseconds. Not for config values (`format` round-trips those).
    public static func latency(_ duration: Duration) -> String {
        let us = duration.nanoseconds / 1_000
        if us < 1_000 { return "\(us)µs" }
        if us < 10_000 { return us % 1_000 < 100 ? "\(us / 1_000)ms" : "\(us / 1_000).\(us % 1_000 / 100)ms" }
        if us < 1_000_000 { return "\(us / 1_000)ms" }
        return "\(us / 1_000_000).\(us % 1_000_000 / 100_000)s"
    }

    private static func pad3(_ v: Int64) -> String {
        v < 10 ? "00\(v)" : v < 100 ? "0\(v)" : "\(v)"
    }

    private static let sizeUnits: [(String, UInt64)] = [
        ("", 1), ("B", 1),
        ("K", 1_000), ("KB", 1_000), ("M", 1_000_000), ("MB", 1_000_000), ("G", 1_000_000_000), ("GB", 1_000_000_000),
        ("T", 1_000_000_000_000), ("TB", 1_000_000_000_000),
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
    ]

    /// A byte size: `512MiB`, `2GiB`, `1.5GiB`, `4096`.
    public static func size(_ text: String) -> UInt64? {
        let trimmed = text.trimmingSpaces()
        let digits = trimmed.prefix { $0 == "." || $0.isASCIIDigit }
        let unit = String(trimmed.dropFirst(digits.count)).trimmingSpaces()
        guard !digits.isEmpty, let value = Double(digits),
              let scale = sizeUnits.first(where: { $0.0 == unit })?.1 else { return nil }
        let bytes = value * Double(scale)
        guard bytes >= 0, bytes < 1.8e19 else { return nil }
        return UInt64(bytes)
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
