import BulkheadControl
import Glibc

/// `bulkhead-cli`, the full CLI (ArgumentParser: every command, help, completions), installed
/// next to `bulkhead`.
enum FullCLI {
    static let name = "bulkhead-cli"

    /// Where it is: next to this executable.
    static var path: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return name }
        let me = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = me.lastIndex(of: "/") else { return name }
        return String(me[..<slash]) + "/" + name
    }

    /// Replaces this process with the full CLI, same arguments (argv[0] stays `bulkhead`, the
    /// name its help and completion scripts use). Returns only the exit code of a failure.
    static func exec() -> Int32 {
        let program = path
        execv(program, CommandLine.unsafeArgv)
        let reason = String(cString: strerror(errno))
        ControlClient.Failure.report("cannot run \(program): \(reason); install \(name) next to bulkhead (swift build puts both in .build/<configuration>/)", code: 1)
        return 1
    }
}
