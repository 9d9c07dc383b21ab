import BulkheadSystem
import CLinux
import Glibc
import Testing

/// `Reaper`: wait4(-1, WNOHANG) and what it says about each death.
extension Processes {
    @Suite struct ReaperTests {
        /// Waits for `child` to die, then reaps with `Reaper.reapOne` until it comes out.
        /// Anything else collected on the way (orphans of earlier tests) is ignored.
        static func reapWithReaper(_ child: Child) throws -> Reaper.Exit {
            #expect(waitExited(child.pid, until: deadline(milliseconds: 10_000)))
            while let exit = Reaper.reapOne() {
                if exit.pid == child.pid {
                    child.reapedElsewhere()
                    return exit
                }
            }
            throw TestFailure("child \(child.pid) was not reaped")
        }

        @Test(arguments: [0, 1, 7, 255])
        func exitCodes(code: Int32) throws {
            let exit = try Self.reapWithReaper(try Child.shell("exit \(code)"))
            #expect(exit.exited)
            #expect(exit.code == code)
            #expect(!exit.coreDumped)
        }

        @Test(arguments: [SIGTERM, SIGKILL, SIGSEGV, SIGABRT])
        func deathBySignal(signal: Int32) throws {
            // No core limit: a core-dumping signal must still report no core.
            let child = try Child.shell("kill -\(signal) $$", limits: [(resource: Int32(BH_RLIMIT_CORE), soft: 0, hard: 0)])
            let exit = try Self.reapWithReaper(child)
            #expect(!exit.exited)
            #expect(exit.code == signal)
            #expect(!exit.coreDumped)
        }

        @Test func resourceUsageIsReported() throws {
            // Enough work to register on the CPU clocks.
            let exit = try Self.reapWithReaper(try Child.shell("i=0; while [ $i -lt 50000 ]; do i=$((i+1)); done"))
            #expect(exit.exited && exit.code == 0)
            #expect(exit.maxResidentKiB > 0)
            #expect(exit.userMicroseconds + exit.systemMicroseconds > 0)
        }

        @Test func reapsManyChildren() throws {
            let children = try (0..<40).map { i in try Child.shell("exit \(i % 5)") }
            for child in children { #expect(waitExited(child.pid, until: deadline(milliseconds: 10_000))) }
            var exits: [Int32: Reaper.Exit] = [:]
            while let exit = Reaper.reapOne() { exits[exit.pid] = exit }
            for (i, child) in children.enumerated() {
                child.reapedElsewhere()
                #expect(exits[child.pid]?.exited == true)
                #expect(exits[child.pid]?.code == Int32(i % 5))
            }
            // Nothing left: the next call finds no child that has exited.
            #expect(Reaper.reapOne() == nil)
        }

        @Test func noExitedChildMeansNil() throws {
            let child = try Child("/bin/cat", [], withStdin: true)
            defer { child.closeStdin(); _ = child.finish() }
            #expect(Reaper.reapOne() == nil)
            #expect(ProcFS.stat(child.pid)?.state != "Z")
        }

        @Test func orphanedGrandchildComesBackToASubreaper() throws {
            try Reaper.becomeSubreaper()
            // The grandchild (cat) lives until we close the write end of its gate: no sleeping.
            let gate = try Pipe()
            try gate.readEnd.setNonBlocking(false)
            let child = try Child.shell("cat <&3 >/dev/null 2>&1 & echo $!", extra: [gate.readEnd])
            gate.readEnd.close()
            let result = child.finish()
            #expect(result.exit?.exited == 1 && result.exit?.code == 0)
            let grandchild = try #require(Int32(result.stdout.split(separator: "\n").first ?? ""))

            // Its parent died: it is ours now, not init's.
            #expect(ProcFS.stat(grandchild)?.parentPID == getpid())
            gate.writeEnd.close()
            #expect(waitExited(grandchild, until: deadline(milliseconds: 10_000)))
            var collected: Reaper.Exit?
            while collected == nil, let exit = Reaper.reapOne() {
                if exit.pid == grandchild { collected = exit }
            }
            #expect(collected?.exited == true && collected?.code == 0)
        }

        @Test func signalGroupReachesEveryMemberOfTheSession() throws {
            // The child's pid is its process group: one kill(-pgid) takes its children too.
            let gate = try Pipe()
            try gate.readEnd.setNonBlocking(false)
            defer { gate.writeEnd.close() }
            let child = try Child.shell("cat <&3 >/dev/null 2>&1 & echo $!; wait", extra: [gate.readEnd])
            gate.readEnd.close()
            let line = readUntil(child.stdout.rawValue, contains: "\n", until: deadline(milliseconds: 5000))
            let grandchild = try #require(Int32(line.split(separator: "\n").first ?? ""))
            #expect(ProcFS.processes(inGroup: child.pid).contains(grandchild))
            #expect(ProcessSignals.signalGroup(child.pid, SIGKILL) == 0)
            let result = child.finish()
            #expect(result.exit?.exited == 0 && result.exit?.code == SIGKILL)
            #expect(waitExited(grandchild, until: deadline(milliseconds: 10_000)))
            _ = reap(grandchild)   // ours if an earlier test made us a subreaper
            // Refused outright: the group of pid 0 or 1 would be us or everyone.
            #expect(ProcessSignals.signalGroup(1, 0) == EINVAL)
            #expect(ProcessSignals.signalGroup(0, 0) == EINVAL)
            #expect(ProcessSignals.signalProcess(1, 0) == EINVAL)
        }
    }
}
