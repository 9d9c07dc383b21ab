/// Linux signal numbers and names, as a table: policy cannot import Glibc, and rules name
/// signals (`signal: [BUS]`). The numbers are the generic Linux ones (x86_64 and arm64 agree).
public enum Signals {
    public static let table: [(name: String, number: Int32)] = [
        ("HUP", 1), ("INT", 2), ("QUIT", 3), ("ILL", 4), ("TRAP", 5), ("ABRT", 6), ("BUS", 7),
        ("FPE", 8), ("KILL", 9), ("USR1", 10), ("SEGV", 11), ("USR2", 12), ("PIPE", 13),
        ("ALRM", 14), ("TERM", 15), ("STKFLT", 16), ("CHLD", 17), ("CONT", 18), ("STOP", 19),
        ("TSTP", 20), ("TTIN", 21), ("TTOU", 22), ("URG", 23), ("XCPU", 24), ("XFSZ", 25),
        ("VTALRM", 26), ("PROF", 27), ("WINCH", 28), ("IO", 29), ("PWR", 30), ("SYS", 31),
    ]

    public static let hangup: Int32 = 1
    public static let interrupt: Int32 = 2
    public static let quit: Int32 = 3
    public static let kill: Int32 = 9
    public static let terminate: Int32 = 15

    /// The signals that mean the program itself faulted (SPEC §3 `crash`).
    public static let crashSignals: Set<Int32> = [4, 5, 6, 7, 8, 11, 31]
    /// Signals a resource limit delivers (RLIMIT_CPU, RLIMIT_FSIZE).
    public static let limitSignals: Set<Int32> = [24, 25]

    /// `TERM`, `SIGTERM`, `sigterm` or `15` → 15.
    public static func number(_ text: String) -> Int32? {
        if let n = Int32(text), n > 0, n < 65 { return n }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        return table.first { $0.name == name }?.number
    }

    /// 15 → `TERM`; unknown numbers (real-time signals) → `RTMIN+n` or the number.
    public static func name(_ number: Int32) -> String {
        if let entry = table.first(where: { $0.number == number }) { return entry.name }
        if number >= 34 && number <= 64 { return "RTMIN+\(number - 34)" }
        return "\(number)"
    }
}
