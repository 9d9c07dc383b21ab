/// A stable hash of *what* went wrong, so the same bug hit again gets the same value (SPEC §7):
/// the fatal message, source location and top frames when the Swift runtime told us, else the
/// signal (or exit code) and the stderr headline. Numbers and addresses in messages are masked:
/// `index 7 out of range` and `index 9 out of range` are the same bug.
public enum CrashFingerprint {
    public static func compute(_ facts: DeathFacts) -> String {
        if !facts.fingerprintBasis.isEmpty {
            return hex(fnv1a(facts.fingerprintBasis.joined(separator: "\n")))
        }
        var parts: [String] = []
        let frames = facts.topFrames.prefix(5).map(mask)
        if facts.fatalMessage != nil || facts.sourceLocation != nil || !frames.isEmpty {
            parts.append("msg:" + mask(facts.fatalMessage ?? facts.headline ?? ""))
            parts.append("loc:" + (facts.sourceLocation ?? ""))
            parts.append(contentsOf: frames.map { "frame:" + $0 })
        } else {
            parts.append("how:" + describe(facts.termination))
            parts.append("headline:" + mask(facts.headline ?? stderrHeadline(facts.stderrTail) ?? ""))
        }
        return hex(fnv1a(parts.joined(separator: "\n")))
    }

    static func describe(_ termination: Termination) -> String {
        switch termination {
        case .exited(let code): return "exit \(code)"
        case .signaled(let signal, _): return "signal \(Signals.name(signal))"
        case .spawnFailed(let failure): return "spawn \(failure.stage) \(failure.reason)"
        case .unknown: return "exit unknown"
        }
    }

    /// The last non-empty stderr line: usually the one that says why.
    public static func stderrHeadline(_ tail: [String]) -> String? {
        tail.last { !$0.allSatisfy { $0 == " " || $0 == "\t" } }
    }

    /// Replaces hex addresses (`0x…`, `$…`) and digit runs with `#`.
    static func mask(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var scalars = Array(text.unicodeScalars)[...]
        while let c = scalars.first {
            if c == "0", scalars.dropFirst().first == "x" {
                scalars = scalars.dropFirst(2).drop { $0.properties.isASCIIHexDigit }
                out += "#"
            } else if c == "$", scalars.dropFirst().prefix(while: { $0.properties.isASCIIHexDigit }).count >= 6 {
                // The Swift runtime's `(unknown context at $55c40ac955e0)`: an address too.
                scalars = scalars.dropFirst().drop { $0.properties.isASCIIHexDigit }
                out += "#"
            } else if ("0"..."9").contains(c) {
                scalars = scalars.drop { ("0"..."9").contains($0) }
                out += "#"
            } else {
                out.unicodeScalars.append(c)
                scalars = scalars.dropFirst()
            }
        }
        return out
    }

    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    static func hex(_ value: UInt64) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        for shift in stride(from: 60, through: 0, by: -4) {
            out.append(digits[Int((value >> UInt64(shift)) & 0xf)])
        }
        return out
    }
}
