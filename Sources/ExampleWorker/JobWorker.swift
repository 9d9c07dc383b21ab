import Glibc
import Logging
import WorkerKit

/// `jobworker`: a small job processor on WorkerKit, used by the demo config and by WorkerKit's
/// process tests. It warms up, says READY=1, then processes fake jobs in a few lanes of an
/// error group, with a breadcrumb per step and `STATUS=processed N jobs`. Flags make it trap,
/// fail by class, or hang (see `JobOptions`).
@main
struct JobWorker: Worker {
    let options: JobOptions

    static var configuration: WorkerConfiguration {
        var configuration = WorkerConfiguration()
        if JobOptions.wantsManualWatchdog { configuration.watchdog = .manual }
        return configuration
    }

    init() throws {
        options = try JobOptions(arguments: Array(CommandLine.arguments.dropFirst())) { name in
            getenv(name).map { String(cString: $0) }
        }
    }

    func run(_ context: WorkerContext) async throws {
        let logger = context.logger
        logger.info("warming up", metadata: ["ms": "\(options.warmupMilliseconds)", "lanes": "\(options.lanes)"])
        try await Task.sleep(for: .milliseconds(options.warmupMilliseconds))
        context.ready(status: "processed 0 jobs")
        logger.info("ready")

        let source = JobSource(limit: options.jobs)
        do {
            try await context.errorGroup { group in
                for lane in 1...options.lanes {
                    group.addTask(name: "lane \(lane)") {
                        try await work(lane: lane, source: source, context: context)
                    }
                }
            }
        } catch is CancellationError {
            let processed = await source.processed
            logger.notice("stopped", metadata: ["processed": "\(processed)"])
            return
        }
        let processed = await source.processed
        context.status("processed \(processed) jobs (done)")
        logger.info("all jobs done", metadata: ["processed": "\(processed)"])
    }

    private func work(lane: Int, source: JobSource, context: WorkerContext) async throws {
        while options.ignoreStop || !Task.isCancelled, let job = await source.next() {
            try await process(job: job, lane: lane, context: context)
            let processed = await source.finished()
            context.status("processed \(processed) jobs")
            if options.manualWatchdog { context.watchdogPing() }
        }
    }

    private func process(job: Int, lane: Int, context: WorkerContext) async throws {
        let id = String(job)
        context.breadcrumb("job start", ["job": id, "lane": String(lane)])
        do {
            context.breadcrumb("job fetch", ["job": id])
            try await pause(options.jobMilliseconds / 2)
            try injectFaults(job: job)
            if options.blockExecutorAt == job {
                context.status("blocking executor at job \(job)")
                JobFaults.blockCooperativePool(job: job)
            }
            if options.hogMainActorAt == job {
                context.status("hogging main actor at job \(job)")
                await JobFaults.hogMainActor(job: job)
            }
            context.breadcrumb("job commit", ["job": id])
            try await pause(options.jobMilliseconds - options.jobMilliseconds / 2)
        } catch is CancellationError {
            context.breadcrumb("job abandoned (cancelled)", ["job": id])
            context.logger.notice("job abandoned: cancelled", metadata: ["job": "\(id)"])
            throw CancellationError()
        }
        context.breadcrumb("job done", ["job": id])
        context.logger.info("job done", metadata: ["job": "\(id)", "lane": "\(lane)"])
    }

    private func injectFaults(job: Int) throws {
        if let every = options.trapEvery, job % every == 0 {
            JobFaults.trap(job: job, kind: options.trapKind)
        }
        if options.corruptAt == job {
            throw WorkerError.corruption("job \(job): ledger checksum mismatch")
        }
        if options.failPersistentAt == job {
            throw WorkerError.persistent("job \(job): payment provider rejected our credentials")
        }
        if let every = options.failTransientEvery, job % every == 0 {
            throw WorkerError.transient("job \(job): upstream timed out")
        }
    }

    /// A step of work. With `--ignore-stop` it runs in an unstructured task that cancellation
    /// does not reach, like a worker that ignores its stop request.
    private func pause(_ milliseconds: Int) async throws {
        guard milliseconds > 0 else { return }
        if options.ignoreStop {
            await Task.detached { try? await Task.sleep(for: .milliseconds(milliseconds)) }.value
        } else {
            try await Task.sleep(for: .milliseconds(milliseconds))
        }
    }
}
