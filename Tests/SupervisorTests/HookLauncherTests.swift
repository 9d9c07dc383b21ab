import BulkheadSystem
import Glibc
@testable import Supervisor
import Testing

/// Hooks are started by a thread of their own, and are that thread's children: the loop's
/// scans (wait4 with __WNOTHREAD) must not be able to reap one before the loop knows it.
/// Synchronous tests: the calling thread stays the same throughout.
@Suite("Hook launcher")
struct HookLauncherTests {
    static func request(_ run: Int, _ script: String, input: String = "") -> HookLauncher.Request {
        HookLauncher.Request(run: run, executable: "/bin/sh", arguments: ["sh", "-c", script],
                             environment: ["PATH=/usr/bin:/bin"], input: Array(input.utf8))
    }

    static func outcomes(_ launcher: HookLauncher, count: Int) throws -> [HookLauncher.Outcome] {
        var outcomes: [HookLauncher.Outcome] = []
        let signal = try #require(launcher.signal)
        let deadline = MonotonicDeadline(afterNanoseconds: 30_000_000_000)
        while outcomes.count < count, !deadline.passed {
            _ = signal.descriptor.waitReadable(milliseconds: 100)
            outcomes += launcher.take()
        }
        return outcomes
    }

    @Test("a hook started by the launcher is its thread's child: reaped through its pidfd, never by the caller's scan")
    func childrenOfTheLauncherThread() throws {
        let launcher = HookLauncher(nice: 0)
        defer { _ = launcher.stop(timeoutNanoseconds: 5_000_000_000) }
        #expect(launcher.threaded)
        // It reads its input and says what it read on its output.
        launcher.launch(Self.request(7, #"read line; echo "got $line"; [ "$line" = hello ] && exit 3; exit 4"#, input: "hello\n"))
        let outcomes = try Self.outcomes(launcher, count: 1)
        guard case .started(let run, let pid, let pidfd, let input, let written, let output)? = outcomes.first else {
            Issue.record("not started: \(outcomes)")
            return
        }
        defer {
            pidfd.close()
            output.close()
        }
        #expect(run == 7)
        #expect(input == nil && written == 6, "all of the input went into the pipe at once")
        #expect(pidfd.waitReadable(milliseconds: 30_000), "it exits")
        // Dead and unreaped: a reap of this thread's children does not see it… (by pid: a
        // wait4(-1) here would take other tests' children spawned from this pool thread)
        #expect(Reaper.reap(pid: pid, ownThreadOnly: true) == nil)
        // …and its exit is still there for its pidfd.
        let exit = try #require(Reaper.reap(pidfd: pidfd))
        #expect(exit.pid == pid)
        #expect(exit.exited && exit.code == 3, "it read its input: \(exit)")
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(output.rawValue, &buffer, buffer.count)
        #expect(n > 0 && String(decoding: buffer[0..<max(n, 0)], as: UTF8.self) == "got hello\n")
    }

    @Test("a program that cannot start comes back as a failure with the reason")
    func failure() throws {
        let launcher = HookLauncher(nice: 0)
        defer { _ = launcher.stop(timeoutNanoseconds: 5_000_000_000) }
        var request = Self.request(1, "")
        request.executable = "/nonexistent/hook"
        launcher.launch(request)
        let outcomes = try Self.outcomes(launcher, count: 1)
        guard case .failed(let run, let reason)? = outcomes.first else {
            Issue.record("expected a failure: \(outcomes)")
            return
        }
        #expect(run == 1)
        #expect(reason.hasPrefix("exec:"), "\(reason)")
    }

    @Test("stopped, the launcher gives back what it never took, and starts nothing on its own again")
    func stop() throws {
        let launcher = HookLauncher(nice: 0)
        // Many at once: the thread cannot have taken them all by the time it is told to stop.
        for run in 0..<200 { launcher.launch(Self.request(run, "exit 0")) }
        let dropped = launcher.stop(timeoutNanoseconds: 30_000_000_000)
        #expect(!launcher.threaded)
        let outcomes = launcher.take()
        let started = outcomes.compactMap { outcome -> (Int32, FileDescriptor)? in
            if case .started(_, let pid, let pidfd, let input, _, let output) = outcome {
                input?.close()
                output.close()
                return (pid, pidfd)
            }
            return nil
        }
        #expect(dropped.count + outcomes.count == 200, "every request started (or failed) or given back")
        for (_, pidfd) in started {
            _ = pidfd.waitReadable(milliseconds: 30_000)
            #expect(Reaper.reap(pidfd: pidfd) != nil)
            pidfd.close()
        }
    }
}
