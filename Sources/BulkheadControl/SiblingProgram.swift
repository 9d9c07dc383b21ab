import BulkheadSystem
import Glibc

/// bulkhead's other executables (`bulkhead-cli`, `bulkhead-daemon`), installed next to the one
/// running: `swift build` puts them side by side, and so do the install lines.
public enum SiblingProgram {
    /// `name` in the directory of the running executable (`/proc/self/exe`).
    public static func path(_ name: String) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return name }
        let executable = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directory = executable.lastIndex(of: "/").map { String(executable[..<$0]) } ?? "."
        return directory + "/" + name
    }

    /// Replaces this process with `name` (same pid, same environment), given `argv` (argv[0]
    /// first, nil last). Returns only if that failed, having said on stderr what to install:
    /// the exit code, 1.
    public static func exec(_ name: String, _ argv: UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
        let program = path(name)
        execv(program, argv)
        let reason = String(cString: strerror(errno))
        ControlClient.Failure.report("cannot run \(program): \(reason); install \(name) next to bulkhead (swift build puts both in .build/<configuration>/)", code: 1)
        return 1
    }
}
