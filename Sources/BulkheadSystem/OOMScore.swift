import Glibc

/// The kernel's OOM killer's bias for a process (`/proc/PID/oom_score_adj`, -1000 to 1000).
public enum OOMScore {
    /// This process's value; nil when it cannot be read.
    public static func own() -> Int32? {
        let fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[..<n], as: UTF8.self).filter { $0 != "\n" && $0 != " " })
    }

    /// Sets `pid`'s value (0: this process). Lowering needs CAP_SYS_RESOURCE; raising does not.
    @discardableResult
    public static func set(_ value: Int32, pid: Int32 = 0) -> Bool {
        let path = pid == 0 ? "/proc/self/oom_score_adj" : "/proc/\(pid)/oom_score_adj"
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let text = Array("\(value)".utf8)
        return text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == text.count
    }
}
