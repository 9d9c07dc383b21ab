import CLinux
import Glibc

/// Replacing this process's program (execve), for the daemon's re-exec: same pid, same children.
public enum ProcessImage {
    /// Runs `path` in this process. Returns only when that failed, with why.
    public static func exec(_ path: String, arguments: [String], environment: [String]) -> SystemError {
        let argv = CStringArray(arguments)
        let envp = CStringArray(environment)
        defer {
            argv.deallocate()
            envp.deallocate()
        }
        return SystemError(negated: bh_exec(path, argv.pointer, envp.pointer), "execve \(path)")
    }

    /// Runs the program open at `descriptor` (fexecve: the file may have been replaced or
    /// deleted since, as the previous binary is after a package upgrade).
    public static func exec(_ descriptor: FileDescriptor, arguments: [String], environment: [String]) -> SystemError {
        let argv = CStringArray(arguments)
        let envp = CStringArray(environment)
        defer {
            argv.deallocate()
            envp.deallocate()
        }
        fexecve(descriptor.rawValue, argv.pointer, envp.pointer)
        return SystemError(errno, "fexecve")
    }

    /// The running program's file, open (moved high), so it can be run again whatever happens to
    /// its path.
    public static func openOwnExecutable() throws(SystemError) -> FileDescriptor {
        try FileDescriptor.open("/proc/self/exe", O_RDONLY).movedHigh()
    }

    /// This process's environment, as `KEY=value` strings.
    public static func environment() -> [String] {
        var out: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            out.append(String(cString: entry))
            cursor += 1
        }
        return out
    }

    /// A memfd holding `bytes` (CLOEXEC, moved high), positioned at its start.
    public static func memoryFile(named name: String, _ bytes: [UInt8]) throws(SystemError) -> FileDescriptor {
        let fd = FileDescriptor(rawValue: try check("memfd_create", bh_memfd(name, 0))).movedHigh()
        do {
            try fd.writeAll(bytes)
        } catch {
            fd.close()
            throw error
        }
        _ = lseek(fd.rawValue, 0, SEEK_SET)
        return fd
    }

    /// Everything in the file open at `descriptor`, from its start (at most `limit` bytes).
    public static func readAll(_ descriptor: FileDescriptor, limit: Int) -> [UInt8]? {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while out.count < limit {
            let n = chunk.withUnsafeMutableBytes { pread(descriptor.rawValue, $0.baseAddress, $0.count, offset) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            offset += off_t(n)
        }
        return out
    }
}
