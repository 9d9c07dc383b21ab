/// The body of `Worker.main()`: the order of these steps is the design.
enum WorkerRuntime {
    @MainActor
    static func main<W: Worker>(_: W.Type) async -> Never {
        // 1–4. Signals, logging, the ring and the threads outside the pool (`WorkerProcess`).
        let process = WorkerProcess.start(configuration: W.configuration)
        let context = process.context

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
            process.exit(after: failure)
        }
        process.stop.onRequest {
            // STOPPING=1 first, so it is out before the cancelled task can end the process; it
            // waits at most 250 ms, and only when the supervisor's queue is full.
            context.stopping()
            life.cancel()
        }
        await life.value
        preconditionFailure("the worker's task ends the process")
    }
}
