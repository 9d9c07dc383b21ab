/// Durations (`250ms`, `1.5s`) and sizes (`64MiB`) as bulkhead's config writes them.
enum Quantity {
    private static let durationUnits: [(suffix: String, ns: UInt64)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
        ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    private static let sizeUnits: [(suffix: String, bytes: UInt64)] = [
        ("", 1), ("B", 1),
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
        ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
    ]

    /// Nanoseconds. A unit is required except for a bare `0`.
    static func duration(_ text: String) -> UInt64? {
        if text == "0" { return 0 }
        guard let (number, unit) = split(text), let scale = durationUnits.first(where: { $0.suffix == unit })
        else { return nil }
        return scaled(number, by: scale.ns)
    }

    /// Bytes. No unit means bytes.
    static func size(_ text: String) -> Int? {
        guard let (number, unit) = split(text), let scale = sizeUnits.first(where: { $0.suffix == unit }),
              let bytes = scaled(number, by: scale.bytes), bytes <= UInt64(Int.max)
        else { return nil }
        return Int(bytes)
    }

    /// `1.5s` → ("1.5", "s").
    private static func split(_ text: String) -> (number: Substring, unit: String)? {
        let end = text.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? text.endIndex
        guard end != text.startIndex else { return nil }
        return (text[..<end], String(text[end...]))
    }

    /// Exact decimal scaling (no Double): `1.5` × 1e9 = 1_500_000_000.
    private static func scaled(_ number: Substring, by unit: UInt64) -> UInt64? {
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = UInt64(parts[0].isEmpty ? "0" : parts[0]) else { return nil }
        var (total, overflow) = whole.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 18, let fraction = UInt64(digits) else { return nil }
            var divisor: UInt64 = 1
            for _ in 0..<digits.count { divisor *= 10 }
            // fraction/divisor < 1, so this cannot exceed `unit`; multiply first for precision
            // when it fits, else divide first.
            let (product, productOverflow) = fraction.multipliedReportingOverflow(by: unit)
            let part = productOverflow ? fraction / divisor * unit : product / divisor
            (total, overflow) = total.addingReportingOverflow(part)
            guard !overflow else { return nil }
        }
        return total
    }

    /// `1500000000` → `1.5s`, for messages.
    static func describe(ns: UInt64) -> String {
        if ns == 0 { return "0" }
        for (suffix, scale) in [("h", UInt64(3_600_000_000_000)), ("m", 60_000_000_000), ("s", 1_000_000_000),
                                ("ms", 1_000_000), ("us", 1_000)] where ns % scale == 0 {
            return "\(ns / scale)\(suffix)"
        }
        if ns >= 1_000_000 { return "\(ns / 1_000_000)ms" }
        return "\(ns)ns"
    }
}
