import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

/// bulkhead under systemd (`Type=notify`, SPEC §6): READY=1 once start-up settled, STATUS=
/// kept current, RELOADING=1 … READY=1 around a reload, STOPPING=1, and WATCHDOG=1 from the
/// loop itself. What is said when is `ServiceNotifications` (pure, tested on its own); which
/// instances hold READY back is `Supervision.startupPending()`. Without `NOTIFY_SOCKET` there
/// is no notifier and every hook returns at once.
extension Daemon {
    /// After setup, before the first `startAll`.
    func startSystemd() {
        // After a re-exec the variables are gone from the environment (taken at the first
        // start): the handoff carries them.
        let carried = handoff?.section("systemd")
        let environment = carried.map(SystemdNotifier.Environment.init(handoff:)) ?? SystemdNotifier.takeEnvironment()
        guard let address = environment.notifySocket else { return }
        let watchdog = environment.watchdog(forPID: daemonPID)
        do {
            let sender = try NotifySender(address: address)
            let notifier = SystemdNotifier(sender: sender, settings: .init(watchdogInterval: watchdog.map { $0 / 2 }))
            notifier.environment = environment
            notifier.failureNote = { [unowned self] text in
                emit(SupervisorEvent(.daemon, nil, priority: 4, message: text))
            }
            systemd = notifier
            if carried?["ready"]?.bool == true { notifier.machine.resumeReloading() }
            if carried != nil { return }   // said at the first start
            let ping = watchdog.map { "; WATCHDOG=1 every \(Units.format($0 / 2)) (WatchdogSec=\(Units.format($0)))" } ?? ""
            emit(SupervisorEvent(.daemon, nil, priority: 6, message: "service manager notifications to \(address)\(ping)"))
        } catch {
            emit(SupervisorEvent(.daemon, nil, priority: 3, message: "NOTIFY_SOCKET=\(address) is unusable (\(error)): systemd will not hear from bulkhead"))
        }
    }

    /// End of every loop iteration: READY=1 once start-up settled, STATUS= updates, pings.
    func systemdIterationEnded(_ now: Instant) {
        guard let systemd else { return }
        let messages = systemd.machine.iterationEnded(
            now,
            startupSettled: { supervision.startupSettled() },
            summary: { StatusSummary.line(total: supervision.instanceIDs.count) { supervision.count($0) } }
        )
        systemd.send(messages)
    }

    /// The next instant the loop must wake for systemd (watchdog pings, status refresh).
    func systemdDeadline() -> Instant? {
        systemd?.deadline(MonotonicClock.now())
    }

    /// Around a reload.
    func systemdReloading(_ now: Instant) {
        guard let systemd else { return }
        systemd.send(systemd.machine.reloading(now))
    }

    func systemdReloaded(_ now: Instant) {
        guard let systemd else { return }
        systemd.send(systemd.machine.reloaded(now))
    }

    /// What a re-exec hands the new image: systemd's socket and watchdog, and whether READY=1
    /// was sent (then the new image sends READY=1 again once it serves, after RELOADING=1).
    func systemdHandoff() -> JSON {
        guard let systemd else { return .null }
        let environment = systemd.environment
        return .object([
            ("socket", environment.notifySocket.map(JSON.string) ?? .null),
            ("watchdog_usec", environment.watchdogMicroseconds.map { .int(Int64(clamping: $0)) } ?? .null),
            ("watchdog_pid", environment.watchdogPID.map { .int(Int64($0)) } ?? .null),
            ("ready", .bool(systemd.machine.stage != .starting)),
        ])
    }

    /// Shutdown began.
    func systemdStopping() {
        guard let systemd else { return }
        systemd.send(systemd.machine.stopping(MonotonicClock.now()))
    }
}
