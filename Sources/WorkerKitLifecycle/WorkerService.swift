import Logging
import ServiceLifecycle
import Synchronization
import WorkerKit

/// WorkerKit for a swift-service-lifecycle application (Hummingbird 2, Vapor, your own
/// services): one `Service` that speaks bulkhead's protocol for the whole `ServiceGroup`.
///
/// ```swift
/// @main
/// struct API {
///     static func main() async {
///         let worker = WorkerService(readiness: .manual)   // first: catches SIGTERM, bootstraps logging
///         let app = Application(router: router, onServerRunning: { _ in worker.ready() })
///         await worker.runProcess(services: [app])          // never returns
///     }
/// }
/// ```
///
/// What it does for the group:
/// - **READY=1** once the group is running: when the group has started this service (it goes
///   after the app's services), or with ``Readiness/manual`` when ``ready(status:)`` is called,
///   e.g. from Hummingbird's `onServerRunning`, once the listener accepts.
/// - **Watchdog**: with `WATCHDOG_USEC`, `WATCHDOG=1` every half interval while the executors
///   are responsive (WorkerKit's probing pinger) and the group is healthy: once a service fails
///   and the group cancels, the pings stop for good.
/// - **SIGTERM/SIGINT → graceful shutdown**: `STOPPING=1`, then the group's graceful shutdown
///   (services end in reverse order; a Hummingbird server finishes its in-flight requests).
///   WorkerKit's stop grace still applies: still running when it ends, or on a second signal,
///   the process ends at once. Do not also give the group `gracefulShutdownSignals`.
/// - **Exit by class** (``runProcess(_:)``): the group's error decides the exit code as it does
///   for a `Worker`'s `run`: a `ClassifiedError` by its class (transient 75, persistent 78,
///   corruption 86), any other error 75, a clean or signalled end 0.
/// - A graceful shutdown that the group starts by itself (a service finished with
///   `.gracefullyShutdownGroup`) sends `STOPPING=1` too, so bulkhead expects the exit.
///
/// One per process: its initializer sets the process up as `Worker.main` does (stop signals
/// caught, swift-log bootstrapped with `WorkerLogHandler` unless the configuration says
/// otherwise, the breadcrumb ring mapped, the watchdog thread started). Create it first thing in
/// `main`, before the app builds its loggers.
public final class WorkerService: Service, Sendable, CustomStringConvertible {
    /// When READY=1 goes out.
    public enum Readiness: Sendable, Hashable {
        /// As soon as the group starts this service. Put it after the services it vouches for
        /// (``runProcess(services:)`` does): they have been started by then, though a server
        /// may not yet be bound.
        case whenStarted
        /// When ``ready(status:)`` is called: for a server, once it accepts connections.
        case manual
    }

    /// Status text, breadcrumbs, a logger and the raw notify calls, as a `Worker` gets them.
    public let context: WorkerContext
    public let readiness: Readiness
    /// Nil only in tests, which run the service inside their own process.
    private let process: WorkerProcess?
    private let stop: StopController
    private let readyLatch = Latch()
    private let readyStatus = Mutex<String?>(nil)
    private let attachedGroup = Mutex<ServiceGroup?>(nil)

    /// Sets the process up for bulkhead (see the type's documentation) and makes the service.
    public convenience init(configuration: WorkerConfiguration = WorkerConfiguration(), readiness: Readiness = .whenStarted) {
        let process = WorkerProcess.start(configuration: configuration, stopReaction: "graceful shutdown of the service group")
        self.init(context: process.context, readiness: readiness, process: process)
    }

    init(context: WorkerContext, readiness: Readiness, process: WorkerProcess?) {
        self.context = context
        self.readiness = readiness
        self.process = process
        self.stop = context.stop
        stop.onRequest { [context] in
            // Out before the shutdown starts, so bulkhead counts the instance as stopping.
            context.stopping()
        }
    }

    public var description: String { "WorkerService" }

