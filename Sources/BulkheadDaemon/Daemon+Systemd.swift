import BulkheadPolicy
import BulkheadSystem

/// Hooks the loop calls for systemd (filled in by the systemd/journald work): sd_notify READY,
/// STATUS, RELOADING, STOPPING and WATCHDOG.
extension Daemon {
    /// After setup, before the first `startAll`.
    func startSystemd() {}
    /// End of every loop iteration: READY=1 once everything startable started, STATUS= updates.
    func systemdIterationEnded(_ now: Instant) {}
    /// The next instant the loop must wake for systemd (watchdog pings, status refresh).
    func systemdDeadline() -> Instant? { nil }
    /// Around a reload.
    func systemdReloading(_ now: Instant) {}
    func systemdReloaded(_ now: Instant) {}
    /// Shutdown began.
    func systemdStopping() {}
}
