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
    /// The nice value hook programs run at: below the workers (and far below the loop), so a
    /// burst of notifications takes only CPU that supervision and the workers leave over.
    let hookNice: Int32
    /// What each worker's oom_score_adj is set to after its exec (`Daemon.protectFromOOMKiller`):
    /// 500 above the daemon's, whether the daemon lowered its own or could not. nil: workers
    /// keep what they inherit (the unit's OOMScoreAdjust=).
    var workerOOMScoreAdjust: Int32?
    /// Where each instance's CREDENTIALS_DIRECTORY is made.
    let credentials: CredentialDirectories
    /// The cgroup controllers `limits` cannot use here (`tasks` falls back to RLIMIT_NPROC).
    let limitSupport: LimitSupport
    /// The Swift crash reporter named in every worker's SWIFT_BACKTRACE, so a statically linked
    /// Swift worker gets a report too (`SwiftBacktracer`); nil when none was found.
    let swiftBacktracer: String?

    static let hookNiceOffset: Int32 = 10
    static let pipeSize: Int32 = 256 << 10
    static let maxLine = 32 << 10

    init(daemonPID: Int32, devNull: FileDescriptor, cgroups: CgroupHost?, workerNice: Int32?, credentials: CredentialDirectories) {
        self.daemonPID = daemonPID
        self.devNull = devNull
        self.cgroups = cgroups
        self.workerNice = workerNice
        let own = workerNice ?? bh_thread_nice()
        hookNice = own == Int32.min ? Self.hookNiceOffset : min(own + Self.hookNiceOffset, 19)
        self.credentials = credentials
        limitSupport = Self.limitSupport(cgroups)
        swiftBacktracer = SwiftBacktracer.locate()
        basePath = Environment.get("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        inheritedVariables = ["LANG", "LC_ALL", "LC_CTYPE", "TZ"].compactMap { key in
            Environment.get(key).map { "\(key)=\($0)" }
        }
    }

    struct Launched {
        var pid: Int32
        /// Its start time as /proc/PID/stat has it, when the spawn knew it exactly.
        var startTicks: UInt64? = nil
        /// The pipes bulkhead reads (`output: bulkhead`, or journald refused the worker).
        var output: (stdout: FileDescriptor, stderr: FileDescriptor)?
        /// journald's stream socket refused this worker (`output: journal-direct`): it was
        /// started with pipes through bulkhead instead, for this run.
        var journalRefused: SpawnError?
    }

    /// What the instance's processes run as, and its HOME.
    typealias Identity = (ids: (uid: UInt32, gid: UInt32, groups: [UInt32])?, home: String)

    func launch(_ spec: WorkerSpec, slot: InstanceSlot, notifySocket: String, sockets: [ListeningSockets.Open]) throws(SpawnError) -> Launched {
        if let problem = spec.startProblem { throw SpawnError(stage: .envFile, errno: ENOENT, detail: problem) }
        let workerPath = Self.ownVariables(spec).last { $0.key == "PATH" }?.value ?? basePath
        guard let executable = ConfigLoader.resolveExecutable(spec.command[0], path: workerPath, cwd: spec.cwd) else {
            throw SpawnError(stage: .exec, errno: ENOENT, detail: "\(spec.command[0]): no such executable (PATH=\(workerPath))")
        }
        let (identity, home) = try self.identity(spec)

        prepareCgroup(spec, slot)
        if spec.backtrace { prepareBacktraceDirectory(slot, owner: identity?.uid) }
        var credentialsDirectory: String?
        if !spec.credentials.isEmpty {
            credentialsDirectory = try credentials.prepare(slot.id, spec.credentials, uid: identity?.uid, gid: identity?.gid)
        }
        slot.mayLeaveBacktrace = spec.backtrace
        slot.mayLeaveCredentials = credentialsDirectory != nil
        do {
            return try start(spec, slot: slot, executable: executable, identity: identity, environment: environment(
                spec, slot: slot, notifySocket: notifySocket, home: home, path: workerPath, sockets: sockets.map(\.spec.name),
                hasBreadcrumbs: slot.breadcrumbs != nil, credentialsDirectory: credentialsDirectory
            ), sockets: sockets.map(\.descriptor))
        } catch {
            if credentialsDirectory != nil { credentials.remove(slot.id) }
            throw error
        }
    }

    func identity(_ spec: WorkerSpec) throws(SpawnError) -> Identity {
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
        return (identity, home)
    }

    /// Streams, fds and the clone: sockets become fds 3…, the breadcrumb ring the next one.
    private func start(_ spec: WorkerSpec, slot: InstanceSlot, executable: String, identity: (uid: UInt32, gid: UInt32, groups: [UInt32])?,
                       environment: (variables: [String], listenPIDIndex: Int?), sockets: [FileDescriptor]) throws(SpawnError) -> Launched {
        var extra: [FileDescriptor] = sockets
        if let crumbs = slot.breadcrumbs?.descriptor { extra.append(crumbs) }
        let placement = slot.cgroup?.openForSpawn(killed: slot.cgroupKilled) ?? CgroupPlacement()
        defer { placement.close() }
        var request = SpawnRequest(
            executable: executable, arguments: spec.command, environment: environment.variables,
            workingDirectory: spec.cwd, standardInput: devNull, standardOutput: devNull, standardError: devNull,
            extraDescriptors: extra, identity: identity, resourceLimits: resourceLimits(spec.limits), cgroupProcs: placement.procs,
            birthCgroup: placement.birth,
            nice: workerNice
        )
        request.listenPIDVariableIndex = environment.listenPIDIndex
        let streams = try WorkerStreams.make(spec.output, identifier: spec.name, placeholder: devNull)
        do {
            let started = try spawn(&request, streams)
            return Launched(pid: started.pid, startTicks: started.startTicks, output: streams.readEnds)
        } catch where error.stage == .journal {
            // journald is not there or refused the connection: this run's output goes through
            // bulkhead instead of being lost (the daemon says so).
            let fallback = try WorkerStreams.pipes()
            let started = try spawn(&request, fallback)
            return Launched(pid: started.pid, startTicks: started.startTicks, output: fallback.readEnds, journalRefused: error)
        }
    }

    private func spawn(_ request: inout SpawnRequest, _ streams: WorkerStreams) throws(SpawnError) -> (pid: Int32, startTicks: UInt64?) {
        request.standardOutput = streams.standardOutput
        request.standardError = streams.standardError
        request.journalStream = streams.journalStream
        do {
            let started = try Spawner.spawnWithStart(request)
            if let adjust = workerOOMScoreAdjust { OOMScore.set(adjust, pid: started.pid) }
            streams.spawnFinished(succeeded: true)
            return started
        } catch {
            streams.spawnFinished(succeeded: false)
            throw error
        }
    }

    /// An `exec` health check of the instance: its user, cwd, environment (less what belongs to
    /// the main process alone: the notify socket, the watchdog, the breadcrumb ring, the
    /// sockets) and cgroup, in a session of its own so a timeout can kill all of it. Its
    /// stdout and stderr go to `output`.
    func probeProcess(_ spec: WorkerSpec, slot: InstanceSlot, argv: [String], output: FileDescriptor) throws(SpawnError) -> Int32 {
        let workerPath = Self.ownVariables(spec).last { $0.key == "PATH" }?.value ?? basePath
        guard let executable = ConfigLoader.resolveExecutable(argv[0], path: workerPath, cwd: spec.cwd) else {
            throw SpawnError(stage: .exec, errno: ENOENT, detail: "\(argv[0]): no such executable")
        }
        let (identity, home) = try self.identity(spec)
        let credentialsDirectory = spec.credentials.isEmpty ? nil : credentials.directory(of: slot.id)
        let mainOnly = ["NOTIFY_SOCKET=", "WATCHDOG_USEC=", "BULKHEAD_BREADCRUMBS_FD=", "SWIFT_BACKTRACE="]
        let variables = environment(spec, slot: slot, notifySocket: "", home: home, path: workerPath, hasBreadcrumbs: false,
                                    credentialsDirectory: credentialsDirectory).variables
            .filter { variable in !mainOnly.contains { variable.hasPrefix($0) } }
        let placement = slot.cgroup?.openForSpawn(killed: slot.cgroupKilled) ?? CgroupPlacement()
        defer { placement.close() }
        let request = SpawnRequest(
            executable: executable, arguments: argv, environment: variables, workingDirectory: spec.cwd,
            standardInput: devNull, standardOutput: output, standardError: output, identity: identity,
            cgroupProcs: placement.procs, birthCgroup: placement.birth, nice: workerNice
        )
        return try Spawner.spawn(request)
    }

    /// The worker's own variables: `env`, then its env files (which win, as in systemd).
    static func ownVariables(_ spec: WorkerSpec) -> [EnvironmentEntry] {
        spec.env + spec.envFileEntries
    }

    /// The instance's environment, and where `LISTEN_PID` is in it (the child fills it in).
    /// - Parameter sockets: the names of the sockets passed from fd 3 on.
    func environment(_ spec: WorkerSpec, slot: InstanceSlot, notifySocket: String, home: String, path: String, sockets: [String] = [],
                     hasBreadcrumbs: Bool, credentialsDirectory: String? = nil) -> (variables: [String], listenPIDIndex: Int?) {
        var env: [String] = ["PATH=\(path)", "HOME=\(home)"] + inheritedVariables
        if let user = spec.user { env += ["USER=\(user)", "LOGNAME=\(user)"] }
        env += [
            "NOTIFY_SOCKET=\(notifySocket)",
            "BULKHEAD_WORKER=\(spec.name)",
            "BULKHEAD_INSTANCE=\(slot.id)",
            "BULKHEAD_INSTANCE_INDEX=\(slot.id.index)",
            "BULKHEAD_STOP_TIMEOUT_USEC=\(spec.stop.timeout.microseconds)",
        ]
        // sd_listen_fds(3): the sockets from fd 3 on, then bulkhead's own ring.
        if hasBreadcrumbs { env.append("BULKHEAD_BREADCRUMBS_FD=\(3 + sockets.count)") }
        if !sockets.isEmpty {
            env += ["LISTEN_FDS=\(sockets.count)", "LISTEN_FDNAMES=\(sockets.joined(separator: ":"))"]
        }
        if let credentialsDirectory { env.append("CREDENTIALS_DIRECTORY=\(credentialsDirectory)") }
        if let watchdog = spec.watchdog { env.append("WATCHDOG_USEC=\(watchdog.microseconds)") }
        let setsBacktrace = spec.env.contains { $0.key == "SWIFT_BACKTRACE" }
        if !setsBacktrace {
            // `backtrace: false` switches the runtime's backtracer off: it is on by default for
            // dynamically linked Swift programs, and would otherwise still run on every crash.
            env.append(spec.backtrace ? "SWIFT_BACKTRACE=\(Self.backtraceSetting(directory: slot.backtraceDirectory, backtracer: swiftBacktracer))"
                                      : "SWIFT_BACKTRACE=enable=no")
        }
        // The worker's own env last: it wins over everything above but the bulkhead variables.
        var seen = Set<String>()
        var merged: [String] = []
        for entry in Self.ownVariables(spec).reversed() where seen.insert(entry.key).inserted {
            merged.append("\(entry.key)=\(entry.value)")
        }
        let overridden = Set(seen)
        env = env.filter { item in
            let key = String(item.prefix { $0 != "=" })
            return key.hasPrefix("BULKHEAD_") || key == "NOTIFY_SOCKET" || !overridden.contains(key)
        }
        env += merged.reversed().filter { !$0.hasPrefix("BULKHEAD_") && !$0.hasPrefix("NOTIFY_SOCKET=") }
        guard !sockets.isEmpty else { return (env, nil) }
        env.append(SpawnRequest.listenPIDPlaceholder)
        return (env, env.count - 1)
    }

    /// The runtime backtracer, told to write a JSON report bulkhead reads after the death:
    /// never interactive (a TTY would make it wait 30 s for a key), no colour; `backtracer`
    /// named for statically linked workers, which have none of their own. (The runtime splits
    /// the setting at commas: a path holding one cannot be given, and is not.)
    static func backtraceSetting(directory: String, backtracer: String? = nil) -> String {
        let program = backtracer.flatMap { $0.contains(",") ? nil : ",swift-backtrace=" + $0 } ?? ""
        return "enable=yes,interactive=no,color=no,format=json,output-to=\(directory)" + program
    }

    func resourceLimits(_ limits: ResourceLimits) -> [(resource: Int32, soft: UInt64, hard: UInt64)] {
        var out: [(resource: Int32, soft: UInt64, hard: UInt64)] = []
        if let n = limits.openFiles { out.append((Int32(BH_RLIMIT_NOFILE), n, n)) }
        if let n = LimitEnforcement.processRlimit(limits, support: limitSupport) { out.append((Int32(BH_RLIMIT_NPROC), n, n)) }
        if let n = limits.coreSize { out.append((Int32(BH_RLIMIT_CORE), n, n)) }
        // The hard limit a second later, so SIGXCPU (the soft limit) comes first; saturating, since
        // `unlimited` is UInt64.max (RLIM_INFINITY).
        if let n = limits.cpuSeconds { out.append((Int32(BH_RLIMIT_CPU), n, n == .max ? n : n + 1)) }
        if let n = limits.fileSize { out.append((Int32(BH_RLIMIT_FSIZE), n, n)) }
        return out
    }

    /// Made once per instance, and again when its limits change (a reload restarted it).
    func prepareCgroup(_ spec: WorkerSpec, _ slot: InstanceSlot) {
        guard let cgroups, slot.cgroupLimits != spec.limits || !slot.cgroupPrepared else { return }
        let name = slot.id.description.replacingColons()
        if !slot.cgroupPrepared {
            // A group left from an earlier slot of this name may have been killed: assume it was.
            slot.cgroupKilled = cgroups.trackingBase.map { FileSystem.info($0 + "/" + name)?.isDirectory == true } ?? false
        }
        slot.cgroupPrepared = true
        slot.cgroupLimits = spec.limits
        slot.countersSinceDeath = nil   // its files may be other ones now (a v1 memory group)
        let group = cgroups.instanceGroup(
            named: name, memoryLimit: spec.limits.memory, pidsLimit: spec.limits.tasks,
            cpuMax: spec.limits.cpuPercent.map { LimitEnforcement.cpuMax(percent: $0) }, ioWeight: spec.limits.ioWeight
        )
        if group.trackingPath != nil || group.memoryPath != nil || !group.v1Paths.isEmpty { slot.cgroup = group }
    }

    /// What `limits` can use here, in policy's terms.
    static func limitSupport(_ cgroups: CgroupHost?) -> LimitSupport {
        guard let cgroups else {
            let off = "cgroups: off in the config"
            return LimitSupport(missing: Dictionary(uniqueKeysWithValues: LimitSupport.Controller.allCases.map { ($0, off) }))
        }
        var missing: [LimitSupport.Controller: String] = [:]
        for (name, reason) in cgroups.missingLimitControllers {
            if let controller = LimitSupport.Controller(rawValue: name) { missing[controller] = reason }
        }
        return LimitSupport(missing: missing)
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
