import BulkheadConfig
import BulkheadPolicy
import BulkheadSystem
import CLinux
import Glibc

/// Turns a worker spec into a clean process: environment, fds, identity, limits, cgroup.
struct WorkerLauncher {
    let daemonPID: Int32
    let devNull: FileDescriptor
    let cgroups: CgroupHost?
    /// The daemon's own PATH (and a few variables every program expects), for workers.
    let basePath: String
    let inheritedVariables: [String]
    /// The nice value workers start with (bulkhead's own from before it raised its loop
    /// thread), or nil when the loop runs at that value anyway.
    let workerNice: Int32?

    static let pipeSize: Int32 = 256 << 10
    static let maxLine = 32 << 10

    init(daemonPID: Int32, devNull: FileDescriptor, cgroups: CgroupHost?, workerNice: Int32?) {
        self.daemonPID = daemonPID
        self.devNull = devNull
        self.cgroups = cgroups
        self.workerNice = workerNice
        basePath = Environment.get("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        inheritedVariables = ["LANG", "LC_ALL", "LC_CTYPE", "TZ"].compactMap { key in
            Environment.get(key).map { "\(key)=\($0)" }
        }
    }

    struct Launched {
        var pid: Int32
        /// The pipes bulkhead reads (`output: bulkhead`, or journald refused the worker).
        var output: (stdout: FileDescriptor, stderr: FileDescriptor)?
        /// journald's stream socket refused this worker (`output: journal-direct`): it was
        /// started with pipes through bulkhead instead, for this run.
        var journalRefused: SpawnError?
    }

    func launch(_ spec: WorkerSpec, slot: InstanceSlot, notifySocket: String) throws(SpawnError) -> Launched {
        let workerPath = spec.env.last { $0.key == "PATH" }?.value ?? basePath
        guard let executable = ConfigLoader.resolveExecutable(spec.command[0], path: workerPath, cwd: spec.cwd) else {
            throw SpawnError(stage: .exec, errno: ENOENT, detail: "\(spec.command[0]): no such executable (PATH=\(workerPath))")
        }
        var identity: (uid: UInt32, gid: UInt32, groups: [UInt32])?
        var home = "/"
        if let user = spec.user {
            do {
                let found = try Users.lookup(user: user)
                var gid = found.gid
                if let group = spec.group { gid = try Users.lookup(group: group) }
                identity = (found.uid, gid, found.groups)
                home = Environment.home(ofUser: user) ?? "/"
            } catch {
                throw SpawnError(stage: .uid, errno: error.errno, detail: error.call)
            }
        } else if let group = spec.group {
            do {
                let gid = try Users.lookup(group: group)
                identity = (getuid(), gid, [gid])
            } catch {
                throw SpawnError(stage: .gid, errno: error.errno, detail: error.call)
            }
        }

        prepareCgroup(spec, slot)
        if spec.backtrace { prepareBacktraceDirectory(slot, owner: identity?.uid) }

        var extra: [FileDescriptor] = []
        if let crumbs = slot.breadcrumbs?.descriptor { extra.append(crumbs) }
        let placement = slot.cgroup?.openForSpawn(killed: slot.cgroupKilled) ?? CgroupPlacement()
        defer { placement.close() }
        var request = SpawnRequest(
            executable: executable, arguments: spec.command,
            environment: environment(spec, slot: slot, notifySocket: notifySocket, home: home, path: workerPath, hasBreadcrumbs: !extra.isEmpty),
            workingDirectory: spec.cwd, standardInput: devNull, standardOutput: devNull, standardError: devNull,
            extraDescriptors: extra, identity: identity, resourceLimits: resourceLimits(spec.limits), cgroupProcs: placement.procs,
            birthCgroup: placement.birth,
            nice: workerNice
        )
        let streams = try WorkerStreams.make(spec.output, identifier: spec.name, placeholder: devNull)
        do {
            return Launched(pid: try spawn(&request, streams), output: streams.readEnds)
        } catch where error.stage == .journal {
            // journald is not there or refused the connection: this run's output goes through
            // bulkhead instead of being lost (the daemon says so).
            let fallback = try WorkerStreams.pipes()
            return Launched(pid: try spawn(&request, fallback), output: fallback.readEnds, journalRefused: error)
        }
    }

    private func spawn(_ request: inout SpawnRequest, _ streams: WorkerStreams) throws(SpawnError) -> Int32 {
        request.standardOutput = streams.standardOutput
        request.standardError = streams.standardError
        request.journalStream = streams.journalStream
        do {
            let pid = try Spawner.spawn(request)
            streams.spawnFinished(succeeded: true)
            return pid
        } catch {
            streams.spawnFinished(succeeded: false)
            throw error
        }
    }

