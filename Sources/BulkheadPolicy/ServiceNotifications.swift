/// What bulkhead tells the service manager that runs it, over the sd_notify protocol (SPEC §6),
/// as a value type: fed the end of every loop iteration, a reload and the start of a shutdown,
/// each with its time, it returns the datagrams to send and says when it next needs the loop to
/// wake. The daemon only sends what it returns (and nothing at all without `NOTIFY_SOCKET`).
///
/// The datagrams, exactly:
/// - `STATUS=<summary>`: whenever the one-line summary changed, at most once per
///   `statusInterval`; a change is never older than that once the loop has woken for it.
/// - `READY=1\nSTATUS=<summary>`: once, when start-up has settled (see `startupPending()`).
/// - `EXTEND_TIMEOUT_USEC=<n>`: while start-up waits on slow instances, every `extendEvery`,
///   so a `start_timeout` longer than the unit's `TimeoutStartSec=` is not cut short. Start-up
///   cannot wait forever: every way up is bounded by policy (`start_timeout`, the ready delay).
/// - `RELOADING=1\nMONOTONIC_USEC=<now>` before a reload and `READY=1` after it (only once
///   READY was sent: systemd does not reload an activating unit).
/// - `STOPPING=1` when shutdown begins.
/// - `WATCHDOG=1` every `watchdogInterval` (half of `WATCHDOG_USEC`), starting at the first
///   iteration. It comes from the loop itself, so a wedged loop stops the pings and systemd
///   acts on it; that is the point of having one.
public struct ServiceNotifications: Sendable {
    public struct Settings: Equatable, Sendable {
        /// Half of `WATCHDOG_USEC`; nil without a watchdog (or when it is meant for another pid).
        public var watchdogInterval: Duration?
        public var statusInterval: Duration
        public var extendEvery: Duration
        public var extendBy: Duration

        public init(
            watchdogInterval: Duration? = nil, statusInterval: Duration = .milliseconds(250),
            extendEvery: Duration = .seconds(5), extendBy: Duration = .seconds(15)
        ) {
            self.watchdogInterval = watchdogInterval
            self.statusInterval = statusInterval
            self.extendEvery = extendEvery
            self.extendBy = extendBy
        }
    }

    public enum Stage: Equatable, Sendable {
        case starting
        case ready
        case reloading
        case stopping
    }

    public let settings: Settings
    public private(set) var stage: Stage = .starting
    public private(set) var lastStatus: String?
    var statusCheckedAt: Instant?
    /// Something may have changed since the summary was last computed.
    var statusDirty = true
    var nextWatchdog: Instant?
    var nextExtend: Instant?

    public init(settings: Settings) {
        self.settings = settings
        // The first ping goes out at the end of the first iteration: systemd's watchdog
        // timer runs from the moment it started us.
        nextWatchdog = settings.watchdogInterval == nil ? nil : .zero
    }

    /// The loop finished an iteration. `startupSettled` and `summary` are only called when
    /// needed (both are counts now, but were walks over every instance).
    public mutating func iterationEnded(_ now: Instant, startupSettled: () -> Bool, summary: () -> String) -> [String] {
        var out: [String] = []
        statusDirty = true
        if stage == .starting {
            if startupSettled() {
                stage = .ready
                let line = summary()
                statusChecked(now, line)
                out.append("READY=1\nSTATUS=\(line)")
            } else if nextExtend.map({ now >= $0 }) ?? true {
                nextExtend = now + settings.extendEvery
                out.append("EXTEND_TIMEOUT_USEC=\(settings.extendBy.microseconds)")
            }
        }
        if statusDirty, statusCheckedAt.map({ now >= $0 + settings.statusInterval }) ?? true {
            let line = summary()
            if line != lastStatus { out.append("STATUS=\(line)") }
            statusChecked(now, line)
        }
        if let due = nextWatchdog, now >= due, let interval = settings.watchdogInterval {
            nextWatchdog = now + interval
            out.append("WATCHDOG=1")
        }
        return out
    }

    mutating func statusChecked(_ now: Instant, _ line: String) {
        lastStatus = line
        statusCheckedAt = now
        statusDirty = false
    }

    /// A reload begins (before the config is read).
    public mutating func reloading(_ now: Instant) -> [String] {
        guard stage == .ready else { return [] }
        stage = .reloading
        return ["RELOADING=1\nMONOTONIC_USEC=\(now.nanoseconds / 1_000)"]
    }

    /// The reload was applied or refused: either way bulkhead runs on.
    public mutating func reloaded(_ now: Instant) -> [String] {
        guard stage == .reloading else { return [] }
        stage = .ready
        statusDirty = true
        return ["READY=1"]
    }

    /// A new daemon image after a re-exec that the old one announced with `RELOADING=1`: it is
    /// reloading, and `reloaded` sends READY=1 once it serves.
    public mutating func resumeReloading() {
        stage = .reloading
    }

    /// Shutdown began.
    public mutating func stopping(_ now: Instant) -> [String] {
        guard stage != .stopping else { return [] }
        stage = .stopping
        statusDirty = true
        return ["STOPPING=1"]
    }

    /// The next instant an iteration must end for a ping, a held-back status or an extension.
    public func nextDeadline() -> Instant? {
        // Nothing evaluated yet: the first iteration must end soon (READY may already be due).
        guard statusCheckedAt != nil else { return .zero }
        var candidates: [Instant] = []
        if let next = nextWatchdog { candidates.append(next) }
        if statusDirty, let checked = statusCheckedAt { candidates.append(checked + settings.statusInterval) }
        if stage == .starting, let extend = nextExtend { candidates.append(extend) }
        return candidates.min()
    }
}
