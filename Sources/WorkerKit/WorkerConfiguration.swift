import Logging

/// How WorkerKit's `main` sets a worker up. Override ``Worker/configuration`` to change it:
///
/// ```swift
/// static var configuration: WorkerConfiguration {
///     var configuration = WorkerConfiguration()
///     configuration.watchdog = .manual
///     configuration.stopGrace = .after(.seconds(3))
///     return configuration
/// }
/// ```
public struct WorkerConfiguration: Sendable {
    /// Automatic `WATCHDOG=1` pings (only when `WATCHDOG_USEC` is set).
    public var watchdog: WatchdogOptions
    /// How long `run` may take to end after SIGTERM/SIGINT before the process ends at once.
    public var stopGrace: StopGrace
    /// Bootstrap swift-log with ``WorkerLogHandler`` before the worker is created. Turn it off
    /// when the worker bootstraps logging itself (swift-log allows one bootstrap per process).
    public var bootstrapsLogging: Bool
    /// The level of the bootstrapped handler; `LOG_LEVEL` in the environment overrides it.
    public var logLevel: Logger.Level
    /// Where the bootstrapped handler and WorkerKit's own notices write.
    public var logOutput: WorkerOutput

    public init(
        watchdog: WatchdogOptions = .automatic,
        stopGrace: StopGrace = .automatic,
        bootstrapsLogging: Bool = true,
        logLevel: Logger.Level = .info,
        logOutput: WorkerOutput = .standardError
    ) {
        self.watchdog = watchdog
        self.stopGrace = stopGrace
        self.bootstrapsLogging = bootstrapsLogging
        self.logLevel = logLevel
        self.logOutput = logOutput
    }
}

/// Whether WorkerKit pings the watchdog by itself.
public struct WatchdogOptions: Sendable, Hashable {
    /// Ping automatically while the concurrency runtime is responsive (see the design note on
    /// `WatchdogPinger`).
    public var isAutomatic: Bool
    /// Count the main actor as part of "responsive". Turn off for a worker that parks the main
    /// actor on purpose.
    public var probesMainActor: Bool

    public init(isAutomatic: Bool = true, probesMainActor: Bool = true) {
        self.isAutomatic = isAutomatic
        self.probesMainActor = probesMainActor
    }

    /// Automatic pings, probing the global concurrent executor and the main actor.
    public static let automatic = WatchdogOptions()
    /// No automatic pings: the worker calls ``WorkerContext/watchdogPing()`` itself.
    public static let manual = WatchdogOptions(isAutomatic: false)
}

/// The time `run` gets to end after the first SIGTERM/SIGINT. When it runs out (or a second
/// signal arrives) the process ends at once, killed by that signal.
public enum StopGrace: Sendable, Hashable {
    /// Just under bulkhead's stop timeout: `BULKHEAD_STOP_TIMEOUT_USEC` minus a tenth of it
    /// (at most one second), or 9 s when the variable is absent (bulkhead's default
    /// `stop.timeout` is 10 s). Ending a little before bulkhead's SIGKILL lets WorkerKit say
    /// why in the log and stamp the breadcrumb ring.
    case automatic
    /// A fixed grace.
    case after(Duration)
    /// No timer: only a second signal (or the supervisor's SIGKILL) ends a slow stop.
    case unlimited

    /// The grace to use, given the environment's stop timeout.
    public func resolved(stopTimeout: Duration?) -> Duration? {
        switch self {
        case .after(let duration):
            return duration
        case .unlimited:
            return nil
        case .automatic:
            guard let stopTimeout else { return .seconds(9) }
            let margin = min(stopTimeout / 10, .seconds(1))
            return stopTimeout - margin
        }
    }
}
