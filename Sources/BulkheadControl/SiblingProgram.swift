import BulkheadSystem
import Glibc

/// bulkhead's other executables (`bulkhead-cli`, `bulkhead-daemon`): next to the one running,
/// where `swift build` and the install-by-hand lines put them, else in `/usr/libexec/bulkhead`,
/// where the Debian package puts them (programs run by other programs, not by people, belong
/// under libexec; only `bulkhead` is on PATH).
public enum SiblingProgram {
    /// The package's directory for the helpers, searched after the running executable's own.
    public static let libexecDirectory = "/usr/libexec/bulkhead"

    /// `name` next to the running executable (`/proc/self/exe`) if it is there, else in
    /// `libexecDirectory` if it is there, else the path next to the executable (the one an
    /// error message should name first).
    public static func path(_ name: String) -> String {
        path(name, searching: [executableDirectory(), libexecDirectory])
    }

    /// The first of `directories` that holds an executable `name`; when none does, `name` in the
    /// first of them. The sibling comes first so that a build tree or a copy in /usr/local never
    /// runs a packaged helper of another version.
    public static func path(_ name: String, searching directories: [String]) -> String {
        let candidates = directories.map { $0 + "/" + name }
        return candidates.first(where: FileSystem.isExecutableFile) ?? candidates.first ?? name
    }

    /// The directory of the running executable, "." if `/proc/self/exe` cannot be read.
    static func executableDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return "." }
        let executable = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return executable.lastIndex(of: "/").map { String(executable[..<$0]) } ?? "."
    }

    /// Replaces this process with `name` (same pid, same environment), given `argv` (argv[0]
    /// first, nil last). Returns only if that failed, having said on stderr what to install:
    /// the exit code, 1.
    public static func exec(_ name: String, _ argv: UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
        let program = path(name)
        execv(program, argv)
        let reason = String(cString: strerror(errno))
        // The message names the place a build puts it; the package's place is the fallback.
        ControlClient.Failure.report("cannot run \(program): \(reason); install \(name) next to bulkhead (swift build puts both in .build/<configuration>/)", code: 1)
        return 1
    }
}
