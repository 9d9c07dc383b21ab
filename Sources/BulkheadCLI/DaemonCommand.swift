import ArgumentParser
import BulkheadControl
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

    @Flag(name: .long, help: ArgumentHelp(
        "Keep no state file (state_dir/state.json): for measuring what it costs only. A daemon restarted without it forgets every verdict and cannot find the workers its predecessor left.",
        visibility: .hidden))
    var noState = false

    func run() throws {
        var arguments = ["daemon", "--config", config]
        if let socket { arguments += ["--socket", socket] }
        if noTimestamps { arguments.append("--no-timestamps") }
        if noState { arguments.append("--no-state") }
        throw DaemonProgram.exec(arguments)
    }
}

/// `bulkhead-daemon`: the YAML-reading, supervising half of bulkhead, kept out of this binary
/// so the CLI starts fast (Yams brings Foundation, whose start-up every `bulkhead status`
/// would pay). It sits next to the real `bulkhead` executable.
enum DaemonProgram {
    /// Replaces this process with bulkhead-daemon; returns only the exit code of a failure.
    static func exec(_ arguments: [String]) -> ExitCode {
        let argv = ([SiblingProgram.path("bulkhead-daemon")] + arguments).map { strdup($0) } + [nil]
        return ExitCode(SiblingProgram.exec("bulkhead-daemon", argv))
    }
}
