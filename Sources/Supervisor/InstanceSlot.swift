import BulkheadPolicy
import BulkheadSystem

/// What the process mechanism holds for one instance across its restarts: its breadcrumb
/// ring, its cgroup, its backtrace directory, and its live process. Owned by `ProcessTable`.
final class InstanceSlot {
    let id: InstanceID
    let backtraceDirectory: String
    /// The live process's breadcrumb ring: a mapping (no fd once the worker has its copy),
    /// made at each spawn and dropped once read after the death.
    var breadcrumbs: BreadcrumbFile?
    var cgroup: InstanceCgroup?
    var cgroupPrepared = false
    /// The limits its cgroup was last given (a reload that changes them writes them again).
    var cgroupLimits: ResourceLimits?
    /// `pids.events` `max` when the live process started: more at its death means a fork or
    /// a thread was refused by `limits.tasks`.
    var tasksLimitBaseline = 0
    /// `killCgroup` has been used on it (see `CgroupHost.birthSurvivesKill`).
    var cgroupKilled = false
    /// The uid the backtrace directory was last prepared for (nil: the daemon's own).
    var backtraceDirectoryOwner: UInt32?? = .none

    // The live process.
    var pid: Int32?
    /// Readable once the main process has exited; reaped with waitid(P_PIDFD).
    var pidfd: FileDescriptor?
    var pidfdToken: UInt64 = 0
    var spawnedAtWall: Int64 = 0
    var oomBaseline = 0
    /// `memory.events` `oom_kill` and `pids.events` `max` as read at the last death: the next
    /// spawn's baselines without reading them again (no process lives in the group between).
    var countersSinceDeath: (oom: Int, tasks: Int)?
    /// The live process was started by a previous daemon and taken over: not our child, so it
    /// is never reaped here (see `ProcessTable.adopt`).
    var adopted = false
    /// `/proc/PID/stat`'s start time of the live process, read once for the state file.
    var startTime: UInt64?
    /// The NOTIFY_SOCKET the live process was given (ours, or a previous daemon's if adopted).
    var notifyName: String?
    /// Whether the live process may leave a backtrace file (started with `backtrace` on) and a
    /// credentials directory: its death looks for them only then (a file system call or two
    /// per death saved). True until a start says otherwise: a process this daemon did not
    /// start (re-exec, adoption) may have either.
    var mayLeaveBacktrace = true
    var mayLeaveCredentials = true

    init(id: InstanceID, backtraceDirectory: String) {
        self.id = id
        self.backtraceDirectory = backtraceDirectory
    }

    /// SIGKILL to everything in the instance's cgroup, remembered: on some kernels a killed
    /// group also kills what is born in it later, so its next spawns must move in instead.
    func killCgroup() {
        guard let cgroup else { return }
        cgroup.killAll()
        cgroupKilled = true
    }
}
