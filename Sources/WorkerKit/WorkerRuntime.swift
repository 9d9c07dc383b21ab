import Logging

/// The body of `Worker.main()`: the order of these steps is the design.
enum WorkerRuntime {
    @MainActor
    static func main<W: Worker>(_: W.Type) async -> Never {
        // 1. Catch SIGTERM/SIGINT first: a stop that arrives during start-up still cancels.
        let signalPipe = StopSignalWatcher.install()

        let configuration = W.configuration
        let environment = WorkerEnvironment.current()
        let output = configuration.logOutput

        // 2. Logging before the worker exists, so its init may log.
        if configuration.bootstrapsLogging {
            let level = environment.logLevel.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? configuration.logLevel
            LoggingSystem.bootstrap { label in
                WorkerLogHandler(label: label, stream: output, logLevel: level)
            }
        }

        // 3. Map the shared ring now, not at the first breadcrumb.
        let ring = BreadcrumbRing.shared
        let stop = StopController()
        let context = WorkerContext(environment: environment, breadcrumbs: ring, logger: nil, stop: stop)
        let name = context.name

        // 4. The two threads outside the cooperative pool.
        let grace = configuration.stopGrace.resolved(stopTimeout: environment.stopTimeout)
        StopSignalWatcher.start(pipe: signalPipe, stop: stop, grace: grace, name: name, output: output, ring: ring)
        if configuration.watchdog.isAutomatic, context.isSupervised, let interval = environment.watchdogInterval {
            let socket = NotifySocket(address: environment.notifySocket)
            WatchdogPinger(watchdogInterval: interval, probesMainActor: configuration.watchdog.probesMainActor, socket: socket).start()
        }

        // 5. The worker's life in one task that a stop cancels. The task ends the process
        // itself, so the exit never waits for the main actor to be free.
        let life = Task.detached {
            var failure: (any Error)?
            do {
                let worker = try W()
                try await worker.run(context)
            } catch {
                failure = error
            }
            let decision = ExitDecision(error: failure, stopRequested: stop.isRequested)
            if let message = decision.message {
                WorkerNotice.write(decision.priority, name, message, to: output)
            }
            if let failureClass = decision.failureClass {
                // The last breadcrumb of a failed run says how it ended (bulkhead's report
                // carries the ring for every death that is not clean).
                ring.record("exiting", ["class": failureClass.rawValue, "code": String(decision.code.rawValue)])
            }
            ProcessExit.exit(decision.code, ring: ring)
        }
        stop.onRequest {
            // STOPPING=1 first, so it is out before the cancelled task can end the process; it
            // waits at most 250 ms, and only when the supervisor's queue is full.
            context.stopping()
            life.cancel()
        }
        await life.value
        preconditionFailure("the worker's task ends the process")
    }
}
