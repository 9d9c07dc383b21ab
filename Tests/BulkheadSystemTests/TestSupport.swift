import BulkheadSystem
import CLinux
import Glibc
import Testing

// Helpers for the syscall tier: real children, real fds, every wait bounded by a deadline.

/// Every test that starts a child process (or forks a copy of this one) lives under this suite,
/// one at a time: `Reaper.reapOne` is `wait4(-1)`, which would collect another test's child, and
/// a process-wide signal disposition must not leak into a test running beside it. The suites
/// that start nothing run in parallel with it. (Tests here make this process a subreaper, for
/// good: orphans they leave come back to be reaped by the next `reapOne`.)
@Suite(.serialized) struct Processes {}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Milliseconds from now, on the monotonic clock.
func deadline(milliseconds: Int) -> UInt64 {
    bh_monotonic_ns() + UInt64(milliseconds) * 1_000_000
}

/// What is left until `deadline`, for poll(2): at least 0.
func pollTimeout(until deadline: UInt64) -> Int32 {
    let now = bh_monotonic_ns()
    guard deadline > now else { return 0 }
    return Int32(min((deadline - now) / 1_000_000 + 1, 60_000))
}

/// Waits until `fd` is readable (or hung up). False when the deadline passed first.
func waitReadable(_ fd: Int32, until deadline: UInt64) -> Bool {
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    while true {
        let timeout = pollTimeout(until: deadline)
        let ready = poll(&entry, 1, timeout)
        if ready > 0 { return true }
        if ready == 0 && timeout == 0 { return false }
        if ready < 0 && errno != EINTR { return false }
    }
}

/// Reads `fd` (non-blocking) to end of file, or until the deadline.
func readToEnd(_ fd: Int32, until deadline: UInt64) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while waitReadable(fd, until: deadline) {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n == 0 { break }
        if n < 0 {
            if errno == EINTR || errno == EAGAIN { continue }
            break
        }
        out += chunk[0..<n]
    }
    return out
}

/// Reads `fd` until `text` has arrived (a handshake), or the deadline.
func readUntil(_ fd: Int32, contains text: String, until deadline: UInt64) -> String {
    var seen: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while !String(decoding: seen, as: UTF8.self).contains(text), waitReadable(fd, until: deadline) {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n == 0 { break }
        if n < 0 {
            if errno == EINTR || errno == EAGAIN { continue }
            break
        }
        seen += chunk[0..<n]
    }
    return String(decoding: seen, as: UTF8.self)
}

/// Reaps `pid` (blocking wait4 on that pid only).
func reap(_ pid: Int32) -> bh_exit? {
    var status = bh_exit()
    return bh_reap_pid(pid, &status) == 1 ? status : nil
}

/// Waits for `pid` to exit without reaping it (its pidfd turns readable), up to the deadline.
/// A pid that no longer exists (someone else reaped it) has exited too.
func waitExited(_ pid: Int32, until deadline: UInt64) -> Bool {
    let pidfd = bh_pidfd_open(pid)
    if pidfd == -ESRCH { return true }
    guard pidfd >= 0 else { return false }
    defer { close(pidfd) }
    return waitReadable(pidfd, until: deadline)
}

/// Zombies whose parent is this process and that never ran a program (their name is still
/// ours): a spawn that failed before or at exec must not leave one. Children of the tests
/// running beside it did exec, and are theirs to reap (one waited on for six seconds made
/// this check flake when it counted every zombie).
func zombieChildren() -> [Int32] {
    let me = getpid()
    let myName = FileSystem.readText("/proc/thread-self/comm")   // a clone is named after its thread
    return FileSystem.list("/proc").compactMap { Int32($0) }.filter { pid in
        guard let stat = ProcFS.stat(pid), stat.parentPID == me, stat.state == "Z" else { return false }
        return FileSystem.readText("/proc/\(pid)/comm") == myName
    }
}

/// True once no zombie child is left that was not there `before`. Other tests of this process
/// reap their own children a moment later; a zombie the spawner leaked stays, and fails this
/// after the deadline.
func noNewZombieLingers(since before: Set<Int32>) -> Bool {
    let end = deadline(milliseconds: 5_000)
    while bh_monotonic_ns() < end {
        if Set(zombieChildren()).subtracting(before).isEmpty { return true }
        usleep(5_000)
    }
    return false
}

let devNull: FileDescriptor = {
    FileDescriptor(rawValue: bh_open("/dev/null", O_RDWR, 0))
}()

/// A child with pipes on stdout and stderr (and optionally stdin), for handshakes and output.
final class Child {
    let pid: Int32
    let stdout: FileDescriptor
    let stderr: FileDescriptor
    /// Our end of the child's stdin, when it was asked for; nil once `closeStdin()` closed it.
    private(set) var stdin: FileDescriptor?
    private var collected: bh_exit?

