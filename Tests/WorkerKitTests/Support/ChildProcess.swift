import CLinux
import Glibc
import Synchronization

private let spawnLock = Mutex(())

/// A real child process started with `bh_spawn` (own session, stdin /dev/null, the given fds
/// only), reaped by this value's owner.
final class ChildProcess: @unchecked Sendable {
    let pid: pid_t
    private let pidfd: Int32
    private var reaped: bh_exit?

    init(path: String, arguments: [String], environment: [String: String], extraFDs: [Int32] = [], stdoutFD: Int32? = nil, stderrFD: Int32? = nil) throws {
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(devNull) }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var request = bh_spawn_request()
        request.stdin_fd = devNull
        request.stdout_fd = stdoutFD ?? devNull
        request.stderr_fd = stderrFD ?? devNull
        request.new_session = 1
        // bh_spawn runs the child on one static stack (it is made for bulkhead's single event
        // loop): spawns from concurrently running tests must take turns.
        let result = spawnLock.withLock { _ in
            path.withCString { cPath in
            argv.withUnsafeBufferPointer { argvBuffer in
                envp.withUnsafeBufferPointer { envpBuffer in
                    extraFDs.withUnsafeBufferPointer { fds in
                        request.path = cPath
                        request.argv = argvBuffer.baseAddress
                        request.envp = envpBuffer.baseAddress
                        request.extra_fds = fds.baseAddress
                        request.extra_fd_count = Int32(fds.count)
                        return bh_spawn(&request)
                    }
                }
            }
            }
        }
        guard result.pid > 0 else {
            throw TestFailure("spawn \(path) failed at stage \(result.failed_stage): errno \(result.error)")
        }
        pid = result.pid
        pidfd = bh_pidfd_open(result.pid)
        guard pidfd >= 0 else { throw TestFailure("pidfd_open failed: \(-pidfd)") }
    }

    deinit {
        if reaped == nil {
            _ = bh_kill_group(pid, SIGKILL)
            var status = bh_exit()
            _ = bh_reap_pid(pid, &status)
        }
        close(pidfd)
    }

    func signal(_ signal: Int32) {
        _ = bh_kill(pid, signal)
    }

    /// Waits (off the cooperative pool) until the child exits or `deadline` passes.
    func waitForExit(until deadline: UInt64) async -> bh_exit? {
        if let reaped { return reaped }
        let fd = pidfd
        let exited = await offload {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while true {
                let timeout = pollTimeout(until: deadline)
                let ready = poll(&entry, 1, timeout)
                if ready > 0 { return true }
                if ready == 0 && timeout == 0 { return false }
                if ready == 0 { continue }
                if errno != EINTR { return false }
            }
        }
        guard exited else { return nil }
        var status = bh_exit()
        guard bh_reap_pid(pid, &status) == 1 else { return nil }
        reaped = status
        return status
    }
}

extension bh_exit {
    var summary: String { exited != 0 ? "exit \(code)" : "signal \(code)" }
}

/// What each thread of a process is doing (name and syscall), for failure messages.
func threads(of pid: pid_t) -> String {
    func read(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "?" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = Glibc.read(fd, &buffer, buffer.count)
        return String(decoding: buffer[0..<max(0, count)], as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    }
    guard let directory = opendir("/proc/\(pid)/task") else { return "no /proc entry" }
    defer { closedir(directory) }
    var lines: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard name.first != "." else { continue }
        let base = "/proc/\(pid)/task/\(name)"
        lines.append("\(name) \(read(base + "/comm")) syscall \(read(base + "/syscall").split(separator: " ").first ?? "?")")
    }
    return lines.joined(separator: "\n")
}
