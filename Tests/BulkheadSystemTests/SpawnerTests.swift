import BulkheadSystem
import CLinux
import Glibc
import Testing

/// `Spawner.spawn` / `bh_spawn`: every child starts clean, whatever state the supervisor is in.
extension Processes {
    @Suite struct SpawnerTests {
        /// `cat` with a stdin pipe: once a line has come back through it, it sits in read(0) with
        /// nothing else open, so /proc shows exactly what it was started with.
        static func startCat(extra: [FileDescriptor] = [], limits: [(resource: Int32, soft: UInt64, hard: UInt64)] = []) throws -> Child {
            let child = try Child("/bin/cat", [], withStdin: true, extra: extra, limits: limits)
            try child.stdin!.writeAll(Array("ping\n".utf8))
            let echoed = readUntil(child.stdout.rawValue, contains: "ping\n", until: deadline(milliseconds: 5000))
            #expect(echoed == "ping\n")
            return child
        }

        @Test func childStartsWithEmptyMaskAndDefaultDispositionsWhateverTheParentHas() throws {
            // SIGUSR2 ignored process-wide (a disposition survives execve), SIGUSR1 blocked in
            // the spawning thread only (a mask is per thread, and the child inherits the
            // spawner's): both must be gone in the child.
            var previous = sigaction()
            sigaction(SIGUSR2, nil, &previous)
            SignalDescriptor.ignore(SIGUSR2)
            defer { sigaction(SIGUSR2, &previous, nil) }

            let seen = try onOwnThread { () throws -> (parentBlocked: String?, parentIgnored: String?, blocked: String?, ignored: String?, caught: String?) in
                try SignalDescriptor.block([SIGUSR1])
                let child = try Self.startCat()
                defer { child.closeStdin(); _ = child.finish() }
                return (
                    statusField("SigBlk", in: "thread-self"), statusField("SigIgn", in: "self"),
                    statusField("SigBlk", of: child.pid), statusField("SigIgn", of: child.pid), statusField("SigCgt", of: child.pid)
                )
            }
            // The premise: the parent really had them blocked and ignored.
            let usr1Bit = UInt64(1) << UInt64(SIGUSR1 - 1)
            let usr2Bit = UInt64(1) << UInt64(SIGUSR2 - 1)
            #expect((seen.parentBlocked.flatMap { UInt64($0, radix: 16) } ?? 0) & usr1Bit != 0)
            #expect((seen.parentIgnored.flatMap { UInt64($0, radix: 16) } ?? 0) & usr2Bit != 0)
            #expect(seen.blocked == "0000000000000000")
            #expect(seen.ignored == "0000000000000000")
            #expect(seen.caught == "0000000000000000")
        }

        @Test func childLeadsItsOwnSessionAndProcessGroup() throws {
            let child = try Self.startCat()
            defer { child.closeStdin(); _ = child.finish() }
            let stat = try #require(ProcFS.stat(child.pid))
            #expect(stat.processGroup == child.pid)
            #expect(stat.session == child.pid)
            #expect(stat.parentPID == getpid())
        }

        @Test func childHasOnlyTheStandardDescriptors() throws {
            let child = try Self.startCat()
            defer { child.closeStdin(); _ = child.finish() }
            #expect(openDescriptors(of: child.pid) == [0, 1, 2])
        }

        @Test func extraDescriptorsBecomeThreeFourAndNothingElseLeaksAmongHundredsOfOthers() throws {
            // Hundreds of inheritable (non-CLOEXEC) fds below the base, hundreds above it.
            var held: [Int32] = []
            defer { for fd in held { close(fd) } }
            for _ in 0..<150 { held.append(dup(devNull.rawValue)) }
            for _ in 0..<200 { held.append(fcntl(devNull.rawValue, F_DUPFD, Int32(BH_HIGH_FD_BASE))) }
            #expect(held.allSatisfy { $0 >= 0 })
            #expect(held.contains { $0 < BH_HIGH_FD_BASE } && held.contains { $0 >= BH_HIGH_FD_BASE })

            // One extra source above the base (as every long-lived daemon fd is), one below.
            let high = try Pipe()
            let low = try Pipe()
            let highWrite = high.writeEnd.movedHigh()
            defer { high.readEnd.close(); highWrite.close(); low.readEnd.close(); low.writeEnd.close() }
            #expect(highWrite.rawValue >= BH_HIGH_FD_BASE)
            // (In a crowded test process the "low" pipe may land above the base too: then both
            // sources take the copy-down path, which this test covers all the same.)

            let child = try Self.startCat(extra: [highWrite, low.writeEnd])
            defer { child.closeStdin(); _ = child.finish() }
            #expect(openDescriptors(of: child.pid) == [0, 1, 2, 3, 4])
            #expect(target(ofDescriptor: 3, in: child.pid) == target(ofDescriptor: highWrite.rawValue, in: getpid()))
            #expect(target(ofDescriptor: 4, in: child.pid) == target(ofDescriptor: low.writeEnd.rawValue, in: getpid()))
            // The temporary low copy bh_spawn made of the high source is closed again.
            let highPipe = target(ofDescriptor: highWrite.rawValue, in: getpid())
            #expect(!openDescriptors(of: getpid()).contains { $0 < BH_HIGH_FD_BASE && target(ofDescriptor: $0, in: getpid()) == highPipe })
        }

