import Logging
import Synchronization

/// The process-wide half of a worker, shared by `Worker.main` and the WorkerKitLifecycle
/// service: the stop signals, logging, the breadcrumb ring, the watchdog thread, and the one
/// way out (`exit(after:)`). One per process: signal dispositions and the logging bootstrap are
/// process-wide, so a second start is a bug and traps.
package final class WorkerProcess: Sendable {
    /// The context `run` (or the services) receive.
    package let context: WorkerContext
    /// Set by the first SIGTERM/SIGINT.
    package let stop: StopController
    package let ring: BreadcrumbRing
    package let output: WorkerOutput
    /// While false the watchdog thread sends nothing, however responsive the executors are.
    private let watchdogAllowed = Atomic<Bool>(true)

    private static let started = Atomic<Bool>(false)

    private init(context: WorkerContext, stop: StopController, ring: BreadcrumbRing, output: WorkerOutput) {
        self.context = context
        self.stop = stop
        self.ring = ring
        self.output = output
    }

    /// Sets the process up, in this order (the order is the design):
    /// 1. SIGTERM/SIGINT caught first: a stop that arrives during start-up still counts;
    /// 2. logging bootstrapped before any worker code runs, so its init may log;
    /// 3. the shared ring mapped now, not at the first breadcrumb;
    /// 4. the two threads outside the cooperative pool: signals, and (with `WATCHDOG_USEC`) the
    ///    watchdog.
    ///
    /// `stopReaction` says in the stop notice what a stop request does.
    package static func start(configuration: WorkerConfiguration, stopReaction: String = "cancelling run") -> WorkerProcess {
        let (exchanged, _) = started.compareExchange(expected: false, desired: true, ordering: .relaxed)
        precondition(exchanged, "WorkerKit sets a process up once: one Worker.main or one WorkerService per process")
        let signalPipe = StopSignalWatcher.install()

        let environment = WorkerEnvironment.current()
        let output = configuration.logOutput
        if configuration.bootstrapsLogging {
            let level = environment.logLevel.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? configuration.logLevel
            LoggingSystem.bootstrap { label in
                WorkerLogHandler(label: label, stream: output, logLevel: level)
            }
        }

        let ring = BreadcrumbRing.shared
        let stop = StopController()
        let context = WorkerContext(environment: environment, breadcrumbs: ring, logger: nil, stop: stop)
        let process = WorkerProcess(context: context, stop: stop, ring: ring, output: output)

        let grace = configuration.stopGrace.resolved(stopTimeout: environment.stopTimeout)
        StopSignalWatcher.start(
            pipe: signalPipe, stop: stop, grace: grace, name: context.name, output: output, ring: ring, reaction: stopReaction
        )
        if configuration.watchdog.isAutomatic, context.isSupervised, let interval = environment.watchdogInterval {
            let socket = NotifySocket(address: environment.notifySocket)
            WatchdogPinger(
                watchdogInterval: interval,
                probesMainActor: configuration.watchdog.probesMainActor,
                socket: socket,
                isAllowed: { [process] in process.watchdogAllowed.load(ordering: .relaxed) }
            ).start()
        }
        return process
    }

    /// Stops the automatic watchdog pings for good: the worker declares itself unhealthy (a
    /// failed service group), so bulkhead's watchdog may fire if the process lingers.
    package func withdrawWatchdog() {
        watchdogAllowed.store(false, ordering: .relaxed)
    }

    /// Ends the process with the code ``ExitDecision`` chooses for `error` (nil: a clean end),
    /// after printing its one line and recording the class in the ring.
    package func exit(after error: (any Error)?) -> Never {
        let decision = ExitDecision(error: error, stopRequested: stop.isRequested)
        if let message = decision.message {
            WorkerNotice.write(decision.priority, context.name, message, to: output)
        }
        if let failureClass = decision.failureClass {
            // The last breadcrumb of a failed run says how it ended (bulkhead's report carries
            // the ring for every death that is not clean).
            ring.record("exiting", ["class": failureClass.rawValue, "code": String(decision.code.rawValue)])
        }
        ProcessExit.exit(decision.code, ring: ring)
    }
}
