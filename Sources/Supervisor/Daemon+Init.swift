import BulkheadPolicy
import BulkheadSystem
import Glibc

/// `bulkhead init`: bulkhead as a container's PID 1. The daemon already reaps every orphan that
/// is reparented to it (as PID 1, every orphan in the container is) and turns SIGTERM/SIGINT into
/// stopping every worker; what is added here is the single-command form's contract, tini's:
/// exit when the one worker is done, with its exit status (128 + the signal when killed), and
/// pass SIGHUP on to it (there is no config file to reload).
extension Daemon {
    static let noConfigFile = "started as `bulkhead init -- COMMAND`, there is no config file to read again"

    /// The output sink: the one `bulkhead init` asked for, else the journal or text by config.
    static func makeSink(_ options: Options, _ journal: OutputConfig.Journal) -> OutputSink {
        switch options.logFormat {
        case .plain?: return ContainerSink(format: .plain)
        case .json?: return ContainerSink(format: .json)
        case .text?: return TextSink(fd: 2, timestamps: options.timestamps)
        case nil: return OutputSinks.make(journal, timestamps: options.timestamps)
        }
    }

    /// A death of the one worker: its status is what bulkhead will exit with.
    func workerEnded(_ id: InstanceID, _ exit: Reaper.Exit) {
        workerExitStatus = exit.exited ? exit.code : 128 + exit.code
    }

    /// Once policy will not start the worker again (it is `stopped`, `failed` or `quarantined`,
    /// after a death or a spawn that failed), every worker is stopped and the daemon exits with
    /// its status; 126 when it never ran (it could not be started), as shells say.
    func exitIfWorkerDone() {
        guard !shutdownRequested else { return }
        for id in supervision.instanceIDs {
            switch supervision.snapshot(of: id)?.state {
            case .stopped?, .failed?, .quarantined?, nil: continue
            case .waiting?, .starting?, .running?, .stopping?, .backoff?, .open?: return
            }
        }
        if workerExitStatus == nil { workerExitStatus = Self.couldNotStart }
        shutdownRequested = true
        perform(supervision.shutdown(MonotonicClock.now()))
    }

    static let couldNotStart: Int32 = 126

    /// Passes `signal` on to every worker's main process.
    func forwardToWorker(_ signal: Int32) {
        for id in supervision.instanceIDs {
            guard let pid = processes.slots[id]?.pid else { continue }
            processes.send(signal, to: id, pid: pid, scope: .process)
            emit(SupervisorEvent(.daemon, id, pid: pid, priority: 6, message: "SIG\(Signals.name(signal)) passed on to pid \(pid)"))
        }
    }
}