        @Test func extraDescriptorsWorkWhenTheLowRangeIsFull() throws {
            // No free fd below the base: bh_spawn cannot copy a high source down and must take
            // the path without a shared table.
            var held: [Int32] = []
            defer { for fd in held { close(fd) } }
            while true {
                let fd = dup(devNull.rawValue)
                guard fd >= 0 else { break }
                if fd >= BH_HIGH_FD_BASE {
                    close(fd)
                    break
                }
                held.append(fd)
            }
            let gate = try Pipe()
            defer { gate.readEnd.close(); gate.writeEnd.close() }
            #expect(gate.readEnd.rawValue >= BH_HIGH_FD_BASE)
            let child = try Child.shell("echo through-three >&3; ls /proc/self/fd", extra: [gate.writeEnd])
            let result = child.finish()
            #expect(result.exit?.exited == 1 && result.exit?.code == 0)
            // `ls` itself holds one more fd: the directory it reads.
            let listed = result.stdout.split(separator: "\n").compactMap { Int32($0) }
            #expect(Array(listed.prefix(4)) == [0, 1, 2, 3] && listed.count <= 5)
            #expect(readUntil(gate.readEnd.rawValue, contains: "\n", until: deadline(milliseconds: 5000)) == "through-three\n")
        }

        @Test func stdoutAndStderrReachTheirPipes() throws {
            let child = try Child.shell("echo to-out; echo to-err >&2; echo more-out")
            let result = child.finish()
            #expect(result.stdout == "to-out\nmore-out\n")
            #expect(result.stderr == "to-err\n")
            #expect(result.exit?.exited == 1 && result.exit?.code == 0)
        }

        @Test func workingDirectoryAndEnvironmentAreApplied() throws {
            let directory = try temporaryDirectory("cwd")
            defer { FileSystem.removeTree(directory) }
            let child = try Child("/bin/sh", ["-c", "pwd; echo \"$ONLY\""],
                                  environment: ["ONLY=this"], workingDirectory: directory)
            let result = child.finish()
            let lines = result.stdout.split(separator: "\n")
            #expect(lines.first.map(String.init) == directory)
            #expect(lines.dropFirst().first == "this")
        }

        @Test func resourceLimitsAreApplied() throws {
            let child = try Self.startCat(limits: [
                (resource: Int32(BH_RLIMIT_NOFILE), soft: 64, hard: 128),
                (resource: Int32(BH_RLIMIT_CORE), soft: 0, hard: 0),
            ])
            defer { child.closeStdin(); _ = child.finish() }
            let limits = FileSystem.readText("/proc/\(child.pid)/limits") ?? ""
            func row(_ name: String) -> [Substring] {
                guard let line = limits.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return [] }
                return line.dropFirst(name.count).split(separator: " ")
            }
            #expect(row("Max open files").prefix(2) == ["64", "128"])
            #expect(row("Max core file size").prefix(2) == ["0", "0"])
        }

