import BulkheadPolicy

/// Signals in words, for headlines (`SIGSEGV (segmentation fault)`), and the backtracer's words
/// for them, to tell whether its report is about the signal the process died of.
enum SignalWords {
    // The signals a death is explained by (the generic Linux numbers, x86_64 and arm64 alike).
    static let quit: Int32 = 3
    static let illegalInstruction: Int32 = 4
    static let trap: Int32 = 5
    static let abort: Int32 = 6
    static let busError: Int32 = 7
    static let floatingPointException: Int32 = 8
    static let kill: Int32 = 9
    static let segmentationFault: Int32 = 11
    static let badSystemCall: Int32 = 31

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
        if description.hasPrefix("Swift runtime failure") { return [illegalInstruction, trap] }
        switch description {
        case "Illegal instruction": return [illegalInstruction]
        case "System trap": return [trap]
        case "Aborted": return [abort]
        case "Bus error": return [busError]
        case "Floating point exception": return [floatingPointException]
        case "Bad pointer dereference": return [segmentationFault]
        case "Terminated": return [quit]
        case "Bad system call": return [badSystemCall]
        default: return nil
        }
    }
}
