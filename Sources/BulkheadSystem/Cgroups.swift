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
    /// v2 controllers on for instance groups (`memory`, `pids`, `cpu`, `io`), pure v2 only.
    let v2Controllers: Set<String>
    /// Hybrid hosts: this daemon's directory in the v1 `cpu`, `pids` and `blkio` hierarchies
    /// it may write (limits.cpu, limits.tasks, limits.io_weight).
    let v1Bases: [String: String]
    /// The limit controllers (`memory`, `cpu`, `io`, `pids`) bulkhead cannot use here, each
    /// with why, in a clause: `limits` that need them are reported, never silently dropped.
    public private(set) var missingLimitControllers: [String: String] = [:]

    /// Detects what this machine offers. `name` is the directory created for this daemon.
    public init(name: String) {
        var tracking: String?
        var memory: String?
        var memoryV2 = false
        var controllers: Set<String> = []
        var v1: [String: String] = [:]
        var missing: [String: String] = [:]
        let own = CgroupHost.ownPaths()
        if FileSystem.exists("/sys/fs/cgroup/cgroup.controllers") {
            // Pure v2. Under systemd with Delegate=yes our unit's cgroup is ours to divide: move
            // the daemon into a leaf first (no processes in inner nodes once controllers are on).
            let base = "/sys/fs/cgroup" + (own.unified ?? "")
            let leaf = base + "/supervisor"
            if (try? FileSystem.makeDirectories(leaf)) != nil,
               (try? FileSystem.writeValue(leaf + "/cgroup.procs", "\(getpid())\n")) != nil {
                tracking = base + "/" + name
                let available = Set((FileSystem.readText(base + "/cgroup.controllers") ?? "").split(whereSeparator: \.isWhitespace).map(String.init))
                // One write per controller: a write naming one the kernel refuses fails whole.
                for controller in Self.limitControllers where available.contains(controller) {
                    if (try? FileSystem.writeValue(base + "/cgroup.subtree_control", "+\(controller)")) != nil { controllers.insert(controller) }
                }
                for controller in Self.limitControllers where !controllers.contains(controller) {
                    missing[controller] = "no \(controller) controller in bulkhead's cgroup v2 subtree (its parent does not delegate it)"
                }
                if controllers.contains("memory") {
                    memory = tracking
                    memoryV2 = true
                }
            } else {
                notes.append("cgroup v2 is not delegated to bulkhead (set Delegate=yes in its unit): process groups only")
                for controller in Self.limitControllers {
                    missing[controller] = "cgroup v2 is not delegated to bulkhead (set Delegate=yes in its unit)"
                }
            }
        } else {
            if FileSystem.exists("/sys/fs/cgroup/unified/cgroup.procs") {
                let base = "/sys/fs/cgroup/unified" + (own.unified ?? "")
                tracking = base + "/" + name
            }
            if FileSystem.exists("/sys/fs/cgroup/memory/cgroup.procs") {
                memory = "/sys/fs/cgroup/memory" + (own.v1["memory"] ?? "") + "/" + name
            } else {
                missing["memory"] = "no v1 memory hierarchy is mounted"
            }
            // Hybrid: limits other than memory live in v1 hierarchies too (the unified one has
            // no controllers); each is created when the daemon starts, like the memory one.
            for (limit, hierarchy) in [("cpu", "cpu"), ("pids", "pids"), ("io", "blkio")] {
                guard FileSystem.exists("/sys/fs/cgroup/\(hierarchy)/cgroup.procs") else {
                    missing[limit] = "no v1 \(hierarchy) hierarchy is mounted (and the cgroup v2 one has no controllers)"
                    continue
                }
                let path = "/sys/fs/cgroup/\(hierarchy)" + (own.v1[hierarchy] ?? "") + "/" + name
                guard (try? FileSystem.makeDirectories(path)) != nil else {
                    missing[limit] = "cannot create \(path)"
                    continue
                }
                if limit == "io" && !FileSystem.exists(path + "/blkio.bfq.weight") {
                    FileSystem.removeDirectory(path)
                    missing[limit] = "the v1 blkio controller offers no weight here (blkio.bfq.weight needs the BFQ I/O scheduler)"
                    continue
                }
                v1[hierarchy] = path
            }
        }
        // Daemons that were killed (SIGKILL, a crash of their own) leave `bulkhead-<pid>`
        // directories behind; remove the empty ones whose daemon is gone.
        for base in [tracking, memory].compactMap({ $0 }) + Array(v1.values) {
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
        if let t = tracking {
            for controller in Self.limitControllers where controllers.contains(controller) {
                _ = try? FileSystem.writeValue(t + "/cgroup.subtree_control", "+\(controller)")
            }
        }
        if memory == nil {
            notes.append("no memory cgroup: limits.memory is not enforced")
            if missing["memory"] == nil { missing["memory"] = "no memory cgroup bulkhead may write" }
        }
        trackingBase = tracking
        memoryBase = memory
        memoryIsV2 = memoryV2
        v2Controllers = controllers
        v1Bases = v1
        missingLimitControllers = missing
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

    /// Our own cgroup paths: the v2 one (`0::/x`) and each v1 controller's (`N:cpu,cpuacct:/y`).
    static func ownPaths() -> (unified: String?, v1: [String: String]) {
        var unified: String?
        var v1: [String: String] = [:]
        for line in (FileSystem.readText("/proc/self/cgroup") ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = parts[2] == "/" ? "" : String(parts[2])
            if parts[0] == "0" && parts[1].isEmpty { unified = path }
            for controller in parts[1].split(separator: ",") { v1[String(controller)] = path }
        }
        return (unified, v1)
    }

    /// The controllers `limits` use, by their v2 names.
    static let limitControllers = ["memory", "pids", "cpu", "io"]

    /// The cgroups of one instance, created once and reused across its restarts; called again
    /// when its limits change (a reload), it writes them again, unset ones back to the default.
    /// - Parameters:
    ///   - pidsLimit: `pids.max` (UInt64.max: `max`).
    ///   - cpuMax: `cpu.max` quota and period in microseconds.
    ///   - ioWeight: `io.weight` (v1 BFQ: `blkio.bfq.weight`, at most 1000).
    public func instanceGroup(named name: String, memoryLimit: UInt64?, pidsLimit: UInt64?,
                              cpuMax: (quota: Int, period: Int)? = nil, ioWeight: Int? = nil) -> InstanceCgroup {
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
        var v1Paths: [String] = []
        var pidsPath: String?
        /// The v2 instance group when the controller is on there, else a v1 group of its own
        /// (created only when the limit is set: a spawn writes each such group's cgroup.procs).
        func place(_ controller: String, hierarchy: String, wanted: Bool) -> String? {
            if v2Controllers.contains(controller) { return tracking }
            guard wanted, let base = v1Bases[hierarchy], (try? FileSystem.makeDirectories(base + "/" + name)) != nil else { return nil }
            v1Paths.append(base + "/" + name)
            return base + "/" + name
        }
        if let group = place("pids", hierarchy: "pids", wanted: pidsLimit != nil) {
            pidsPath = group
            _ = try? FileSystem.writeValue(group + "/pids.max", pidsLimit.map { $0 == .max ? "max\n" : "\($0)\n" } ?? "max\n")
        }
        if let group = place("cpu", hierarchy: "cpu", wanted: cpuMax != nil) {
            if v2Controllers.contains("cpu") {
                _ = try? FileSystem.writeValue(group + "/cpu.max", cpuMax.map { "\($0.quota) \($0.period)\n" } ?? "max 100000\n")
            } else {
                _ = try? FileSystem.writeValue(group + "/cpu.cfs_period_us", "\(cpuMax?.period ?? 100_000)\n")
                _ = try? FileSystem.writeValue(group + "/cpu.cfs_quota_us", "\(cpuMax?.quota ?? -1)\n")
            }
        }
        if let group = place("io", hierarchy: "blkio", wanted: ioWeight != nil) {
            if v2Controllers.contains("io") {
                _ = try? FileSystem.writeValue(group + "/io.weight", "default \(ioWeight ?? 100)\n")
            } else {
                _ = try? FileSystem.writeValue(group + "/blkio.bfq.weight", "\(min(ioWeight ?? 100, 1000))\n")
            }
        }
        return InstanceCgroup(trackingPath: tracking, memoryPath: memoryPath, memoryIsV2: memoryIsV2,
                              birthInGroup: birthInGroup, birthSurvivesKill: birthSurvivesKill, v1Paths: v1Paths, pidsPath: pidsPath)
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
        for base in v1Bases.values { FileSystem.removeDirectory(base) }
    }
}

public struct InstanceCgroup: Sendable {
    public let trackingPath: String?
    public let memoryPath: String?
    let memoryIsV2: Bool
    /// See `CgroupHost.birthInGroup` and `birthSurvivesKill`.
    let birthInGroup: Bool
    let birthSurvivesKill: Bool
    /// v1 groups of limit controllers other than memory (hybrid hosts).
    public let v1Paths: [String]
    /// Where `pids.max` and `pids.events` are, when the instance has a pids controller.
    public let pidsPath: String?

    init(trackingPath: String?, memoryPath: String?, memoryIsV2: Bool, birthInGroup: Bool, birthSurvivesKill: Bool,
         v1Paths: [String] = [], pidsPath: String? = nil) {
        self.trackingPath = trackingPath
        self.memoryPath = memoryPath
        self.memoryIsV2 = memoryIsV2
        self.birthInGroup = birthInGroup
        self.birthSurvivesKill = birthSurvivesKill
        self.v1Paths = v1Paths
        self.pidsPath = pidsPath
    }

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
        placement.procs += v1Paths.compactMap { Self.openProcs($0) }
        return placement
    }

    /// Every cgroup.procs file of the instance (for a child that places itself).
    public func openProcsFiles() -> [FileDescriptor] {
        ([trackingPath, memoryPath == trackingPath ? nil : memoryPath] + v1Paths).compactMap { Self.openProcs($0) }
    }

    private static func openProcs(_ group: String?) -> FileDescriptor? {
        group.flatMap { try? FileDescriptor.open($0 + "/cgroup.procs", O_WRONLY) }
    }

    /// Processes still in the instance's cgroup.
    public func members() -> [Int32] {
        guard let path = trackingPath ?? memoryPath ?? v1Paths.first,
              let text = FileSystem.readText(path + "/cgroup.procs") else { return [] }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    /// SIGKILL to every process in it: `cgroup.kill` where the kernel has it, else one by one.
    public func killAll() {
        if let t = trackingPath, (try? FileSystem.writeValue(t + "/cgroup.kill", "1")) != nil { return }
        for pid in members() { ProcessSignals.signalProcess(pid, SIGKILL) }
    }

    /// Sends `signal` to every member (used for the stop signal when members left the group),
    /// but those in process group `exceptGroup` (signalled already, through the group).
    public func signalAll(_ signal: Int32, exceptGroup: Int32? = nil) {
        for pid in members() where exceptGroup == nil || getpgid(pid) != exceptGroup {
            ProcessSignals.signalProcess(pid, signal)
        }
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

    /// How often `pids.max` refused a fork or a thread so far (pids.events `max`).
    public func tasksLimitHits() -> Int {
        guard let p = pidsPath else { return 0 }
        for line in (FileSystem.readText(p + "/pids.events") ?? "").split(separator: "\n") where line.hasPrefix("max ") {
            return Int(line.dropFirst("max ".count)) ?? 0
        }
        return 0
    }

    public func remove() {
        if let t = trackingPath { FileSystem.removeDirectory(t) }
        if let m = memoryPath, m != trackingPath { FileSystem.removeDirectory(m) }
        for path in v1Paths { FileSystem.removeDirectory(path) }
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
