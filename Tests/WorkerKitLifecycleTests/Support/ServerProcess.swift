import Glibc
import Synchronization

@testable import WorkerKit

/// A program run as bulkhead runs a worker with `sockets:`: its own process group, stdin from
/// /dev/null, stdout and stderr into one pipe the test reads, and — when a socket is passed —
/// that socket as fd 3 with `LISTEN_FDS=1`, `LISTEN_FDNAMES` and `LISTEN_PID` set to the
/// child's own pid. Only the child knows its pid before exec, so `/bin/sh` sets `LISTEN_PID=$$`
/// and execs the program in the same process. A breadcrumb ring, when given, follows the
/// socket (fd 4, or 3 without one) and is named by `BULKHEAD_BREADCRUMBS_FD`.
final class ServerProcess: @unchecked Sendable {
    let pid: pid_t
    let output: OutputCapture
    private let reaped = Mutex<Int32?>(nil)

    init(
        path: String, arguments: [String], environment: [String: String], socket: (fd: Int32, name: String)? = nil,
        breadcrumbRing: BreadcrumbFile? = nil
    ) throws {
        // A socket pair serves as the output pipe: it is made close-on-exec atomically (Swift's
        // Glibc has no pipe2), so no other test's child can inherit it.
        var pipeFDs: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &pipeFDs) == 0 else {
            throw TestFailure("socketpair: errno \(errno)")
        }
        defer { close(pipeFDs[1]) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)

        var variables = environment
        var argv = [path] + arguments
        // dup2 onto 3, 4, … clears close-on-exec, so the child inherits exactly these there. The
        // sources are moved high first: dup2 onto the same number would change nothing.
        var sources: [Int32] = []
        defer { sources.forEach { close($0) } }
        for fd in [socket?.fd, breadcrumbRing?.fd].compactMap({ $0 }) {
            let source = fcntl(fd, F_DUPFD_CLOEXEC, 100)
            guard source >= 0 else { throw TestFailure("F_DUPFD_CLOEXEC: errno \(errno)") }
            posix_spawn_file_actions_adddup2(&actions, source, 3 + Int32(sources.count))
            sources.append(source)
        }
        if breadcrumbRing != nil {
            variables["BULKHEAD_BREADCRUMBS_FD"] = String(socket == nil ? 3 : 4)
        }
        if let socket {
            variables["LISTEN_FDS"] = "1"
            variables["LISTEN_FDNAMES"] = socket.name
            argv = ["/bin/sh", "-c", #"LISTEN_PID=$$ exec "$0" "$@""#] + argv
        }
        pid = try Self.spawn(argv: argv, environment: variables, actions: &actions)
        output = OutputCapture(readFD: pipeFDs[0])
    }

    private static func spawn(argv: [String], environment: [String: String], actions: inout posix_spawn_file_actions_t) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A clean start: empty signal mask, default dispositions for the stop signals, and a
        // process group of its own (bulkhead signals the instance's group).
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGPIPE] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else { throw TestFailure("posix_spawn \(argv[0]): \(String(cString: strerror(result)))") }
        return pid
    }

    deinit {
        if reaped.withLock({ $0 }) == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Waits for the exit (waitpid on a thread of its own); nil when `seconds` pass first, and
    /// the child is then killed so the waiting thread ends too.
    func waitForExit(within seconds: Double = 30) async -> ExitStatus? {
        if let status = reaped.withLock({ $0 }) { return ExitStatus(status) }
        let pid = pid
        let outcome = Mutex<Int32?>(nil)
        let exited = TestEvent()
        PosixThread.start(name: "test-reap") {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            outcome.withLock { $0 = status }
            exited.open()
        }
        let inTime = await exited.wait(until: deadline(in: seconds))
        if !inTime {
            kill(pid, SIGKILL)
            await exited.wait(until: deadline(in: 30))
            return nil
        }
        let status = outcome.withLock { $0 }
        reaped.withLock { $0 = status }
        return status.map(ExitStatus.init)
    }
}

/// How a child ended.
struct ExitStatus: Sendable, Equatable, CustomStringConvertible {
    var exitCode: Int32?
    var signal: Int32?

    init(_ status: Int32) {
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (they are macros).
        let low = status & 0x7f
        if low == 0 {
            exitCode = (status >> 8) & 0xff
        } else {
            signal = low
        }
    }

    var description: String { exitCode.map { "exit \($0)" } ?? "signal \(signal ?? -1)" }
}

/// A one-shot event a thread opens and a task awaits with a deadline.
final class TestEvent: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.isOpen = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume(returning: true) }
    }

    /// True when it opened before `limit` (CLOCK_MONOTONIC ns).
    @discardableResult
    func wait(until limit: UInt64) async -> Bool {
        await withCheckedContinuation { continuation in
            let id = state.withLock { state -> Int? in
                if state.isOpen { return nil }
                state.nextID += 1
                state.waiters[state.nextID] = continuation
                return state.nextID
            }
            guard let id else {
                continuation.resume(returning: true)
                return
            }
            // The deadline: whoever removes the waiter first resumes it.
            Task {
                let current = now()
                try? await Task.sleep(for: .nanoseconds(limit > current ? limit - current : 0))
                state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: false)
            }
        }
    }
}

/// A zero-filled file to pass as the breadcrumb ring, as bulkhead passes a zero-filled memfd:
/// the worker formats it at its first breadcrumb and maps it shared, so the entries can be read
/// here after the worker is gone, even after a trap.
final class BreadcrumbFile: Sendable {
    let fd: Int32

    init(size: Int = 64 * 1024) throws {
        var template = Array("/tmp/workerkit-crumbs-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw TestFailure("mkstemp: errno \(errno)") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        guard ftruncate(fd, off_t(size)) == 0 else {
            close(fd)
            throw TestFailure("ftruncate: errno \(errno)")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// The ring's entries, oldest first, read through WorkerKit's own reader.
    var entries: [String] {
        BreadcrumbRing(sharedFileDescriptor: fd)?.entries(limit: 64).map(\.text) ?? []
    }
}
