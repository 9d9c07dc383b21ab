/// A worker: conform, write `run`, mark the type `@main`.
///
/// ```swift
/// import WorkerKit
///
/// @main
/// struct Mailer: Worker {
///     func run(_ context: WorkerContext) async throws {
///         try await warmUp()
///         context.ready()
///         while !Task.isCancelled {
///             context.breadcrumb("batch", ["size": "50"])
///             try await sendBatch()
///         }
///     }
/// }
/// ```
///
/// WorkerKit's `main` (in this protocol's extension) catches SIGTERM/SIGINT for its signal
/// thread, bootstraps logging, maps the breadcrumb ring, starts the watchdog pinger, creates
/// the worker with `init()` and runs `run` in a task that a stop signal cancels. It ends the
/// process with the code `ExitDecision` chooses: 0, or 75/78/86 by the class of the error.
public protocol Worker: SendableMetatype {
    /// Creates the worker; parse arguments here. A thrown error ends the process like one
    /// thrown out of `run` (a ``WorkerError/persistent(_:underlying:)`` for bad flags).
    init() throws

    /// How `main` sets the worker up. Default: `WorkerConfiguration()`.
    static var configuration: WorkerConfiguration { get }

    /// The worker's whole life. Runs in a task that is cancelled when a stop is requested.
    func run(_ context: WorkerContext) async throws
}

extension Worker {
    public static var configuration: WorkerConfiguration { WorkerConfiguration() }

    /// The process entry point `@main` picks up. Never returns.
    ///
    /// `@MainActor` so the set-up runs on the main thread, in order, before the worker's
    /// own code (a nonisolated async `main` would first hop onto the cooperative pool).
    @MainActor
    public static func main() async {
        await WorkerRuntime.main(Self.self)
    }
}
