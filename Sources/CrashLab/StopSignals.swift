import CLinux
import Glibc

/// What SIGTERM and SIGINT do (`--ignore-term`, `--term-exit`, `--slow-stop`).
enum StopSignals {
    private static let stopSignals = [SIGTERM, SIGINT]

    /// Must run before any other thread exists: the waiter below sees the signals only if
    /// every thread blocks them, and threads inherit the mask of the thread that creates them.
    static func install(_ behaviour: StopBehaviour) {
        switch behaviour {
        case .defaultDisposition:
            return
        case .ignore:
            for signal in stopSignals { _ = bh_ignore_signal(signal) }
        case .exit(let code):
            startWaiter { signal in
                Output.note("got SIG\(SignalNames.name(signal)), exiting with \(code)")
                DyingStamp.now()
                _exit(code)
            }
        case .slowStop(let delay):
            startWaiter { signal in
                Output.note("got SIG\(SignalNames.name(signal)), stopping in \(Quantity.describe(ns: delay))")
                Clock.sleep(for: delay)
                Output.note("stopped")
                DyingStamp.now()
                _exit(0)
            }
        }
    }

    /// No handler runs in signal context: the signals stay blocked and one thread takes them
    /// with sigwait, where it may print, sleep and exit like ordinary code.
    private static func startWaiter(_ onSignal: @escaping @Sendable (Int32) -> Never) {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in stopSignals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let blocked = set
        Threads.start("stop-signals") {
            var set = blocked
            var signal: Int32 = 0
            while sigwait(&set, &signal) != 0 {}
            onSignal(signal)
        }
    }
}
