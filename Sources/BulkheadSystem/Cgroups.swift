import CLinux
import Glibc

/// Control groups for instances, where the machine lets us have them:
/// - a cgroup v2 directory per instance (pure v2, or the `unified` mount of a hybrid system) to
///   find and kill every process an instance left, even ones that escaped its process group;
/// - a memory controller (v2 `memory.max`, or v1 `memory.limit_in_bytes`) when a worker sets
///   `limits.memory`, with its OOM-kill counter read to classify a death as `limit`.
/// Without either, bulkhead falls back to process groups and rlimits, and says so once.
public final class CgroupHost {
    /// Where instance cgroups for tracking and killing live (v2), if anywhere.
    public let trackingBase: String?
    /// Where memory-limited instance cgroups live, and which API they speak.
    public let memoryBase: String?
    public let memoryIsV2: Bool
    /// Why something is missing, for the daemon's one startup line.
    public private(set) var notes: [String] = []
    /// New processes are born in their instance's group (clone3 CLONE_INTO_CGROUP) instead of
    /// moving themselves in: no cgroup migration, whose lock waits for an RCU grace period.
    public private(set) var birthInGroup = false
    /// …also in a group that has been through a `cgroup.kill`. Some kernels (6.18 here) apply
    /// that old kill to every process born in the group later; there, an instance whose group
    /// was killed goes back to moving its processes in.
    public private(set) var birthSurvivesKill = false

    /// Detects what this machine offers. `name` is the directory created for this daemon.
    public init(name: String) {
        var tracking: String?
        var memory: String?
        var memoryV2 = false
        let own = CgroupHost.ownPaths()
        if FileSystem.exists("/sys/fs/cgroup/cgroup.controllers") {
            // Pure v2. Under systemd with Delegate=yes our unit's cgroup is ours to divide: move
            // the daemon into a leaf first (no processes in inner nodes once controllers are on).
            let base = "/sys/fs/cgroup" + (own.unified ?? "")
            let leaf = base + "/supervisor"
            if (try? FileSystem.makeDirectories(leaf)) != nil,
               (try? FileSystem.writeValue(leaf + "/cgroup.procs", "\(getpid())\n")) != nil {
                tracking = base + "/" + name
                let available = FileSystem.readText(base + "/cgroup.controllers") ?? ""
                if available.split(separator: " ").contains(where: { $0.hasPrefix("memory") }) {
                    _ = try? FileSystem.writeValue(base + "/cgroup.subtree_control", "+memory +pids")
                    memory = tracking
                    memoryV2 = true
                }
            } else {
                notes.append("cgroup v2 is not delegated to bulkhead (set Delegate=yes in its unit): process groups only")
            }
        } else {
            if FileSystem.exists("/sys/fs/cgroup/unified/cgroup.procs") {
                let base = "/sys/fs/cgroup/unified" + (own.unified ?? "")
                tracking = base + "/" + name
            }
            if FileSystem.exists("/sys/fs/cgroup/memory/cgroup.procs") {
                memory = "/sys/fs/cgroup/memory" + (own.memoryV1 ?? "") + "/" + name
            }
        }
        // Daemons that were killed (SIGKILL, a crash of their own) leave `bulkhead-<pid>`
        // directories behind; remove the empty ones whose daemon is gone.
        for base in [tracking, memory].compactMap({ $0 }) {
            if let slash = base.lastIndex(of: "/") { CgroupHost.removeStale(in: String(base[..<slash]), keeping: name) }
        }
        if let t = tracking, (try? FileSystem.makeDirectories(t)) == nil {
            notes.append("cannot create \(t): instances are tracked by process group only")
            tracking = nil
        }
        if let m = memory, m != tracking, (try? FileSystem.makeDirectories(m)) == nil {
            notes.append("cannot create \(m): memory limits are not enforced")
            memory = nil
        }
        if memoryV2, let t = tracking {
            _ = try? FileSystem.writeValue(t + "/cgroup.subtree_control", "+memory +pids")
        }
        if memory == nil { notes.append("no memory cgroup: limits.memory is not enforced") }
        trackingBase = tracking
        memoryBase = memory
        memoryIsV2 = memoryV2
        if let t = tracking {
            birthInGroup = CgroupHost.bornAlive(under: t, afterKill: false)
            birthSurvivesKill = birthInGroup && CgroupHost.bornAlive(under: t, afterKill: true)
        }
    }

