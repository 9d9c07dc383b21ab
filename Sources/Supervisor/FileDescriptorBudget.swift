import BulkheadPolicy
import Glibc

/// How many fds the daemon needs for a config, against its RLIMIT_NOFILE: out of fds, spawns
/// fail (counted, backed off) and control clients are told `busy`, so a config that cannot fit
/// is said at start and at reload, in one sentence that says what to do.
struct FileDescriptorBudget {
    /// Per instance with a process: its stdout and stderr pipes, its notify socket, its pidfd
    /// and its breadcrumb memfd.
    static let perInstance = 5
    /// The daemon's own: epoll, signalfd, exit events, control listener, its lock and reserve,
    /// /dev/null, the journal, the writer threads' files, and room for a few control clients.
    static let fixed = 64

    let limit: Int

    /// Against the soft RLIMIT_NOFILE now (a `prlimit` may have changed it since the start).
    static func current() -> FileDescriptorBudget {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return FileDescriptorBudget(limit: 1024) }
        return FileDescriptorBudget(limit: limit.rlim_cur == rlim_t.max ? .max : Int(clamping: limit.rlim_cur))
    }

    func needed(instances: Int) -> Int {
        Self.fixed + instances.multipliedReportingOverflow(by: Self.perInstance).partialValue
    }

    /// nil when it fits.
    func shortfall(instances: Int) -> String? {
        let need = needed(instances: instances)
        guard need > limit else { return nil }
        return "\(instances) instances need about \(need) file descriptors (\(Self.perInstance) each); the limit is \(limit): raise LimitNOFILE= (or ulimit -n), or run fewer instances, or spawns will fail with EMFILE"
    }
}
