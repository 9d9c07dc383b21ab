import CLinux
import Glibc

/// Files without Foundation: small reads and writes, directories, atomic replace.
public enum FileSystem {
    /// The whole file (at most `limit` bytes), or nil if it cannot be read.
    public static func read(_ path: String, limit: Int = 16 << 20) -> [UInt8]? {
        guard let file = try? FileDescriptor.open(path, O_RDONLY) else { return nil }
        defer { file.close() }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let wanted = min(chunk.count, limit - out.count)
            let n = chunk.withUnsafeMutableBytes { raw -> Int? in
                // A regular file never says "would block": nil here is a failure.
                (try? file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<wanted]))) ?? nil
            }
            guard let read = n else { return nil }
            guard read > 0 else { break }
            out.append(contentsOf: chunk[0..<read])
        }
        return out
    }

    public static func readText(_ path: String, limit: Int = 16 << 20) -> String? {
        read(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Writes to `path.tmp` then renames over `path`: readers see the old or the new file, whole.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: Int32 = 0o644) throws(SystemError) {
        try replace(path, bytes, mode: mode, durable: false)
    }

    /// Like `writeAtomically`, and durable: the new file's data is on disk before the rename,
    /// and the rename is on disk before this returns (fsync of the file, then of its
    /// directory), so a crash or power loss leaves the old file or the new one, never neither.
    public static func writeDurably(_ path: String, _ bytes: [UInt8], mode: Int32 = 0o600) throws(SystemError) {
        try replace(path, bytes, mode: mode, durable: true)
    }

    private static func replace(_ path: String, _ bytes: [UInt8], mode: Int32, durable: Bool) throws(SystemError) {
        let temporary = path + ".tmp"
        let file = try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do throws(SystemError) {
            try file.writeAll(bytes)
            if durable && fsync(file.rawValue) != 0 { throw SystemError(errno, "fsync \(temporary)") }
        } catch {
            file.close()
            unlink(temporary)
            throw SystemError(error.errno, "write \(temporary)")
        }
        file.close()
        if Glibc.rename(temporary, path) != 0 {
            let e = errno
            unlink(temporary)
            throw SystemError(e, "rename \(path)")
        }
        guard durable else { return }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let dir = try FileDescriptor.open(directory, O_RDONLY | O_DIRECTORY)
        defer { dir.close() }
        if fsync(dir.rawValue) != 0 { throw SystemError(errno, "fsync \(directory)") }
    }

    /// rename(2).
    public static func rename(_ from: String, to: String) throws(SystemError) {
        if Glibc.rename(from, to) != 0 { throw SystemError(errno, "rename \(from) to \(to)") }
    }

    /// Writes a small value into an existing file (cgroup and proc knobs).
    public static func writeValue(_ path: String, _ text: String) throws(SystemError) {
        let file = try FileDescriptor.open(path, O_WRONLY)
        defer { file.close() }
        do {
            try file.writeAll(text)
        } catch {
            throw SystemError(error.errno, "write \(path)")
        }
    }

    /// mkdir -p with `mode` for the directories it creates.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        // The common case first (the parent is there: each instance's cgroup, ten thousand at a
        // start): one mkdir, not one per component of the path.
        if mkdir(path, mode) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw SystemError(errno, "mkdir \(path)") }
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw SystemError(errno, "mkdir \(current)")
            }
        }
    }

    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public struct Info: Sendable {
        public var size: Int64
        public var modifiedNanoseconds: Int64
        public var isDirectory: Bool
        public var isRegular: Bool
        public var mode: UInt32
        public var uid: UInt32
    }

    public static func info(_ path: String) -> Info? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let type = st.st_mode & S_IFMT
        return Info(
            size: Int64(st.st_size),
            modifiedNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            isDirectory: type == S_IFDIR, isRegular: type == S_IFREG, mode: st.st_mode & 0o7777, uid: st.st_uid
        )
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// realpath(3): the path with every symbolic link and `.`/`..` resolved; nil if it is not there.
    public static func resolvedPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public static func isExecutableFile(_ path: String) -> Bool {
        guard let info = info(path), info.isRegular else { return false }
        return access(path, X_OK) == 0
    }

    @discardableResult
    public static func remove(_ path: String) -> Bool {
        unlink(path) == 0
    }

    @discardableResult
    public static func removeDirectory(_ path: String) -> Bool {
        rmdir(path) == 0
    }

    /// Removes a directory and its files (one level deep is all bulkhead creates).
    public static func removeTree(_ path: String) {
        for name in list(path) {
            let child = path + "/" + name
            if info(child)?.isDirectory == true { removeTree(child) } else { unlink(child) }
        }
        rmdir(path)
    }

    public static func chmod(_ path: String, _ mode: UInt32) throws(SystemError) {
        if Glibc.chmod(path, mode_t(mode)) != 0 { throw SystemError(errno, "chmod \(path)") }
    }

    public static func chown(_ path: String, uid: UInt32?, gid: UInt32?) throws(SystemError) {
        if Glibc.chown(path, uid ?? UInt32.max, gid ?? UInt32.max) != 0 { throw SystemError(errno, "chown \(path)") }
    }
}
