import BulkheadPolicy
import BulkheadState
import BulkheadSystem
import Glibc

/// What a previous daemon on this state directory left running, found once at start (SPEC §10,
/// docs/ARCHITECTURE.md "Durable state and leftovers"). Two sources: the state file's pid and
/// kernel start time of each instance's process (a pid whose start time differs belongs to
/// someone else now and is never touched), and the instances' cgroups, whose names are stable
/// across runs (`DaemonScope`), for processes the file does not name (it was lost, or trailed
/// a restart by a few milliseconds).
///
/// A recorded process is adopted when nothing of it is lost by doing so: its output pipes are
/// the very ones the previous daemon read (same inodes, reopened through `/proc/PID/fd/1` and
/// `2`: opening a pipe there gives a new read end of the same pipe), and its worker would still
/// start it the same way. Anything else is stopped before its instance starts.
struct LeftoverSearch {
    struct Found {
        var id: InstanceID
        var pid: Int32
        var pidfd: FileDescriptor
        var startTime: UInt64
        /// The notify socket name it was given, to bind again when it is adopted.
        var notifySocket: String?
        /// Present when it can be adopted as it is.
        var adoption: Adoption?
        /// Why it is stopped instead, for the log.
        var reason: String?
    }

    struct Adoption {
        /// New read ends of its output pipes; nil when its output never went through bulkhead
        /// (`journal-direct`, `append:PATH`): nothing to take over, nothing lost.
        var output: (stdout: FileDescriptor, stderr: FileDescriptor)?
        var breadcrumbs: BreadcrumbFile?

        func close() {
            output?.stdout.close()
            output?.stderr.close()
        }
    }

    /// Processes in cgroups of instances the config no longer has: killed outright.
    private(set) var strays: [(group: String, pids: [Int32])] = []
    private(set) var found: [InstanceID: Found] = [:]

    /// - Parameters:
    ///   - document: the state file, already rebased to this boot (process stamps dropped when
    ///     it was written in another).
    ///   - specs: the config's workers by name.
    ///   - instances: every configured instance.
    init(document: StateDocument?, specs: [String: WorkerSpec], instances: Set<InstanceID>, cgroupBase: String?) {
        for entry in document?.instances ?? [] {
            guard let stamp = entry.process, let spec = specs[entry.record.id.worker], instances.contains(entry.record.id) else { continue }
            guard let (pidfd, stat) = Self.open(stamp.pid, startTime: stamp.startTime) else { continue }
            var item = Found(id: entry.record.id, pid: stamp.pid, pidfd: pidfd, startTime: stat.startTime, notifySocket: stamp.notifySocket)
            if stamp.identity != spec.processIdentity.digest {
                item.reason = "its worker's command or settings changed since it started"
            } else {
                switch Self.takeOutput(stamp, spec.output) {
                case .success(let adoption): item.adoption = adoption
                case .failure(let why): item.reason = why.call
                }
            }
            found[entry.record.id] = item
        }
        if let cgroupBase { searchCgroups(cgroupBase, instances: instances) }
    }

    /// The process at `pid`, if it is the one that started at `startTime` and is not a zombie;
    /// with a pidfd opened on it (checked again after the open, so the pidfd cannot be on a
    /// process that took the pid in between).
    static func open(_ pid: Int32, startTime: UInt64?) -> (FileDescriptor, ProcFS.Stat)? {
        guard let before = ProcFS.stat(pid), startTime.map({ $0 == before.startTime }) ?? true,
              before.state != "Z", before.state != "X" else { return nil }
        guard let pidfd = Reaper.pidfd(for: pid) else { return nil }
        guard let after = ProcFS.stat(pid), after.startTime == before.startTime, after.state != "Z" else {
            pidfd.close()
            return nil
        }
        return (pidfd, after)
    }

