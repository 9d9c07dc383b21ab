/// Where a worker's stdout and stderr go (`output:` per worker or in `defaults`).
public enum WorkerOutput: Equatable, Sendable {
    /// Pipes bulkhead reads (the default): each line to journald or bulkhead's stderr, kept for
    /// `bulkhead logs`, and read for the crash report's output tail and fatal message. Costs
    /// the daemon two fds per instance.
    case bulkhead
    /// Straight to journald's stream socket, connected by the worker's own process before it
    /// execs (systemd's `StandardOutput=journal`): journald records the worker's pid, bulkhead
    /// holds no fd and reads no line (reports have no output tail; `journalctl` has it all).
    case journalDirect
    /// Appended to a file (systemd's `StandardOutput=append:`), opened for each process and
    /// not kept open by bulkhead.
    case append(path: String)

    /// The daemon's fds per instance with a process: a pidfd, and the two pipes when bulkhead
    /// reads the output. (The notify socket is one for all; breadcrumb rings are mappings.)
    public var descriptorsPerInstance: Int {
        switch self {
        case .bulkhead: return 3
        case .journalDirect, .append: return 1
        }
    }

    /// As written in the config.
    public var configText: String {
        switch self {
        case .bulkhead: return "bulkhead"
        case .journalDirect: return "journal-direct"
        case .append(let path): return "append:" + path
        }
    }
}

/// What the daemon's fds can hold: said at `check-config`, start and `reload`, which refuse a
/// config that cannot fit rather than let spawns fail one EMFILE at a time.
public enum FileDescriptorBudget {
    /// The daemon's own: epoll, signalfd, exit events, the notify socket, the control listener
    /// and its reserve, /dev/null, the journal, the writer threads' files, spawns in flight
    /// (their pipes, rings, cgroup files) and room for a few control clients.
    public static let fixed = 64
    /// journald before systemd 257 takes at most this many stdout streams in all (every
    /// service's counts); beyond, it accepts and closes at once, and the worker's writes fail.
    public static let oldJournaldStreams = 4096

    /// A hook run holds its stdin pipe, its output pipe and its pidfd.
    public static let perHookRun = 3
    /// `/metrics`: the listener and at most this many clients (MetricsServer's cap).
    public static let metricsClients = 32

    /// Everything the config can make the daemon hold at once: its own fixed set; per instance
    /// its process's fds and one health check in flight (a ready check stops when the instance
    /// is ready, a live one starts only then); per worker its listening sockets; the hook
    /// processes the daemon may run at once; the metrics listener and its clients. Control
    /// connections beyond the few in `fixed` are not counted: the control server answers
    /// `busy` from a reserved fd when it runs out, and supervision goes on.
    public static func needed(_ config: SupervisorConfig) -> Int {
        var total = fixed
        for worker in config.workers {
            let perInstance = worker.output.descriptorsPerInstance + healthCheckDescriptors(worker.health)
            total = adding(total, worker.instances.multipliedReportingOverflow(by: perInstance).partialValue)
            total = adding(total, worker.sockets.count)
        }
        if !config.monitoring.hooks.isEmpty {
            total = adding(total, config.monitoring.events.hookProcesses.multipliedReportingOverflow(by: perHookRun).partialValue)
        }
        if config.monitoring.metrics != nil { total = adding(total, 1 + metricsClients) }
        return total
    }

    /// The fds of the one health check an instance may have in flight: a socket for `http`
    /// and `tcp`, the output pipe and pidfd of an `exec` check's process.
    public static func healthCheckDescriptors(_ health: HealthChecks) -> Int {
        [health.ready, health.live].compactMap { probe -> Int? in
            guard let probe else { return nil }
            if case .exec = probe.check { return 2 }
            return 1
        }.max() ?? 0
    }

    private static func adding(_ a: Int, _ b: Int) -> Int {
        a.addingReportingOverflow(b).partialValue
    }

    /// One sentence that says what to do, or nil when the config fits `limit` (RLIMIT_NOFILE).
    public static func shortfall(_ config: SupervisorConfig, limit: Int) -> String? {
        let need = needed(config)
        guard need > limit else { return nil }
        let instances = config.workers.reduce(0) { $0 + $1.instances }
        let throughBulkhead = config.workers.contains { $0.output == .bulkhead }
        let remedy = throughBulkhead ? "raise LimitNOFILE= or use output: journal-direct" : "raise LimitNOFILE= or run fewer instances"
        return "\(instances) instances need ~\(need) fds; the limit is \(limit): \(remedy)"
    }

    /// A warning when more instances write to journald directly than an older journald takes.
    public static func journalStreamWarning(_ config: SupervisorConfig) -> String? {
        let direct = config.workers.filter { $0.output == .journalDirect }.reduce(0) { $0 + $1.instances }
        guard direct > oldJournaldStreams else { return nil }
        return "\(direct) instances have output: journal-direct, but journald before systemd 257 takes at most \(oldJournaldStreams) output streams in all (every service's count): the rest would have their output refused (their writes fail with EPIPE); use output: append:PATH for some, or a newer systemd"
    }
}
