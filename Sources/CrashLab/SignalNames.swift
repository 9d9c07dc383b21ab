import Glibc

/// Signal names without the SIG prefix, as `--die signal-NAME` and `--print-env` use them.
enum SignalNames {
    static let table: [(name: String, number: Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("ILL", SIGILL), ("TRAP", SIGTRAP),
        ("ABRT", SIGABRT), ("BUS", SIGBUS), ("FPE", SIGFPE), ("KILL", SIGKILL), ("USR1", SIGUSR1),
        ("SEGV", SIGSEGV), ("USR2", SIGUSR2), ("PIPE", SIGPIPE), ("ALRM", SIGALRM), ("TERM", SIGTERM),
        ("STKFLT", SIGSTKFLT), ("CHLD", SIGCHLD), ("CONT", SIGCONT), ("STOP", SIGSTOP), ("TSTP", SIGTSTP),
        ("TTIN", SIGTTIN), ("TTOU", SIGTTOU), ("URG", SIGURG), ("XCPU", SIGXCPU), ("XFSZ", SIGXFSZ),
        ("VTALRM", SIGVTALRM), ("PROF", SIGPROF), ("WINCH", SIGWINCH), ("IO", SIGIO), ("PWR", SIGPWR),
        ("SYS", SIGSYS),
    ]

    /// `BUS`, `SIGBUS`, `bus` or `7`.
    static func number(_ text: String) -> Int32? {
        if let number = Int32(text) { return (1...64).contains(number) ? number : nil }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        return table.first { $0.name == name }?.number
    }

    /// `BUS`, or `RTMIN+3` / the number for signals without a classic name.
    static func name(_ number: Int32) -> String {
        if let entry = table.first(where: { $0.number == number }) { return entry.name }
        let rtmin = __libc_current_sigrtmin()
        if number >= rtmin { return "RTMIN+\(number - rtmin)" }
        return "\(number)"
    }
}
