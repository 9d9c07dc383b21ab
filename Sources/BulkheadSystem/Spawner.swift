import CLinux
import Glibc

/// A request to start one worker process clean (see `bh_spawn`).
public struct SpawnRequest: Sendable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String]
    public var workingDirectory: String?
    public var standardInput: FileDescriptor
    public var standardOutput: FileDescriptor
    public var standardError: FileDescriptor
    /// Become fds 3, 4, … in the child.
    public var extraDescriptors: [FileDescriptor]
    public var identity: (uid: UInt32, gid: UInt32, groups: [UInt32])?
    public var resourceLimits: [(resource: Int32, soft: UInt64, hard: UInt64)]
    /// cgroup.procs files the child writes its pid into (cgroups it is not born in).
    public var cgroupProcs: [FileDescriptor]
    /// The cgroup v2 group the child is born in (CLONE_INTO_CGROUP, x86-64 and Linux 5.7+),
    /// with its cgroup.procs for where that is not available.
    public var birthCgroup: (directory: FileDescriptor, procs: FileDescriptor)?
    /// The child's nice value; nil: the spawning thread's.
    public var nice: Int32?
    /// Output straight to journald: the child connects to `socket`, sends `header` (the stream
    /// protocol's seven lines) and makes the connection its stdout and stderr, in place of
    /// `standardOutput` and `standardError`. A refusal fails the spawn at stage `.journal`.
    public var journalStream: (socket: String, header: String)?
    /// Socket activation: the child puts its own pid in the environment variable at this index,
    /// which must be `listenPIDPlaceholder` (sd_listen_fds(3) wants the pid of the process that
    /// reads it, which nobody knows before the clone).
    public var listenPIDVariableIndex: Int?

    /// `LISTEN_PID=` with room for any pid (pid_max is at most 2^22: 7 digits).
    public static let listenPIDPlaceholder = "LISTEN_PID=0000000000"

    public init(executable: String, arguments: [String], environment: [String], workingDirectory: String? = nil,
                standardInput: FileDescriptor, standardOutput: FileDescriptor, standardError: FileDescriptor,
                extraDescriptors: [FileDescriptor] = [], identity: (uid: UInt32, gid: UInt32, groups: [UInt32])? = nil,
                resourceLimits: [(resource: Int32, soft: UInt64, hard: UInt64)] = [], cgroupProcs: [FileDescriptor] = [],
                birthCgroup: (directory: FileDescriptor, procs: FileDescriptor)? = nil, nice: Int32? = nil,
                journalStream: (socket: String, header: String)? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.extraDescriptors = extraDescriptors
        self.identity = identity
        self.resourceLimits = resourceLimits
        self.cgroupProcs = cgroupProcs
        self.birthCgroup = birthCgroup
        self.nice = nice
        self.journalStream = journalStream
    }
}

/// Why a spawn did not reach the worker's `main`.
public struct SpawnError: Error, Sendable, CustomStringConvertible {
    public enum Stage: String, Sendable {
        case clone, session, cgroup, rlimit, fds, cwd, groups, gid, uid, exec, prepare, journal
        /// What bulkhead prepares for the worker before the clone: its sockets, its
        /// credentials, a file the config needs (`env_file`).
        case sockets, credentials, envFile = "env_file"
    }

    public var stage: Stage
    public var errno: Int32
    public var detail: String?

    public init(stage: Stage, errno: Int32, detail: String? = nil) {
        self.stage = stage
        self.errno = errno
        self.detail = detail
    }

    public var reason: String { detail ?? SystemError.describe(errno) }
    public var description: String { "\(stage.rawValue): \(reason)" }

    /// Running out of something (memory, processes, fds) may pass; anything else will not.
    public var isResourceShortage: Bool {
        [EAGAIN, ENOMEM, EMFILE, ENFILE, ENOSPC].contains(errno)
    }
}

public enum Spawner {
    public static func spawn(_ request: SpawnRequest) throws(SpawnError) -> Int32 {
        try spawnWithStart(request).pid
    }

