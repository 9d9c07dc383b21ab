import BulkheadPolicy

/// Signals in words, for headlines (`SIGSEGV (segmentation fault)`), and the backtracer's words
/// for them, to tell whether its report is about the signal the process died of.
enum SignalWords {
    /// `SIGSEGV`, `SIGRTMIN+2`.
    static func name(_ signal: Int32) -> String {
        let name = Signals.name(signal)
        return name.first?.isASCIIDigitCharacter == true ? "signal \(name)" : "SIG" + name
    }

    /// What the signal means, as strsignal(3) says it (lower case): `segmentation fault`.
    static func meaning(_ signal: Int32) -> String? {
        meanings.first { $0.signal == signal }?.words
    }

    /// `SIGSEGV (segmentation fault)`.
    static func described(_ signal: Int32) -> String {
        meaning(signal).map { "\(name(signal)) (\($0))" } ?? name(signal)
    }

    private static let meanings: [(signal: Int32, words: String)] = [
        (1, "hangup"), (2, "interrupt"), (3, "quit"), (4, "illegal instruction"), (5, "trace/breakpoint trap"),
        (6, "aborted"), (7, "bus error"), (8, "arithmetic exception"), (9, "killed"), (10, "user signal 1"),
        (11, "segmentation fault"), (12, "user signal 2"), (13, "broken pipe"), (14, "alarm clock"), (15, "terminated"),
        (24, "CPU time limit exceeded"), (25, "file size limit exceeded"), (31, "bad system call"),
    ]

    /// The signal a backtrace report's `description` stands for: `Bad pointer dereference` →
    /// SIGSEGV, `Swift runtime failure: …` → SIGILL or SIGTRAP (the trap instruction: `ud2` on
    /// x86_64, `brk` on arm64), `Terminated` → SIGQUIT (the runtime says so for a thread dump).
    /// Nil for words this runtime has not been seen to use.
    static func signals(forBacktraceDescription description: String) -> Set<Int32>? {
        if description.hasPrefix("Swift runtime failure") { return [4, 5] }
        switch description {
        case "Illegal instruction": return [4]
        case "System trap": return [5]
        case "Aborted": return [6]
        case "Bus error": return [7]
        case "Floating point exception": return [8]
        case "Bad pointer dereference": return [11]
        case "Terminated": return [3]
        case "Bad system call": return [31]
        default: return nil
        }
    }
}
