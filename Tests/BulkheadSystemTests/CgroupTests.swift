import BulkheadSystem
import CLinux
import Glibc
import Testing

/// `CgroupHost` and `InstanceCgroup` on a real hierarchy, in either layout bulkhead meets:
/// - hybrid (cgroup2 at /sys/fs/cgroup/unified for tracking, v1 memory): run in place, as root;
/// - pure cgroup v2 (Debian 12's default): `CgroupHost` then moves its process into a leaf of
///   its own cgroup and turns controllers on below it, which a test process has no business
///   doing to the host. So they run under `scripts/with-cgroup2` (scripts/test does): alone in
///   a cgroup of their own, seen as the root of a pure v2 hierarchy. On a hybrid host that
///   hierarchy has no controllers (they are bound to v1): the memory tests skip there, and run
///   on a pure v2 host.
extension Processes {
    @Suite(.enabled(if: CgroupLayout.current != nil, CgroupLayout.unavailableReason))
    struct CgroupTests {
        static var layout: CgroupLayout { CgroupLayout.current ?? .hybrid }

        /// The path a process in `path` shows in /proc/PID/cgroup (`0::` + this).
        static func unifiedPath(_ path: String) -> String {
            let relative = String(path.dropFirst(layout.mount.count))
            return relative.isEmpty ? "/" : relative
        }

        /// A daemon-level host and one instance group, torn down whatever happens in `body`:
        /// everything in the group killed, the directories removed.
        static func withGroup(_ label: String, memoryLimit: UInt64? = nil,
                              _ body: (CgroupHost, InstanceCgroup) throws -> Void) throws {
            try Reaper.becomeSubreaper()   // escaped members come back to us to be reaped
            let host = CgroupHost(name: "bulkhead-systests-\(getpid())-\(label)")
            let group = host.instanceGroup(named: "i0", memoryLimit: memoryLimit, pidsLimit: nil)
            defer {
                group.killAll()
                let end = deadline(milliseconds: 10_000)
                for pid in group.members() where waitExited(pid, until: end) { _ = reap(pid) }
                group.remove()
                host.removeBase()
            }
            try body(host, group)
        }

        /// A child placed in `group` by `bh_spawn` (it writes its own pid before exec).
        static func spawn(_ script: String, into group: InstanceCgroup, extra: [FileDescriptor] = [], withStdin: Bool = false) throws -> Child {
            let procs = group.openProcsFiles()
            defer { for fd in procs { fd.close() } }
            #expect(!procs.isEmpty)   // unified tracking, and v1 memory when the group has a limit
            return try Child.shell(script, withStdin: withStdin, extra: extra, cgroupProcs: procs)
        }

        @Test func theHostFindsTheTrackingHierarchyAndTheMemoryController() throws {
            try Self.withGroup("host") { host, _ in
                let name = "bulkhead-systests-\(getpid())-host"
                let tracking = try #require(host.trackingBase)
                #expect(tracking.hasPrefix(Self.layout.mount + "/") && tracking.hasSuffix("/" + name), "\(tracking)")
                #expect(FileSystem.info(tracking)?.isDirectory == true)
                switch Self.layout {
                case .hybrid:
                    let memory = try #require(host.memoryBase)
                    #expect(memory.hasPrefix("/sys/fs/cgroup/memory/") && memory.hasSuffix("/" + name))
                    #expect(!host.memoryIsV2)
                    #expect(host.notes.isEmpty, "\(host.notes)")
                    #expect(FileSystem.info(memory)?.isDirectory == true)
                case .pureV2:
                    // The host moved this process into a leaf and made its own cgroup an inner node.
                    #expect(FileSystem.readText("/proc/self/cgroup")?.contains("0::/supervisor\n") == true,
                            "\(FileSystem.readText("/proc/self/cgroup") ?? "")")
                    #expect(tracking == "/sys/fs/cgroup/" + name)
                    if Self.layout.hasMemory {
                        #expect(host.memoryBase == tracking, "v2: one directory tracks and limits")
                        #expect(host.memoryIsV2)
                        #expect(host.notes.isEmpty, "\(host.notes)")
                        let enabled = FileSystem.readText(tracking + "/cgroup.subtree_control") ?? ""
                        #expect(enabled.contains("memory") && enabled.contains("pids"), "subtree_control: \(enabled)")
                    } else {
                        #expect(host.memoryBase == nil)
                        #expect(host.notes == ["no memory cgroup: limits.memory is not enforced"], "\(host.notes)")
                    }
                }
            }
        }

