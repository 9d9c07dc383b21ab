import CLinux
import Glibc

/// `--print-env`: what crashlab inherited, as bulkhead set it up, one `crashlab: …` line per
/// fact on stdout. Runs before crashlab changes anything (no signal blocked, no fd opened).
///
///     crashlab: env NOTIFY_SOCKET=@bulkhead/812/notify
///     crashlab: env WATCHDOG_USEC unset
///     crashlab: fd 0 /dev/null
///     crashlab: fds 0 1 2 3
///     crashlab: SigBlk 0000000000000000
///     crashlab: SigIgn 0000000000001000 PIPE
///     crashlab: ids pid=4242 ppid=812 pgid=4242 sid=4242 uid=0 gid=0
///     crashlab: rlimit NOFILE 4096 4096
///     crashlab: cgroup 0::/bulkhead/api
enum EnvironmentReport {
    private static let named = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "SWIFT_BACKTRACE"]

    static func print() {
        for name in named {
            if let value = getenv(name) {
                Output.report("env \(name)=\(String(cString: value))")
            } else {
                Output.report("env \(name) unset")
            }
        }
        var entry = environ
        while let variable = entry.pointee {
            let text = String(cString: variable)
            if text.hasPrefix("BULKHEAD_") { Output.report("env \(text)") }
            entry += 1
        }
        printFileDescriptors()
        printSignalMasks()
        Output.report("ids pid=\(getpid()) ppid=\(getppid()) pgid=\(getpgrp()) sid=\(getsid(0)) uid=\(getuid()) gid=\(getgid())")
        printLimits()
        for line in (readFile("/proc/self/cgroup") ?? "").split(separator: "\n") {
            Output.report("cgroup \(line)")
        }
    }

    /// The limits bulkhead's `limits:` set (soft, then hard; `unlimited` for RLIM_INFINITY).
    private static func printLimits() {
        let limits: [(String, Int)] = [
            ("NOFILE", BH_RLIMIT_NOFILE), ("NPROC", BH_RLIMIT_NPROC), ("AS", BH_RLIMIT_AS),
            ("CORE", BH_RLIMIT_CORE), ("CPU", BH_RLIMIT_CPU), ("FSIZE", BH_RLIMIT_FSIZE),
        ]
        for (name, resource) in limits {
            var limit = rlimit()
            guard getrlimit(__rlimit_resource_t(UInt32(resource)), &limit) == 0 else { continue }
            func text(_ value: rlim_t) -> String { value == rlim_t.max ? "unlimited" : "\(value)" }
            Output.report("rlimit \(name) \(text(limit.rlim_cur)) \(text(limit.rlim_max))")
        }
    }

    private static func printFileDescriptors() {
        guard let directory = opendir("/proc/self/fd") else {
            Output.report("fds unknown (/proc/self/fd: errno \(errno))")
            return
        }
        defer { closedir(directory) }
        let own = dirfd(directory)   // the listing's own fd is not one we inherited
        var fds: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if let fd = Int32(name), fd != own { fds.append(fd) }
        }
        fds.sort()
        for fd in fds {
            var target = [CChar](repeating: 0, count: 4096)
            let length = readlink("/proc/self/fd/\(fd)", &target, target.count - 1)
            let text = length >= 0 ? String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
            Output.report("fd \(fd) \(text)")
        }
        Output.report("fds " + fds.map(String.init).joined(separator: " "))
    }

    /// The main thread's SigBlk, SigIgn and SigCgt, each with the signal names decoded.
    private static func printSignalMasks() {
        guard let status = readFile("/proc/self/status") else { return }
        for line in status.split(separator: "\n") {
            guard let key = ["SigBlk", "SigIgn", "SigCgt"].first(where: { line.hasPrefix($0 + ":") }) else { continue }
            let hex = line.dropFirst(key.count + 1).trimmingPrefix { $0 == " " || $0 == "\t" }
            let mask = UInt64(hex, radix: 16) ?? 0
            let names = (1...64).filter { mask & (1 << UInt64($0 - 1)) != 0 }.map { SignalNames.name(Int32($0)) }
            Output.report(([key, String(hex)] + names).joined(separator: " "))
        }
    }

    private static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