    init(_ executable: String, _ arguments: [String], environment: [String] = ["PATH=/usr/bin:/bin"],
         withStdin: Bool = false, extra: [FileDescriptor] = [], workingDirectory: String? = nil,
         limits: [(resource: Int32, soft: UInt64, hard: UInt64)] = [], cgroupProcs: [FileDescriptor] = [],
         birthCgroup: (directory: FileDescriptor, procs: FileDescriptor)? = nil) throws {
        let out = try Pipe()
        let err = try Pipe()
        let input = withStdin ? try Pipe() : nil
        defer {
            out.writeEnd.close()
            err.writeEnd.close()
            input?.readEnd.close()
        }
        // The child's stdin must be blocking: reopen the read end's flags.
        if let input { try input.readEnd.setNonBlocking(false) }
        let request = SpawnRequest(
            executable: executable, arguments: [executable] + arguments, environment: environment,
            workingDirectory: workingDirectory, standardInput: input?.readEnd ?? devNull,
            standardOutput: out.writeEnd, standardError: err.writeEnd, extraDescriptors: extra,
            resourceLimits: limits, cgroupProcs: cgroupProcs, birthCgroup: birthCgroup
        )
        do {
            pid = try Spawner.spawn(request)
        } catch {
            out.readEnd.close()
            err.readEnd.close()
            input?.writeEnd.close()
            throw error
        }
        stdout = out.readEnd
        stderr = err.readEnd
        stdin = input?.writeEnd
    }

    /// `/bin/sh -c script`.
    static func shell(_ script: String, withStdin: Bool = false, extra: [FileDescriptor] = [],
                      workingDirectory: String? = nil, limits: [(resource: Int32, soft: UInt64, hard: UInt64)] = [],
                      cgroupProcs: [FileDescriptor] = [],
                      birthCgroup: (directory: FileDescriptor, procs: FileDescriptor)? = nil) throws -> Child {
        try Child("/bin/sh", ["-c", script], withStdin: withStdin, extra: extra, workingDirectory: workingDirectory,
                  limits: limits, cgroupProcs: cgroupProcs, birthCgroup: birthCgroup)
    }

    /// Everything on stdout and stderr until both close, then the exit status.
    func finish(milliseconds: Int = 10_000) -> (stdout: String, stderr: String, exit: bh_exit?) {
        let end = deadline(milliseconds: milliseconds)
        let out = readToEnd(stdout.rawValue, until: end)
        let err = readToEnd(stderr.rawValue, until: end)
        if !waitExited(pid, until: end) { _ = bh_kill_group(pid, SIGKILL) }
        return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self), wait())
    }

    /// Closes our end of its stdin (the child sees end of input), once. Closed a second time,
    /// the number would close whatever another thread of this process has opened under it
    /// since — a pipe of Foundation's `Process`, which then crashed the whole test run.
    func closeStdin() {
        stdin?.close()
        stdin = nil
    }

    /// Reaps the child (once).
    @discardableResult
    func wait() -> bh_exit? {
        if let collected { return collected }
        collected = reap(pid)
        return collected
    }

    /// Marks the child as reaped elsewhere (by a test of the reaper itself).
    func reapedElsewhere() {
        collected = bh_exit()
    }

    deinit {
        if collected == nil {
            _ = bh_kill_group(pid, SIGKILL)
            _ = bh_kill(pid, SIGKILL)
            _ = reap(pid)
        }
        stdout.close()
        stderr.close()
        stdin?.close()
    }
}

/// Runs `body` on a thread of its own and waits for it: the test may change that thread's
/// signal mask without touching the threads Swift Testing runs other tests on.
func onOwnThread<T>(_ body: @escaping () throws -> T) throws -> T {
    let box = ThreadBox<T>(body)
    let context = Unmanaged.passRetained(box).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        Unmanaged<ThreadRun>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, context)
    guard rc == 0 else {
        Unmanaged<ThreadBox<T>>.fromOpaque(context).release()
        throw TestFailure("pthread_create: \(rc)")
    }
    pthread_join(thread, nil)
    return try box.result!.get()
}

class ThreadRun: @unchecked Sendable {
    func run() {}
}

private final class ThreadBox<T>: ThreadRun, @unchecked Sendable {
    let body: () throws -> T
    var result: Result<T, any Error>?
    init(_ body: @escaping () throws -> T) { self.body = body }
    override func run() { result = Result { try body() } }
}

/// The numbers of the fds open in process `pid`, sorted.
func openDescriptors(of pid: Int32) -> [Int32] {
    FileSystem.list("/proc/\(pid)/fd").compactMap { Int32($0) }.sorted()
}

/// What an fd refers to (`pipe:[1234]`, `/dev/null`).
func target(ofDescriptor fd: Int32, in pid: Int32) -> String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/\(pid)/fd/\(fd)", &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A `Key:\tvalue` line of /proc/PID/status.
func statusField(_ key: String, of pid: Int32) -> String? {
    statusField(key, in: "\(pid)")
}

/// A `Key:\tvalue` line of /proc/<process>/status (`self`, `thread-self`, a pid).
func statusField(_ key: String, in process: String) -> String? {
    for line in (FileSystem.readText("/proc/\(process)/status") ?? "").split(separator: "\n") where line.hasPrefix(key + ":") {
        return line.dropFirst(key.count + 1).trimmingPrefix(while: { $0 == " " || $0 == "\t" }).description
    }
    return nil
}

/// A fresh directory under /tmp, removed by `removeTree`.
func temporaryDirectory(_ label: String) throws -> String {
    var template = Array("/tmp/bulkhead-systests-\(label)-XXXXXX".utf8CString)
    guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
        throw TestFailure("mkdtemp: \(SystemError.describe(errno))")
    }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