    /// Marks the group ready: READY=1 (with `STATUS=` when given) goes out once this service
    /// runs. Only the first call counts.
    public func ready(status: String? = nil) {
        readyStatus.withLock { if $0 == nil { $0 = status } }
        readyLatch.open()
    }

    /// This service as a member of a group you configure yourself: ending by a stop signal, it
    /// shuts the group down gracefully rather than cancelling it.
    public var serviceConfiguration: ServiceGroupConfiguration.ServiceConfiguration {
        ServiceGroupConfiguration.ServiceConfiguration(service: self, successTerminationBehavior: .gracefullyShutdownGroup)
    }

    /// The service's life: READY when ready, then wait for the end of the group's good health.
    public func run() async throws {
        // Each way this service's part can end opens `finished`, and `readyLatch` with it, so a
        // wait for readiness ends too (READY is then not sent).
        let finished = Latch()
        let readyLatch = readyLatch
        let finish: @Sendable () -> Void = {
            finished.open()
            readyLatch.open()
        }
        let gracefulShutdownSeen = Atomic<Bool>(false)
        stop.onRequest { [self] in
            // With a group attached the stop reaches this service as the group's graceful
            // shutdown (reverse order). Without one, ending here is what shuts the group down
            // (``serviceConfiguration``).
            if attachedGroup.withLock({ $0 }) == nil { finish() }
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                if readiness == .whenStarted { readyLatch.open() }
                await readyLatch.wait()
                if !finished.isOpen && !Task.isCancelled {
                    context.ready(status: readyStatus.withLock { $0 })
                    context.logger.debug("READY=1 sent: the service group is running")
                }
                await finished.wait()
            } onGracefulShutdown: {
                gracefulShutdownSeen.store(true, ordering: .relaxed)
                finish()
            }
        } onCancel: {
            finish()
        }

        let shuttingDown = gracefulShutdownSeen.load(ordering: .relaxed) || stop.isRequested
        if shuttingDown {
            // A group that shuts itself down says so, as a stop signal would have.
            if !stop.isRequested { context.stopping() }
        } else {
            // Cancelled without a shutdown: a service failed (or ended) and the group is
            // cancelling. The group is no longer healthy, so the watchdog pings stop.
            process?.withdrawWatchdog()
            context.logger.debug("service group cancelled: watchdog pings withdrawn")
        }
    }

    /// Runs `group` as this process's whole life and ends the process with WorkerKit's exit
    /// code for its outcome. `group` must contain this service (best as
    /// ``serviceConfiguration``) and no `gracefulShutdownSignals`: stop signals are WorkerKit's.
    public func runProcess(_ group: ServiceGroup) async -> Never {
        exitProcess(after: await runGroup(group))
    }

    /// Ends the process as ``runProcess(_:)`` does for this outcome: for failures before the
    /// group runs (bad flags, a malformed socket set), so they exit by class too. `nil` exits 0.
    public func exitProcess(after error: (any Error)?) -> Never {
        guard let process else { preconditionFailure("exitProcess needs a WorkerService made with the public initializer") }
        process.exit(after: error)
    }

    /// Runs `services` and this service (last) in a `ServiceGroup`, then ends the process with
    /// WorkerKit's exit code for the outcome (see ``runProcess(_:)``).
    public func runProcess(services: [any Service], logger: Logger? = nil) async -> Never {
        await runProcess(makeGroup(services: services, logger: logger))
    }

    /// The group ``runProcess(services:logger:)`` runs.
    func makeGroup(services: [any Service], logger: Logger?) -> ServiceGroup {
        let members = services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + [serviceConfiguration]
        return ServiceGroup(configuration: ServiceGroupConfiguration(services: members, logger: logger ?? context.logger))
    }

    /// Runs `group` with stop signals turned into its graceful shutdown; returns its error.
    func runGroup(_ group: ServiceGroup) async -> (any Error)? {
        attachedGroup.withLock { $0 = group }
        stop.onRequest {
            Task { await group.triggerGracefulShutdown() }
        }
        do {
            try await group.run()
            return nil
        } catch {
            return error
        }
    }
}