        @Test func aChildSpawnedWithCgroupProcsLandsInTheGroup() throws {
            try Self.withGroup("members", memoryLimit: Self.layout.hasMemory ? 256 << 20 : nil) { _, group in
                let tracking = try #require(group.trackingPath)
                var memory: String?
                if Self.layout.hasMemory {
                    memory = try #require(group.memoryPath)
                    let limitFile = Self.layout == .hybrid ? "/memory.limit_in_bytes" : "/memory.max"
                    #expect(FileSystem.readText(memory! + limitFile) == "\(256 << 20)\n")
                }

                let child = try Self.spawn("echo in; exec cat", into: group, withStdin: true)
                #expect(readUntil(child.stdout.rawValue, contains: "in\n", until: deadline(milliseconds: 5000)) == "in\n")
                #expect(group.members() == [child.pid])
                let cgroups = FileSystem.readText("/proc/\(child.pid)/cgroup") ?? ""
                #expect(cgroups.contains("0::" + Self.unifiedPath(tracking) + "\n"), "\(cgroups)")
                if Self.layout == .hybrid, let memory {
                    #expect(cgroups.contains(":memory:" + memory.dropFirst("/sys/fs/cgroup/memory".count) + "\n"))
                }
                child.closeStdin()
                let result = child.finish()
                #expect(result.exit?.exited == 1 && result.exit?.code == 0)
                #expect(group.members().isEmpty)
                #expect(group.oomKills() == 0)
            }
        }

        /// `child` (an `echo in; exec cat`) started, is the group's only member, and exits 0
        /// once its stdin closes: it was not killed on the way in.
        static func expectAliveAndAlone(_ child: Child, in group: InstanceCgroup, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(readUntil(child.stdout.rawValue, contains: "in\n", until: deadline(milliseconds: 5000)) == "in\n", sourceLocation: sourceLocation)
            #expect(group.members() == [child.pid], sourceLocation: sourceLocation)
            child.closeStdin()
            #expect(child.finish().exit?.code == 0, sourceLocation: sourceLocation)
        }

        #if arch(x86_64)
        @Test("born in its cgroup (clone3 CLONE_INTO_CGROUP): cgroup.procs is never written")
        func aChildIsBornInTheTrackingGroup() throws {
            try Self.withGroup("birth") { _, group in
                let tracking = try #require(group.trackingPath)
                let directory = try FileDescriptor.open(tracking, O_RDONLY | O_DIRECTORY)
                // The fallback is opened read-only: had the child written it, the spawn would
                // have failed at its cgroup stage.
                let unwritable = try FileDescriptor.open(tracking + "/cgroup.procs", O_RDONLY)
                defer {
                    directory.close()
                    unwritable.close()
                }
                let child = try Child.shell("echo in; exec cat", withStdin: true, birthCgroup: (directory, unwritable))
                let cgroups = FileSystem.readText("/proc/\(child.pid)/cgroup") ?? ""
                #expect(cgroups.contains("0::" + Self.unifiedPath(tracking) + "\n"), "\(cgroups)")
                Self.expectAliveAndAlone(child, in: group)
            }
        }
        #endif

        @Test("the host's birthSurvivesKill says whether a process born in a group after its cgroup.kill lives")
        func birthAfterAKillIsProbedTruthfully() throws {
            try Self.withGroup("afterkill") { host, group in
                let tracking = try #require(group.trackingPath)
                group.killAll()
                let directory = try FileDescriptor.open(tracking, O_RDONLY | O_DIRECTORY)
                defer { directory.close() }
                let alive = bh_probe_clone_into_cgroup(directory.rawValue) == 1
                #expect(host.birthSurvivesKill == (host.birthInGroup && alive))
                // Whatever this kernel does, a spawn for a killed group lands in it and lives.
                let placement = group.openForSpawn(killed: true)
                defer { placement.close() }
                #expect(placement.birth != nil || !placement.procs.isEmpty)
                let child = try Child.shell("echo in; exec cat", withStdin: true, cgroupProcs: placement.procs, birthCgroup: placement.birth)
                Self.expectAliveAndAlone(child, in: group)
            }
        }

        @Test("where clone3 cannot place it (here: not a cgroup directory), the child writes cgroup.procs itself")
        func aChildPlacesItselfWhenItCannotBeBornThere() throws {
            try Self.withGroup("fallback") { _, group in
                let tracking = try #require(group.trackingPath)
                let notACgroup = try FileDescriptor.open("/tmp", O_RDONLY | O_DIRECTORY)
                let procs = try FileDescriptor.open(tracking + "/cgroup.procs", O_WRONLY)
                defer {
                    notACgroup.close()
                    procs.close()
                }
                let child = try Child.shell("echo in; exec cat", withStdin: true, birthCgroup: (notACgroup, procs))
                Self.expectAliveAndAlone(child, in: group)
            }
        }

        @Test func killAllTakesAMemberThatEscapedItsProcessGroup() throws {
            try Self.withGroup("escape") { _, group in
                let gate = try Pipe()
                try gate.readEnd.setNonBlocking(false)
                defer { gate.writeEnd.close() }
                // The inner shell starts a session of its own, says its pid, and becomes `cat`,
                // which lives until the gate closes; the outer shell exits at once.
                let child = try Self.spawn("setsid sh -c 'echo $$; exec cat <&3 >/dev/null 2>&1' &", into: group, extra: [gate.readEnd])
                gate.readEnd.close()
                let result = child.finish()
                let escapee = try #require(Int32(result.stdout.split(separator: "\n").first ?? ""))
                let stat = try #require(ProcFS.stat(escapee))
                #expect(stat.session == escapee && stat.processGroup == escapee)
                #expect(stat.processGroup != child.pid)
                #expect(group.members() == [escapee])

                // Its old group is gone; only the cgroup still knows about it.
                #expect(ProcessSignals.signalGroup(child.pid, SIGKILL) == ESRCH)
                group.killAll()
                #expect(waitExited(escapee, until: deadline(milliseconds: 10_000)))
                let exit = reap(escapee)
                #expect(exit?.exited == 0 && exit?.code == SIGKILL)
                #expect(group.members().isEmpty)
            }
        }

