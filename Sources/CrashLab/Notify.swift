import CLinux
import Glibc

/// An sd_notify client over `$NOTIFY_SOCKET` (a path or an abstract `@name`). Without the
/// variable every send is a no-op, as sd-daemon.c does.
struct Notifier: Sendable {
    let socket: String?

    static func fromEnvironment() -> Notifier {
        Notifier(socket: getenv("NOTIFY_SOCKET").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 })
    }

    func send(_ message: String) {
        guard let socket else { return }
        var message = message
        let result = message.withUTF8 { bh_notify_send(socket, $0.baseAddress, $0.count) }
        if result < 0 {
            Output.note("sd_notify '\(message)' to \(socket) failed: \(String(cString: strerror(-result)))")
        }
    }
}

/// Sends `WATCHDOG=1` every `$WATCHDOG_USEC / 2` from its own thread, until `stopAt`
/// (`--stop-pinging-after`, or the moment `--hang` hangs the process).
enum Watchdog {
    static func start(notifier: Notifier, stopAt: UInt64?) {
        guard notifier.socket != nil, let interval = pingInterval() else { return }
        Threads.start("watchdog") {
            var next = Clock.now()
            while true {
                if let stopAt, next >= stopAt {
                    Clock.sleep(until: stopAt)
                    Output.note("watchdog pings stopped")
                    return
                }
                Clock.sleep(until: next)
                notifier.send("WATCHDOG=1")
                next += interval
            }
        }
    }

    /// Half of WATCHDOG_USEC, in nanoseconds; nil when the watchdog is off or meant for
    /// another process (WATCHDOG_PID, as sd_watchdog_enabled checks).
    private static func pingInterval() -> UInt64? {
        guard let raw = getenv("WATCHDOG_USEC"), let usec = UInt64(String(cString: raw)), usec > 0
        else { return nil }
        if let pid = getenv("WATCHDOG_PID").map({ String(cString: $0) }), pid != "\(getpid())" {
            return nil
        }
        return max(usec * 1_000 / 2, 1_000_000)
    }
}
