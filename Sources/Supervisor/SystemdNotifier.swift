import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// bulkhead's own sd_notify client: `ServiceNotifications` decides what to say and when, this
/// sends it. Used only from the loop thread. Without `NOTIFY_SOCKET` it is never created
/// (the daemon's hooks are then no-ops), as sd-daemon.c does nothing without one.
final class SystemdNotifier {
    /// What the service manager put in bulkhead's environment.
    struct Environment: Equatable {
        var notifySocket: String?
        var watchdogMicroseconds: UInt64?
        var watchdogPID: Int32?

        /// The watchdog applies to us: `WATCHDOG_USEC` set, and `WATCHDOG_PID` unset or ours
        /// (sd_watchdog_enabled(3)'s rule).
        func watchdog(forPID pid: Int32) -> Duration? {
            guard let usec = watchdogMicroseconds, usec > 0 else { return nil }
            if let owner = watchdogPID, owner != pid { return nil }
            return .microseconds(Int64(clamping: usec))
        }
    }

    static let variables = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]

    /// Reads the variables and removes them from the process environment, so nothing bulkhead
    /// starts (workers get their own per-instance socket anyway; hooks, `/bin/sh`) can talk to
    /// bulkhead's service manager in its name.
    static func takeEnvironment() -> Environment {
        func read(_ name: String) -> String? {
            guard let raw = getenv(name) else { return nil }
            let value = String(cString: raw)
            return value.isEmpty ? nil : value
        }
        let environment = Environment(
            notifySocket: read("NOTIFY_SOCKET"),
            watchdogMicroseconds: read("WATCHDOG_USEC").flatMap { UInt64($0) },
            watchdogPID: read("WATCHDOG_PID").flatMap { Int32($0) }
        )
        for name in variables { unsetenv(name) }
        return environment
    }

    /// Datagrams that would have blocked, oldest first (bounded: a service manager that reads
    /// nothing gets the newest few when it wakes up; READY/STOPPING are never dropped).
    private var unsent: [String] = []
    private static let maxUnsent = 64
    private static let retryDelay: Duration = .milliseconds(50)
    var machine: ServiceNotifications
    let sender: NotifySender
    /// What the service manager told us (a re-exec hands it on).
    var environment = Environment()
    /// The first send error, for one line in the log (a service manager gone is not fatal).
    private var reportedFailure = false
    var failureNote: ((String) -> Void)?

    init(sender: NotifySender, settings: ServiceNotifications.Settings) {
        self.sender = sender
        machine = ServiceNotifications(settings: settings)
    }

    func send(_ messages: [String]) {
        guard !messages.isEmpty || !unsent.isEmpty else { return }
        unsent.append(contentsOf: messages)
        while let message = unsent.first {
            do {
                guard try sender.send(message) else { break }
            } catch {
                if !reportedFailure {
                    reportedFailure = true
                    failureNote?("sd_notify to \(sender.address) failed: \(error); systemd may not see bulkhead's state")
                }
            }
            unsent.removeFirst()
        }
        if unsent.count > Self.maxUnsent {
            // Keep every state change; drop the oldest pings and status lines, which later
            // ones supersede.
            var excess = unsent.count - Self.maxUnsent
            unsent.removeAll { message in
                guard excess > 0, message.hasPrefix("STATUS=") || message == "WATCHDOG=1" || message.hasPrefix("EXTEND_TIMEOUT_USEC=") else { return false }
                excess -= 1
                return true
            }
        }
    }

    /// When the loop must wake next for the notifications (or to retry what would have blocked).
    func deadline(_ now: @autoclosure () -> Instant) -> Instant? {
        let planned = machine.nextDeadline()
        guard !unsent.isEmpty else { return planned }
        let retry = now() + Self.retryDelay
        return planned.map { min($0, retry) } ?? retry
    }

    func close() {
        sender.close()
    }
}

extension SystemdNotifier.Environment {
    /// What a re-exec carried (`Daemon.systemdHandoff`).
    init(handoff: JSON) {
        self.init(notifySocket: handoff["socket"]?.string,
                  watchdogMicroseconds: handoff["watchdog_usec"]?.int.map { UInt64(max(0, $0)) },
                  watchdogPID: handoff["watchdog_pid"]?.int.flatMap { Int32(exactly: $0) })
    }
}
