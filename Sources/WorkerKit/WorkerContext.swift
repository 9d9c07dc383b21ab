import CLinux
import Logging

/// What `run` gets: the supervisor protocol (readiness, status, watchdog), the stop request,
/// breadcrumbs, the error group and a logger. Every method is safe from any task; without
/// bulkhead (no `NOTIFY_SOCKET`) the notifications are no-ops and everything else works the same.
public final class WorkerContext: Sendable {
    /// The worker's environment as read at start.
    public let environment: WorkerEnvironment
    /// A logger labelled with ``name``.
    public let logger: Logger
    /// The ring ``breadcrumb(_:_:)`` writes to.
    public let breadcrumbs: BreadcrumbRing
    private let socket: NotifySocket
    private let statusMailbox: StatusMailbox
    package let stop: StopController

    /// A context over the given environment. WorkerKit's `main` makes the one `run` receives;
    /// make your own to test a worker's `run` without a process around it.
    public convenience init(
        environment: WorkerEnvironment = .current(),
        breadcrumbs: BreadcrumbRing = .shared,
        logger: Logger? = nil
    ) {
        self.init(environment: environment, breadcrumbs: breadcrumbs, logger: logger, stop: StopController())
    }

    package init(environment: WorkerEnvironment, breadcrumbs: BreadcrumbRing, logger: Logger?, stop: StopController) {
        self.environment = environment
        self.breadcrumbs = breadcrumbs
        self.logger = logger ?? Logger(label: environment.displayName)
        self.socket = NotifySocket(address: environment.notifySocket)
        self.statusMailbox = StatusMailbox(socket: socket)
        self.stop = stop
    }

    /// `api:0` under bulkhead, else the program's name.
    public var name: String { environment.displayName }

    /// True when a supervisor listens (`NOTIFY_SOCKET` is set).
    public var isSupervised: Bool { socket.isEnabled }

    /// `WATCHDOG_USEC`, when a watchdog is expected.
    public var watchdogInterval: Duration? { environment.watchdogInterval }

    // MARK: sd_notify

    // Sends never block for long (see `NotifySocket`). State changes wait up to a second for
    // room in a busy supervisor's queue; a ping is simply superseded by the next, and a status
    // that finds no room is delivered later by `StatusMailbox`.

    /// `READY=1` (with `STATUS=` when given): startup is done. bulkhead starts dependents and
    /// counts the instance `running` from here.
    public func ready(status: String? = nil) {
        var message = NotifyMessage.ready
        if let status { message = message.adding("STATUS", status) }
        socket.send(message, patience: .seconds(1))
    }

    /// `STATUS=text`: one line shown by `bulkhead status`. Never waits: when the supervisor's
    /// queue is full, the newest status is delivered by a thread as soon as there is room.
    public func status(_ text: String) {
        guard socket.isEnabled else { return }
        statusMailbox.post(text)
    }

    /// `STOPPING=1`. WorkerKit sends it by itself when a stop signal arrives.
    public func stopping() {
        socket.send(.stopping, patience: .milliseconds(250))
    }

    /// `RELOADING=1` with `MONOTONIC_USEC`; call ``ready(status:)`` when the reload is done.
    public func reloading() {
        socket.send(.reloading(monotonicMicroseconds: bh_monotonic_ns() / 1000), patience: .seconds(1))
    }

    /// `WATCHDOG=1` now, whatever the automatic pinger does.
    public func watchdogPing() {
        socket.send(.watchdog)
    }

    /// Sends any sd_notify message, waiting at most `patience` for room in the supervisor's
    /// queue; returns whether it was sent.
    @discardableResult
    public func notify(_ message: NotifyMessage, patience: Duration = .zero) -> Bool {
        socket.send(message, patience: patience)
    }

    // MARK: stopping

    /// True once SIGTERM or SIGINT asked the worker to stop (`run` is cancelled then too).
    public var isStopping: Bool { stop.isRequested }

    /// Returns when a stop is requested, or when the calling task is cancelled.
    public func stopRequested() async {
        await stop.wait()
    }

    // MARK: breadcrumbs

    /// Appends a breadcrumb: `context.breadcrumb("charge", ["order": "42"])` records
    /// `charge order=42` (see ``BreadcrumbEncoding``). Under bulkhead it lands in memory the
    /// supervisor reads after a crash, trap included.
    public func breadcrumb(_ message: String, _ fields: [String: String] = [:]) {
        breadcrumbs.record(message, fields)
    }

    /// The newest breadcrumbs, oldest first.
    public func recentBreadcrumbs(limit: Int = 32) -> [Breadcrumb] {
        breadcrumbs.entries(limit: limit)
    }

    // MARK: error group

    /// Runs child tasks as a ``WorkerErrorGroup``: see ``withWorkerErrorGroup(_:)``.
    public func errorGroup<Result>(_ body: (inout WorkerErrorGroup) async throws -> Result) async throws -> Result {
        try await withWorkerErrorGroup(body)
    }
}