        @Test(.enabled(if: getuid() == 0, "switching identity needs root"))
        func identityIsSwitchedInTheChildOnly() throws {
            let nobody = try Users.lookup(user: "nobody")
            let out = try Pipe()
            let input = try Pipe()
            try input.readEnd.setNonBlocking(false)
            defer { out.readEnd.close(); input.writeEnd.close() }
            let pid = try Spawner.spawn(SpawnRequest(
                executable: "/bin/cat", arguments: ["cat"], environment: [], standardInput: input.readEnd,
                standardOutput: out.writeEnd, standardError: devNull,
                identity: (uid: nobody.uid, gid: nobody.gid, groups: [nobody.gid])))
            out.writeEnd.close()
            input.readEnd.close()
            try input.writeEnd.writeAll(Array("x\n".utf8))
            #expect(readUntil(out.readEnd.rawValue, contains: "x\n", until: deadline(milliseconds: 5000)) == "x\n")
            let ids = "\(nobody.uid)\t\(nobody.uid)\t\(nobody.uid)\t\(nobody.uid)"
            #expect(statusField("Uid", of: pid) == ids)
            #expect(statusField("Gid", of: pid) == "\(nobody.gid)\t\(nobody.gid)\t\(nobody.gid)\t\(nobody.gid)")
            #expect(statusField("Groups", of: pid)?.split(separator: " ") == ["\(nobody.gid)"])
            // The raw set*id calls changed the child, not us (the glibc wrappers would have
            // changed every thread of the supervisor).
            #expect(getuid() == 0 && geteuid() == 0 && getgid() == 0)
            #expect(statusField("Uid", in: "self") == "0\t0\t0\t0")
            _ = bh_kill(pid, SIGKILL)
            _ = reap(pid)
        }

        /// The start time a spawn reports is /proc's to the tick (the durable state identifies a
        /// process by pid and start time across a daemon's restart), and it is known most times.
        @Test func theStartTimeASpawnKnowsIsTheOneProcShows() throws {
            var known = 0
            for _ in 0..<40 {
                let input = try Pipe()
                try input.readEnd.setNonBlocking(false)
                let started = try Spawner.spawnWithStart(SpawnRequest(
                    executable: "/bin/cat", arguments: ["cat"], environment: [], standardInput: input.readEnd,
                    standardOutput: devNull, standardError: devNull))
                input.readEnd.close()
                let proc = ProcFS.stat(started.pid)?.startTime
                input.writeEnd.close()   // cat ends
                _ = reap(started.pid)
                if let ticks = started.startTicks {
                    known += 1
                    #expect(ticks == proc, "spawn said \(ticks), /proc says \(proc.map(String.init) ?? "nothing")")
                }
            }
            // A spawn that straddles a tick (10 ms) does not know; most do not straddle one.
            #expect(known >= 20, "only \(known) of 40 spawns knew their start time")
        }

        @Test func anImpossibleResourceLimitFailsAtRlimit() throws {
            do {
                _ = try Child("/bin/true", [], limits: [(resource: Int32(BH_RLIMIT_NOFILE), soft: 100, hard: 50)])
                Issue.record("spawned with soft > hard")
            } catch let error as SpawnError {
                #expect(error.stage == .rlimit && error.errno == EINVAL)
            }
        }

        @Test func missingExecutableFailsAtExecAndLeavesNoZombie() throws {
            let before = Set(zombieChildren())
            do {
                _ = try Child("/nonexistent/bulkhead-no-such-program", [])
                Issue.record("spawned a program that does not exist")
            } catch let error as SpawnError {
                #expect(error.stage == .exec)
                #expect(error.errno == ENOENT)
            }
            #expect(noNewZombieLingers(since: before))
        }

        @Test func nonExecutableFileFailsAtExecWithAccessDenied() throws {
            let directory = try temporaryDirectory("noexec")
            defer { FileSystem.removeTree(directory) }
            try FileSystem.writeAtomically(directory + "/script", Array("#!/bin/sh\n".utf8), mode: 0o644)
            do {
                _ = try Child(directory + "/script", [])
                Issue.record("spawned a file without execute permission")
            } catch let error as SpawnError {
                #expect(error.stage == .exec && error.errno == EACCES)
            }
        }

        @Test func badWorkingDirectoryFailsAtCwdAndLeavesNoZombie() throws {
            let before = Set(zombieChildren())
            do {
                _ = try Child("/bin/true", [], workingDirectory: "/nonexistent/bulkhead-no-such-dir")
                Issue.record("spawned into a directory that does not exist")
            } catch let error as SpawnError {
                #expect(error.stage == .cwd)
                #expect(error.errno == ENOENT)
                #expect(!error.isResourceShortage)
            }
            #expect(noNewZombieLingers(since: before))
        }

        @Test func tooManyExtraDescriptorsAreRefusedBeforeCloning() throws {
            let extras = [FileDescriptor](repeating: devNull, count: 33)
            do {
                _ = try Child("/bin/true", [], extra: extras)
                Issue.record("spawned with 33 extra fds")
            } catch let error as SpawnError {
                #expect(error.stage == .fds && error.errno == EMFILE)
            }
        }
    }
}