    func environment(_ spec: WorkerSpec, slot: InstanceSlot, notifySocket: String, home: String, path: String, hasBreadcrumbs: Bool) -> [String] {
        var env: [String] = ["PATH=\(path)", "HOME=\(home)"] + inheritedVariables
        if let user = spec.user { env += ["USER=\(user)", "LOGNAME=\(user)"] }
        env += [
            "NOTIFY_SOCKET=\(notifySocket)",
            "BULKHEAD_WORKER=\(spec.name)",
            "BULKHEAD_INSTANCE=\(slot.id)",
            "BULKHEAD_INSTANCE_INDEX=\(slot.id.index)",
            "BULKHEAD_STOP_TIMEOUT_USEC=\(spec.stop.timeout.microseconds)",
        ]
        if hasBreadcrumbs { env.append("BULKHEAD_BREADCRUMBS_FD=3") }
        if let watchdog = spec.watchdog { env.append("WATCHDOG_USEC=\(watchdog.microseconds)") }
        let setsBacktrace = spec.env.contains { $0.key == "SWIFT_BACKTRACE" }
        if !setsBacktrace {
            // `backtrace: false` switches the runtime's backtracer off: it is on by default for
            // dynamically linked Swift programs, and would otherwise still run on every crash.
            env.append(spec.backtrace ? "SWIFT_BACKTRACE=\(Self.backtraceSetting(directory: slot.backtraceDirectory))"
                                      : "SWIFT_BACKTRACE=enable=no")
        }
        // The worker's own env last: it wins over everything above but the bulkhead variables.
        var seen = Set<String>()
        var merged: [String] = []
        for entry in spec.env.reversed() where seen.insert(entry.key).inserted {
            merged.append("\(entry.key)=\(entry.value)")
        }
        let overridden = Set(seen)
        env = env.filter { item in
            let key = String(item.prefix { $0 != "=" })
            return key.hasPrefix("BULKHEAD_") || key == "NOTIFY_SOCKET" || !overridden.contains(key)
        }
        return env + merged.reversed().filter { !$0.hasPrefix("BULKHEAD_") && !$0.hasPrefix("NOTIFY_SOCKET=") }
    }

    /// The runtime backtracer, told to write a JSON report bulkhead reads after the death:
    /// never interactive (a TTY would make it wait 30 s for a key), no colour.
    static func backtraceSetting(directory: String) -> String {
        "enable=yes,interactive=no,color=no,format=json,output-to=\(directory)"
    }

    func resourceLimits(_ limits: ResourceLimits) -> [(resource: Int32, soft: UInt64, hard: UInt64)] {
        var out: [(resource: Int32, soft: UInt64, hard: UInt64)] = []
        if let n = limits.openFiles { out.append((Int32(BH_RLIMIT_NOFILE), n, n)) }
        if let n = limits.processes { out.append((Int32(BH_RLIMIT_NPROC), n, n)) }
        if let n = limits.coreSize { out.append((Int32(BH_RLIMIT_CORE), n, n)) }
        // The hard limit a second later, so SIGXCPU (the soft limit) comes first; saturating, since
        // `unlimited` is UInt64.max (RLIM_INFINITY).
        if let n = limits.cpuSeconds { out.append((Int32(BH_RLIMIT_CPU), n, n == .max ? n : n + 1)) }
        if let n = limits.fileSize { out.append((Int32(BH_RLIMIT_FSIZE), n, n)) }
        return out
    }

    func prepareCgroup(_ spec: WorkerSpec, _ slot: InstanceSlot) {
        guard !slot.cgroupPrepared, let cgroups else { return }
        slot.cgroupPrepared = true
        let name = slot.id.description.replacingColons()
        // A group left from an earlier slot of this name may have been killed: assume it was.
        slot.cgroupKilled = cgroups.trackingBase.map { FileSystem.info($0 + "/" + name)?.isDirectory == true } ?? false
        let group = cgroups.instanceGroup(named: name, memoryLimit: spec.limits.memory, pidsLimit: spec.limits.processes)
        if group.trackingPath != nil || group.memoryPath != nil { slot.cgroup = group }
    }

    /// Created once per instance (and again if something removed it), owned by the worker's
    /// user so its backtracer can write there.
    func prepareBacktraceDirectory(_ slot: InstanceSlot, owner: UInt32?) {
        if slot.backtraceDirectoryOwner == owner && FileSystem.info(slot.backtraceDirectory)?.isDirectory == true { return }
        if mkdir(slot.backtraceDirectory, 0o700) != 0 && errno != EEXIST {
            try? FileSystem.makeDirectories(slot.backtraceDirectory, mode: 0o700)
        }
        if let owner { try? FileSystem.chown(slot.backtraceDirectory, uid: owner, gid: nil) }
        slot.backtraceDirectoryOwner = owner
    }
}

extension String {
    /// `api:0` → `api.0` (cgroup and file names).
    func replacingColons() -> String {
        String(map { $0 == ":" ? "." : $0 })
    }
}

/// The daemon's environment, read without Foundation.
enum Environment {
    static func get(_ key: String) -> String? {
        getenv(key).map { String(cString: $0) }
    }

    static func home(ofUser user: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 16384)
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        guard getpwnam_r(user, &pw, &buffer, buffer.count, &result) == 0, result != nil, let dir = pw.pw_dir else { return nil }
        return String(cString: dir)
    }
}
