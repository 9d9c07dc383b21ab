import BulkheadPolicy
import BulkheadSystem

/// What the mechanism holds for one instance, across its restarts: its notify socket, its
/// breadcrumb ring, its cgroup, its output buffers, and the live process's pipes.
final class InstanceSlot {
    let id: InstanceID
    let label: String
    /// Held while the instance may have a process, released after a spawn that failed: an
    /// instance that cannot start (out of fds, say) must not keep fds the others need.
    var notify: NotifySocket?
    var notifyToken: UInt64 = 0
    var breadcrumbs: BreadcrumbFile?
    let backtraceDirectory: String
    var cgroup: InstanceCgroup?
    var cgroupPrepared = false
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
    var stdout: OutputPipe?
    var stderr: OutputPipe?
    /// Set by a notify EXTEND / WATCHDOG message etc.; counted when dropped.
    var rejectedNotifications = 0
    var acceptedNotifications = 0

    /// Control clients following this instance's output (`bulkhead logs -f`).
    var followers = 0

    var stderrTail: LineRing
    var log: LineRing

    init(id: InstanceID, backtraceDirectory: String, output: OutputConfig) {
        self.id = id
        self.label = id.description
        self.backtraceDirectory = backtraceDirectory
        stderrTail = LineRing(maxLines: max(1, output.stderrTailLines), maxBytes: 64 << 10)
        // Saturating: the config bounds buffer_lines, but no config value may trap the daemon.
        log = LineRing(maxLines: max(1, output.bufferLines), maxBytes: max(64 << 10, output.bufferLines.multipliedReportingOverflow(by: 256).overflow ? .max : output.bufferLines * 256))
    }

    /// SIGKILL to everything in the instance's cgroup, remembered: on some kernels a killed
    /// group also kills what is born in it later, so its next spawns must move in instead.
    func killCgroup() {
        guard let cgroup else { return }
        cgroup.killAll()
        cgroupKilled = true
    }
}

/// The read end of one of a process's output pipes, with its partial line.
final class OutputPipe {
    let fd: FileDescriptor
    let stream: OutputStream
    var token: UInt64 = 0
    var splitter: LineSplitter
    var open = true

    init(fd: FileDescriptor, stream: OutputStream, maxLine: Int) {
        self.fd = fd
        self.stream = stream
        splitter = LineSplitter(maxLine: maxLine)
    }
}
