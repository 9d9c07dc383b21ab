import BulkheadPolicy
import CLinux
import Glibc

/// The daemon's RLIMIT_NOFILE against what a config needs (`FileDescriptorBudget`): the soft
/// limit is raised to the hard one at start (as systemd's own daemons do), and a config that
/// cannot fit is refused by `check-config`, at start and at `reload` in one sentence, never
/// left to fail one spawn at a time with EMFILE.
public enum DescriptorLimit {
    /// Raises the soft limit to the hard one; answers the limit now in force.
    @discardableResult
    public static func raise() -> Int {
        let raised = bh_raise_fd_limit()
        return raised > 0 ? Int(clamping: raised) : current()
    }

    /// The soft limit now (a `prlimit` may have changed it since the start).
    public static func current() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return limit.rlim_cur == rlim_t.max ? .max : Int(clamping: limit.rlim_cur)
    }

    /// Why `config` cannot run under the current limit, or nil.
    public static func refusal(_ config: SupervisorConfig) -> String? {
        FileDescriptorBudget.shortfall(config, limit: current())
    }
}
