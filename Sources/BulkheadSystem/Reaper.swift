import CLinux

/// The one reaper: wait4(-1, WNOHANG) until no child is left to collect. bulkhead is a child
/// subreaper, so orphans of workers come here too.
public enum Reaper {
    public struct Exit: Sendable, Equatable {
        public var pid: Int32
        /// exit(code) when true, else killed by signal `code`.
        public var exited: Bool
        public var code: Int32
        public var coreDumped: Bool
        public var userMicroseconds: Int64
        public var systemMicroseconds: Int64
        public var maxResidentKiB: Int64
        /// False for a process that ended without anyone able to say how (an adopted process,
        /// not our child, on a kernel that keeps no exit status for it): `exited`/`code` are
        /// then meaningless.
        public var statusKnown = true

        /// The end of a process whose exit status nobody can read.
        public static func unknown(pid: Int32) -> Exit {
            Exit(pid: pid, exited: false, code: 0, coreDumped: false, userMicroseconds: 0, systemMicroseconds: 0,
                 maxResidentKiB: 0, statusKnown: false)
        }
    }

    /// One exited child, or nil when none is waiting. `ownThreadOnly`: a child of the calling
    /// thread (spawned by it, or an orphan reparented to it), not one another thread spawned
    /// and reaps itself (__WNOTHREAD).
    public static func reapOne(ownThreadOnly: Bool = false) -> Exit? {
        var raw = bh_exit()
        guard (try? retrying("wait4") { ownThreadOnly ? bh_reap_any_of_thread(&raw) : bh_reap_any(&raw) }) == 1 else { return nil }
        return Exit(
            pid: raw.pid, exited: raw.exited == 1, code: raw.code, coreDumped: raw.core_dumped == 1,
            userMicroseconds: raw.user_us, systemMicroseconds: raw.system_us, maxResidentKiB: raw.max_rss_kib
        )
    }

    /// Reaps `pid` if it is our child and has exited: true when it was reaped, false when it
    /// still runs, nil when it is not our child (any more) — or, with `ownThreadOnly`, not the
    /// calling thread's.
    public static func reap(pid: Int32, ownThreadOnly: Bool = false) -> Bool? {
        var raw = bh_exit()
        switch try? retrying("wait4", { ownThreadOnly ? bh_reap_pid_of_thread(pid, &raw) : bh_reap_pid(pid, &raw) }) {
        case 1?: return true
        case 0?: return false
        default: return nil
        }
    }

    /// Reaps the child behind `pidfd` if it has exited (O(1), unlike wait4(-1)).
    public static func reap(pidfd: FileDescriptor) -> Exit? {
        var raw = bh_exit()
        guard (try? retrying("waitid(P_PIDFD)") { bh_reap_pidfd(pidfd.rawValue, &raw) }) == 1 else { return nil }
        return Exit(
            pid: raw.pid, exited: raw.exited == 1, code: raw.code, coreDumped: raw.core_dumped == 1,
            userMicroseconds: raw.user_us, systemMicroseconds: raw.system_us, maxResidentKiB: raw.max_rss_kib
        )
    }

    /// How the process behind `pidfd` ended, for a process that is not our child (PIDFD_GET_INFO,
    /// Linux 6.15+): known once its parent reaped it; nil before that, or on older kernels.
    public static func exitStatus(pidfd: FileDescriptor) -> Exit? {
        var raw = bh_exit()
        guard bh_pidfd_exit_status(pidfd.rawValue, &raw) == 1 else { return nil }
        return Exit(
            pid: raw.pid, exited: raw.exited == 1, code: raw.code, coreDumped: raw.core_dumped == 1,
            userMicroseconds: 0, systemMicroseconds: 0, maxResidentKiB: 0
        )
    }

    /// pidfd_open: an fd that becomes readable when the process exits (moved high, CLOEXEC).
    public static func pidfd(for pid: Int32) -> FileDescriptor? {
        let fd = bh_pidfd_open(pid)
        return fd >= 0 ? FileDescriptor(rawValue: fd).movedHigh() : nil
    }

    /// The pids of our live and zombie children, from every thread's `children` list (an
    /// orphan is reparented to one thread of the subreaper).
    public static func children() -> [Int32] {
        FileSystem.list("/proc/self/task").flatMap { task in
            (FileSystem.readText("/proc/self/task/\(task)/children") ?? "").split(separator: " ").compactMap { Int32($0) }
        }
    }

    public static func becomeSubreaper() throws(SystemError) {
        _ = try check("prctl(PR_SET_CHILD_SUBREAPER)", bh_become_subreaper())
    }
}

public enum ProcessSignals {
    /// kill(-pgid, sig). ESRCH (nobody left) is not an error worth reporting.
    @discardableResult
    public static func signalGroup(_ pgid: Int32, _ signal: Int32) -> Int32 {
        -bh_kill_group(pgid, signal)
    }

    @discardableResult
    public static func signalProcess(_ pid: Int32, _ signal: Int32) -> Int32 {
        -bh_kill(pid, signal)
    }
}