    /// The process's stdout and stderr, if they are still the pipes bulkhead gave it (or it was
    /// given none: its output goes to journald or a file by itself).
    static func takeOutput(_ stamp: ProcessStamp, _ mode: WorkerOutput) -> Result<Adoption, SystemError> {
        guard let stdoutInode = stamp.stdoutPipe, let stderrInode = stamp.stderrPipe else {
            if mode != .bulkhead { return .success(Adoption(output: nil, breadcrumbs: .held(by: stamp.pid))) }
            return .failure(SystemError(ENOENT, "the state file does not name its output pipes"))
        }
        let stdout: FileDescriptor
        switch reopenPipe(stamp.pid, 1, inode: stdoutInode) {
        case .success(let fd): stdout = fd
        case .failure(let error): return .failure(error)
        }
        let stderr: FileDescriptor
        switch reopenPipe(stamp.pid, 2, inode: stderrInode) {
        case .success(let fd): stderr = fd
        case .failure(let error):
            stdout.close()
            return .failure(error)
        }
        return .success(Adoption(output: (stdout, stderr), breadcrumbs: .held(by: stamp.pid)))
    }

    /// A new read end of the pipe at the process's fd `number`, if it is the pipe `inode`.
    static func reopenPipe(_ pid: Int32, _ number: Int32, inode: UInt64) -> Result<FileDescriptor, SystemError> {
        let stream = number == 1 ? "stdout" : "stderr"
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open("/proc/\(pid)/fd/\(number)", O_RDONLY | O_NONBLOCK)
        } catch {
            return .failure(SystemError(error.errno, "its \(stream) cannot be reopened (\(SystemError.describe(error.errno)))"))
        }
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0, (st.st_mode & S_IFMT) == S_IFIFO, UInt64(st.st_ino) == inode else {
            fd.close()
            return .failure(SystemError(ESTALE, "its \(stream) is no longer the pipe bulkhead gave it"))
        }
        return .success(fd.movedHigh())
    }


    /// Processes in instance cgroups that no record named: for an instance of the config, its
    /// main process (the session leader: every instance starts in a session of its own) is
    /// stopped before it starts; the rest of the group goes with it. Groups of instances the
    /// config no longer has are listed to be killed.
    private mutating func searchCgroups(_ base: String, instances: Set<InstanceID>) {
        for name in FileSystem.list(base) {
            let path = base + "/" + name
            guard FileSystem.info(path)?.isDirectory == true, let dot = name.lastIndex(of: "."),
                  let index = Int(name[name.index(after: dot)...]) else { continue }
            let id = InstanceID(worker: String(name[..<dot]), index: index)
            let members = (FileSystem.readText(path + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
            guard !members.isEmpty else { continue }
            guard instances.contains(id) else {
                strays.append((path, members))
                continue
            }
            if found[id] != nil { continue }   // its recorded process, and what that process started
            let leader = members.first { ProcFS.stat($0)?.processGroup == $0 } ?? members[0]
            guard let (pidfd, stat) = Self.open(leader, startTime: nil) else { continue }
            found[id] = Found(id: id, pid: leader, pidfd: pidfd, startTime: stat.startTime,
                              reason: "the state file does not name it (found in the instance's cgroup)")
        }
    }
}

extension BreadcrumbFile {
    /// The ring a daemon gave `pid` as its fd 3, mapped again if the worker still holds it: how
    /// an adopted worker (after a crash of the daemon) or a worker across a re-exec (a mapping
    /// does not survive execve, and no fd of it is kept) keeps its breadcrumbs. nil when the
    /// worker closed it or is already dead (a zombie has no fds): its breadcrumbs start fresh.
    static func held(by pid: Int32) -> BreadcrumbFile? {
        guard let target = ProcFS.descriptorTarget(pid: pid, fd: 3), target.hasPrefix("/memfd:bulkhead-breadcrumbs-"),
              let fd = try? FileDescriptor.open("/proc/\(pid)/fd/3", O_RDONLY) else { return nil }
        return try? BreadcrumbFile(adopting: fd)
    }
}
