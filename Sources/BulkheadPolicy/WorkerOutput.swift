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

    public static func needed(_ config: SupervisorConfig) -> Int {
        config.workers.reduce(fixed) { total, worker in
            total.addingReportingOverflow(worker.instances.multipliedReportingOverflow(by: worker.output.descriptorsPerInstance).partialValue).partialValue
        }
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
