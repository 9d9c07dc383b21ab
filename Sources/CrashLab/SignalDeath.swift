import Glibc

/// `--die signal-NAME`: the process kills itself with a signal, the way the kernel would.
enum SignalDeath {
    /// Restores the default disposition (the Swift backtracer has handlers on SIGSEGV, SIGBUS,
    /// SIGILL, …, and `--ignore-term` may have ignored SIGTERM), unblocks the signal in this
    /// thread, and raises it. Returns only when the default action does not end the process
    /// (CHLD, CONT, URG, WINCH are ignored by default; STOP-like ones return after SIGCONT).
    static func raise(_ signal: Int32) {
        var action = sigaction()
        sigemptyset(&action.sa_mask)
        _ = sigaction(signal, &action, nil)   // EINVAL for KILL and STOP, which need nothing
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        DyingStamp.now()
        _ = Glibc.raise(signal)
    }
}
