import BulkheadForensics
import BulkheadSystem
import Glibc

/// Where this machine puts a worker's core dump, for the report's `details.coredump`: read only
/// when a death dumped core (WCOREDUMP), from procfs and one stat(2) — nothing that waits.
struct CoreDumpSettings {
    /// `coredumpctl` is installed: looked for once, at start, where systemd puts it and on the
    /// daemon's PATH.
    let coredumpctlInstalled: Bool
    /// The daemon's working directory, which a worker without `cwd:` inherits.
    let daemonDirectory: String

    init(path: String? = Environment.get("PATH")) {
        let directories = ["/usr/bin", "/bin"] + (path ?? "").split(separator: ":").map(String.init)
        coredumpctlInstalled = directories.contains { FileSystem.isExecutableFile($0 + "/coredumpctl") }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        daemonDirectory = getcwd(&buffer, buffer.count) != nil ? String(cString: buffer) : "/"
    }

    /// Where the core of a worker that died now went; nil when it went somewhere this cannot
    /// name, or a file it should be is not there (an unwritable directory, a size limit of 0).
    func location(pid: Int32, signal: Int32, executable: String, workingDirectory: String?) -> CoreDumpLocation? {
        guard let pattern = FileSystem.readText("/proc/sys/kernel/core_pattern", limit: 4096) else { return nil }
        let usesPID = FileSystem.readText("/proc/sys/kernel/core_uses_pid", limit: 64).map { !$0.hasPrefix("0") } ?? false
        let location = CoreDumpLocation.of(
            pattern: String(pattern.prefix { $0 != "\n" }), usesPID: usesPID, coredumpctlInstalled: coredumpctlInstalled,
            pid: pid, signal: signal, executable: executable, workingDirectory: workingDirectory ?? daemonDirectory
        )
        if case .file(let file)? = location, !FileSystem.exists(file) { return nil }
        return location
    }
}