        @Test func signalAllReachesEveryMember() throws {
            try Self.withGroup("signal") { _, group in
                let child = try Self.spawn("echo up; exec cat", into: group, withStdin: true)
                #expect(readUntil(child.stdout.rawValue, contains: "up\n", until: deadline(milliseconds: 5000)) == "up\n")
                group.signalAll(SIGTERM)
                let result = child.finish()
                #expect(result.exit?.exited == 0 && result.exit?.code == SIGTERM)
            }
        }

        @Test(.enabled(if: CgroupLayout.current?.hasMemory == true, CgroupLayout.noMemoryReason))
        func anOOMKillUnderASmallLimitIsCounted() throws {
            try Self.withGroup("oom", memoryLimit: 32 << 20) { _, group in
                #expect(group.oomKills() == 0)
                // `tail` keeps everything it reads when there is no newline: 200 MB will not fit.
                let child = try Self.spawn("head -c 200M /dev/zero | tail; echo tail=$?", into: group)
                let result = child.finish(milliseconds: 30_000)
                #expect(result.exit?.exited == 1)
                #expect(result.stdout == "tail=137\n")
                #expect(group.oomKills() >= 1)
            }
        }

        @Test func removeDeletesTheDirectories() throws {
            let host = CgroupHost(name: "bulkhead-systests-\(getpid())-remove")
            let group = host.instanceGroup(named: "i0", memoryLimit: 64 << 20, pidsLimit: nil)
            let paths = Set([group.trackingPath, group.memoryPath, host.trackingBase, host.memoryBase].compactMap { $0 })
            // Hybrid: tracking and memory groups apart; v2: one directory does both.
            #expect(paths.count == (Self.layout == .hybrid ? 4 : 2), "\(paths)")
            #expect(paths.allSatisfy { FileSystem.info($0)?.isDirectory == true })
            group.remove()
            host.removeBase()
            for path in paths { #expect(!FileSystem.exists(path), "\(path)") }
        }
    }
}

/// Which cgroup layout the cgroup tests run against, if any.
enum CgroupLayout: Equatable {
    /// cgroup2 at /sys/fs/cgroup/unified (tracking), v1 controllers (memory).
    case hybrid
    /// Pure cgroup v2 at /sys/fs/cgroup, this process alone at the root of its cgroup
    /// namespace (`scripts/with-cgroup2`).
    case pureV2

    static let current: CgroupLayout? = {
        guard getuid() == 0 else { return nil }
        if isolatedV2 { return .pureV2 }
        if FileSystem.exists("/sys/fs/cgroup/unified/cgroup.procs") && FileSystem.exists("/sys/fs/cgroup/memory/cgroup.procs")
            && !FileSystem.exists("/sys/fs/cgroup/cgroup.controllers") {
            return .hybrid
        }
        return nil
    }()

    /// Under scripts/with-cgroup2: pure v2 mounted at /sys/fs/cgroup, and our cgroup its root.
    static var isolatedV2: Bool {
        getenv("BULKHEAD_TEST_CGROUP2").map { String(cString: $0) } == "1"
            && FileSystem.exists("/sys/fs/cgroup/cgroup.controllers")
            && (FileSystem.readText("/proc/self/cgroup") ?? "").split(separator: "\n").contains("0::/")
    }

    static var unavailableReason: Comment {
        if getuid() != 0 { return "needs root" }
        if FileSystem.exists("/sys/fs/cgroup/cgroup.controllers") {
            return "pure cgroup v2: these tests run alone in a cgroup of their own under scripts/with-cgroup2 (scripts/test does), not in the shared test process"
        }
        return "neither the hybrid cgroup layout (cgroup2 at /sys/fs/cgroup/unified, v1 memory) nor pure cgroup v2 under scripts/with-cgroup2"
    }

    static var noMemoryReason: Comment {
        "no memory controller in this cgroup v2 hierarchy (a hybrid host binds it to cgroup v1; the hybrid run covers it)"
    }

    /// Where the tracking hierarchy is mounted.
    var mount: String {
        self == .hybrid ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup"
    }

    /// A memory controller the tests may limit with (v1 memory, or v2 `memory` available here).
    var hasMemory: Bool {
        switch self {
        case .hybrid:
            return true
        case .pureV2:
            let controllers = FileSystem.readText("/sys/fs/cgroup/cgroup.controllers") ?? ""
            return controllers.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains("memory")
        }
    }
}