    /// `startTicks`: the child's start time as /proc/PID/stat has it (clock ticks since boot),
    /// when the spawn could tell it exactly (it usually can; nil: read /proc).
    public static func spawnWithStart(_ request: SpawnRequest) throws(SpawnError) -> (pid: Int32, startTicks: UInt64?) {
        let argv = CStringArray(request.arguments.isEmpty ? [request.executable] : request.arguments)
        let envp = CStringArray(request.environment)
        defer {
            argv.deallocate()
            envp.deallocate()
        }
        let extras = request.extraDescriptors.map(\.rawValue)
        let groups = request.identity?.groups ?? []
        let cgroupFDs = request.cgroupProcs.map(\.rawValue)
        let limits = request.resourceLimits.map { bh_rlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard) }
        let result: bh_spawn_result = request.executable.withCString { path in
            withOptionalCString(request.journalStream?.socket) { journalSocket in
            withOptionalCString(request.journalStream?.header) { journalHeader in
            withOptionalCString(request.workingDirectory) { cwd in
                extras.withUnsafeBufferPointer { extraPtr in
                    groups.withUnsafeBufferPointer { groupPtr in
                        limits.withUnsafeBufferPointer { limitPtr in cgroupFDs.withUnsafeBufferPointer { cgroupPtr in
                            var raw = bh_spawn_request()
                            raw.path = path
                            raw.argv = UnsafePointer(argv.pointer)
                            raw.envp = UnsafePointer(envp.pointer)
                            raw.cwd = cwd
                            raw.stdin_fd = request.standardInput.rawValue
                            raw.stdout_fd = request.standardOutput.rawValue
                            raw.stderr_fd = request.standardError.rawValue
                            raw.extra_fds = extraPtr.baseAddress
                            raw.extra_fd_count = Int32(extraPtr.count)
                            raw.new_session = 1
                            if let identity = request.identity {
                                raw.set_ids = 1
                                raw.uid = identity.uid
                                raw.gid = identity.gid
                                raw.groups = groupPtr.baseAddress
                                raw.group_count = Int32(groupPtr.count)
                            }
                            raw.rlimits = limitPtr.baseAddress
                            raw.rlimit_count = Int32(limitPtr.count)
                            raw.cgroup_procs_fds = cgroupPtr.baseAddress
                            raw.cgroup_procs_count = Int32(cgroupPtr.count)
                            if let birth = request.birthCgroup {
                                raw.into_cgroup = 1
                                raw.into_cgroup_fd = birth.directory.rawValue
                                raw.into_cgroup_procs_fd = birth.procs.rawValue
                            }
                            raw.set_nice = request.nice == nil ? 0 : 1
                            raw.nice = request.nice ?? 0
                            raw.journal_socket = journalSocket
                            raw.journal_header = journalHeader
                            raw.journal_header_length = request.journalStream?.header.utf8.count ?? 0
                            if let index = request.listenPIDVariableIndex, index < envp.count,
                               request.environment[index] == SpawnRequest.listenPIDPlaceholder, let entry = envp.pointer[index] {
                                raw.listen_pid_digits = entry + "LISTEN_PID=".utf8.count
                            }
                            return withUnsafePointer(to: &raw) { bh_spawn($0) }
                        } }
                    }
                }
            }
            }
            }
        }
        if result.pid > 0 { return (result.pid, result.start_known == 1 ? result.start_ticks : nil) }
        throw SpawnError(stage: stage(result.failed_stage), errno: result.error)
    }

    static func stage(_ raw: Int32) -> SpawnError.Stage {
        switch Int(raw) {
        case Int(BH_SPAWN_STAGE_SESSION): return .session
        case Int(BH_SPAWN_STAGE_CGROUP): return .cgroup
        case Int(BH_SPAWN_STAGE_RLIMIT): return .rlimit
        case Int(BH_SPAWN_STAGE_FDS): return .fds
        case Int(BH_SPAWN_STAGE_CWD): return .cwd
        case Int(BH_SPAWN_STAGE_GROUPS): return .groups
        case Int(BH_SPAWN_STAGE_GID): return .gid
        case Int(BH_SPAWN_STAGE_UID): return .uid
        case Int(BH_SPAWN_STAGE_EXEC): return .exec
        case Int(BH_SPAWN_STAGE_JOURNAL): return .journal
        default: return .clone
        }
    }
}

/// A NULL-terminated `char *[]` that owns its strings until `deallocate`.
struct CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (i, s) in strings.enumerated() { pointer[i] = strdup(s) }
        pointer[strings.count] = nil
    }

    func deallocate() {
        for i in 0..<count { free(pointer[i]) }
        pointer.deallocate()
    }
}

func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s else { return body(nil) }
    return s.withCString { body($0) }
}