    /// Whether a process born in a scratch group (after a `cgroup.kill` of it, if asked) lives.
    static func bornAlive(under base: String, afterKill: Bool) -> Bool {
        let probe = base + "/birth-probe"
        guard (try? FileSystem.makeDirectories(probe)) != nil else { return false }
        defer { FileSystem.removeDirectory(probe) }
        if afterKill, (try? FileSystem.writeValue(probe + "/cgroup.kill", "1")) == nil { return true }
        guard let directory = try? FileDescriptor.open(probe, O_RDONLY | O_DIRECTORY) else { return false }
        defer { directory.close() }
        return bh_probe_clone_into_cgroup(directory.rawValue) == 1
    }

    /// Removes `bulkhead-<pid>` directories (and their empty instance groups) under `parent`
    /// whose daemon no longer exists.
    static func removeStale(in parent: String, keeping current: String) {
        for entry in FileSystem.list(parent) where entry.hasPrefix("bulkhead-") && entry != current {
            guard let pid = Int32(entry.dropFirst("bulkhead-".count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let path = parent + "/" + entry
            for child in FileSystem.list(path) where FileSystem.info(path + "/" + child)?.isDirectory == true {
                FileSystem.removeDirectory(path + "/" + child)
            }
            FileSystem.removeDirectory(path)
        }
    }

    /// Our own cgroup paths: the v2 one (`0::/x`) and the v1 memory one (`N:memory:/y`).
    static func ownPaths() -> (unified: String?, memoryV1: String?) {
        var unified: String?
        var memory: String?
        for line in (FileSystem.readText("/proc/self/cgroup") ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = parts[2] == "/" ? "" : String(parts[2])
            if parts[0] == "0" && parts[1].isEmpty { unified = path }
            if parts[1].split(separator: ",").contains("memory") { memory = path }
        }
        return (unified, memory)
    }

    /// The cgroups of one instance, created once and reused across its restarts.
    public func instanceGroup(named name: String, memoryLimit: UInt64?, pidsLimit: UInt64?) -> InstanceCgroup {
        var tracking: String?
        if let base = trackingBase {
            let path = base + "/" + name
            if (try? FileSystem.makeDirectories(path)) != nil { tracking = path }
        }
        var memoryPath: String?
        if let limit = memoryLimit, let base = memoryBase {
            let path = base + "/" + name
            if path == tracking || (try? FileSystem.makeDirectories(path)) != nil {
                if memoryIsV2 {
                    _ = try? FileSystem.writeValue(path + "/memory.max", "\(limit)\n")
                    _ = try? FileSystem.writeValue(path + "/memory.swap.max", "0\n")
                } else {
                    _ = try? FileSystem.writeValue(path + "/memory.limit_in_bytes", "\(limit)\n")
                    _ = try? FileSystem.writeValue(path + "/memory.memsw.limit_in_bytes", "\(limit)\n")
                }
                memoryPath = path
            }
        }
        if let pids = pidsLimit, memoryIsV2, let t = tracking {
            _ = try? FileSystem.writeValue(t + "/pids.max", "\(pids)\n")
        }
        return InstanceCgroup(trackingPath: tracking, memoryPath: memoryPath, memoryIsV2: memoryIsV2,
                              birthInGroup: birthInGroup, birthSurvivesKill: birthSurvivesKill)
    }

    /// The groups `instanceGroup` made for an instance before a re-exec: only their paths (they
    /// exist, limits and all), so taking over a thousand instances costs no cgroup writes.
    public func existingGroup(named name: String, hasMemoryLimit: Bool) -> InstanceCgroup {
        let tracking = trackingBase.map { $0 + "/" + name }
        let memory = hasMemoryLimit ? memoryBase.map { $0 + "/" + name } : nil
        return InstanceCgroup(trackingPath: tracking, memoryPath: memory, memoryIsV2: memoryIsV2,
                              birthInGroup: birthInGroup, birthSurvivesKill: birthSurvivesKill)
    }

    /// Removes this daemon's directory (instance groups must be empty and removed first).
    public func removeBase() {
        if let t = trackingBase { FileSystem.removeDirectory(t) }
        if let m = memoryBase, m != trackingBase { FileSystem.removeDirectory(m) }
    }
}

public struct InstanceCgroup: Sendable {
    public let trackingPath: String?
    public let memoryPath: String?
    let memoryIsV2: Bool
    /// See `CgroupHost.birthInGroup` and `birthSurvivesKill`.
    let birthInGroup: Bool
    let birthSurvivesKill: Bool

    /// What a spawn needs to place a new process of the instance: the tracking group to be
    /// born in (its directory, and its cgroup.procs as the fallback) and the cgroup.procs of a
    /// separate v1 memory group. The caller closes them after the spawn.
    /// - Parameter killed: `killAll` was used on the group since it was made.
    public func openForSpawn(killed: Bool) -> CgroupPlacement {
        var placement = CgroupPlacement()
        let tracking = Self.openProcs(trackingPath)
        if let tracking, let t = trackingPath, birthInGroup && (!killed || birthSurvivesKill),
           let directory = try? FileDescriptor.open(t, O_RDONLY | O_DIRECTORY) {
            placement.birth = (directory, tracking)
        } else if let tracking {
            placement.procs.append(tracking)
        }
        if memoryPath != trackingPath, let memory = Self.openProcs(memoryPath) { placement.procs.append(memory) }
        return placement
    }

    /// Every cgroup.procs file of the instance (for a child that places itself).
    public func openProcsFiles() -> [FileDescriptor] {
        [trackingPath, memoryPath == trackingPath ? nil : memoryPath].compactMap { Self.openProcs($0) }
    }

    private static func openProcs(_ group: String?) -> FileDescriptor? {
        group.flatMap { try? FileDescriptor.open($0 + "/cgroup.procs", O_WRONLY) }
    }

    /// Processes still in the instance's cgroup.
    public func members() -> [Int32] {
        guard let path = trackingPath ?? memoryPath,
              let text = FileSystem.readText(path + "/cgroup.procs") else { return [] }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    /// SIGKILL to every process in it: `cgroup.kill` where the kernel has it, else one by one.
    public func killAll() {
        if let t = trackingPath, (try? FileSystem.writeValue(t + "/cgroup.kill", "1")) != nil { return }
        for pid in members() { ProcessSignals.signalProcess(pid, SIGKILL) }
    }

    /// Sends `signal` to every member (used for the stop signal when members left the group).
    public func signalAll(_ signal: Int32) {
        for pid in members() { ProcessSignals.signalProcess(pid, signal) }
    }

    /// The kernel's count of OOM kills in this group so far.
    public func oomKills() -> Int {
        guard let m = memoryPath else { return 0 }
        let file = memoryIsV2 ? m + "/memory.events" : m + "/memory.oom_control"
        for line in (FileSystem.readText(file) ?? "").split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst("oom_kill ".count)) ?? 0
        }
        return 0
    }

    public func remove() {
        if let t = trackingPath { FileSystem.removeDirectory(t) }
        if let m = memoryPath, m != trackingPath { FileSystem.removeDirectory(m) }
    }
}

/// Descriptors for placing one new process in an instance's cgroups (`openForSpawn`).
public struct CgroupPlacement: Sendable {
    public var birth: (directory: FileDescriptor, procs: FileDescriptor)?
    public var procs: [FileDescriptor] = []

    public init() {}

    public func close() {
        birth?.directory.close()
        birth?.procs.close()
        for fd in procs { fd.close() }
    }
}
