import ArgumentParser
import BulkheadSystem
import Glibc

struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run the supervisor in the foreground.",
        discussion: """
        Runs bulkhead-daemon (installed next to bulkhead) in this process: same pid, same \
        environment, so systemd's NOTIFY_SOCKET and MainPID hold.
        Examples:
          bulkhead daemon --config /etc/bulkhead/bulkhead.yaml
          bulkhead daemon --config config/demo.yaml
        """
    )

    @Option(name: .long, help: "The config file.")
    var config: String = "/etc/bulkhead/bulkhead.yaml"

    @Option(name: .long, help: "The control socket (overrides control.socket).")
    var socket: String?

    @Flag(name: .long, help: "No time at the start of each output line.")
    var noTimestamps = false

    func run() throws {
        var arguments = ["daemon", "--config", config]
        if let socket { arguments += ["--socket", socket] }
        if noTimestamps { arguments.append("--no-timestamps") }
        throw DaemonProgram.exec(arguments)
    }
}

/// `bulkhead-daemon`: the YAML-reading, supervising half of bulkhead, kept out of this binary
/// so the CLI starts fast (Yams brings Foundation, whose start-up every `bulkhead status`
/// would pay). It sits next to the real `bulkhead` executable.
enum DaemonProgram {
    static var path: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return "bulkhead-daemon" }
        let executable = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directory = executable.lastIndex(of: "/").map { String(executable[..<$0]) } ?? "."
        return directory + "/bulkhead-daemon"
    }

    /// Replaces this process with bulkhead-daemon; returns only the exit code of a failure.
    static func exec(_ arguments: [String]) -> ExitCode {
        let program = path
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        execv(program, argv)
        let reason = String(cString: strerror(errno))
        FileDescriptor.standardError.writeLine(
            "bulkhead: cannot run \(program): \(reason); install bulkhead-daemon next to bulkhead (swift build puts both in .build/<configuration>/)")
        return ExitCode(1)
    }
}
