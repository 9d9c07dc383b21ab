import Glibc

/// Facts about processes from /proc.
public enum ProcFS {
    public struct Stat: Sendable, Equatable {
        public var state: Character
        public var parentPID: Int32
        public var processGroup: Int32
        public var session: Int32
        /// The main thread's nice value.
        public var nice: Int32
        /// Field 22, `starttime`: clock ticks after boot at which the process started. With the
        /// pid, it names one process for the whole boot (a recycled pid has a later one).
        public var startTime: UInt64
    }

    /// /proc/PID/stat: the fields after the command name (which may itself contain ')').
    public static func stat(_ pid: Int32) -> Stat? {
        guard let bytes = FileSystem.read("/proc/\(pid)/stat", limit: 4096),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let rest = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard rest.count > 19, let state = rest[0].first,
              let ppid = Int32(String(decoding: rest[1], as: UTF8.self)),
              let pgrp = Int32(String(decoding: rest[2], as: UTF8.self)),
              let session = Int32(String(decoding: rest[3], as: UTF8.self)),
              let nice = Int32(String(decoding: rest[16], as: UTF8.self)),
              let start = UInt64(String(decoding: rest[19], as: UTF8.self)) else { return nil }
        return Stat(state: Character(UnicodeScalar(state)), parentPID: ppid, processGroup: pgrp, session: session, nice: nice,
                    startTime: start)
    }

    /// This boot's id (`/proc/sys/kernel/random/boot_id`): monotonic times and pids mean
    /// something only within one boot. Empty when it cannot be read.
    public static func bootID() -> String {
        (readText("/proc/sys/kernel/random/boot_id") ?? "").filter { !$0.isWhitespace }
    }

    /// Where `/proc/PID/fd/N` points (`pipe:[123]`, `/memfd:name (deleted)`), or nil.
    public static func descriptorTarget(pid: Int32, fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 512)
        let n = readlink("/proc/\(pid)/fd/\(fd)", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func readText(_ path: String) -> String? {
        FileSystem.readText(path, limit: 4096)
    }

    /// The process's cgroup v2 path (the `0::` line of /proc/PID/cgroup), or nil.
    public static func unifiedCgroup(_ pid: Int32) -> String? {
        guard let bytes = FileSystem.read("/proc/\(pid)/cgroup", limit: 8192) else { return nil }
        for line in bytes.split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("0::".utf8)) {
            return String(decoding: line.dropFirst(3), as: UTF8.self)
        }
        return nil
    }

    /// Whether this process sees the pids the kernel's own log names: false inside a pid
    /// namespace (`NSpid:` in /proc/self/status lists one pid per level), where a kernel line's
    /// pid is another process's number here.
    public static func seesKernelPIDs() -> Bool {
        guard let bytes = FileSystem.read("/proc/self/status", limit: 16384) else { return false }
        for line in bytes.split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("NSpid:".utf8)) {
            return line.split(whereSeparator: { $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: " ") }).count == 2
        }
        return true   // a kernel older than 4.1 has no NSpid and no way to tell; assume the host
    }

    /// Proportional set size in KiB (/proc/PID/smaps_rollup), for the memory benchmark.
    public static func proportionalSetSizeKiB(_ pid: Int32) -> Int? {
        guard let bytes = FileSystem.read("/proc/\(pid)/smaps_rollup", limit: 8192) else { return nil }
        for line in bytes.split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("Pss:".utf8)) {
            let digits = line.filter { $0 >= 48 && $0 <= 57 }
            return Int(String(decoding: digits, as: UTF8.self))
        }
        return nil
    }

    /// Every pid whose process group is `pgid` (a /proc scan: for tests and rare checks only).
    public static func processes(inGroup pgid: Int32) -> [Int32] {
        FileSystem.list("/proc").compactMap { Int32($0) }.filter { stat($0)?.processGroup == pgid }
    }
}
