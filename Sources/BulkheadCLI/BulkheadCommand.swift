import ArgumentParser
import BulkheadControl
import BulkheadSystem
import Glibc

@main
struct BulkheadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulkhead",
        abstract: "A crash-isolating supervisor for worker processes.",
        discussion: """
        A Swift trap cannot be caught, so the process is the panic boundary: bulkhead runs each \
        worker in its own process, notices its death at once, says why it died, restarts it with \
        backoff behind a crash-loop breaker, and reports to systemd and journald.

        `bulkhead daemon` runs the supervisor; every other command talks to it over its control \
        socket (--socket or BULKHEAD_SOCKET override the default).

        Exit codes: 0 ok, 1 failed, 2 usage, 3 bulkhead not reachable, 4 permission denied.

        Shell completions (worker names included, asked of the running daemon):
          bulkhead --generate-completion-script bash > /etc/bash_completion.d/bulkhead
          bulkhead --generate-completion-script zsh  > "${fpath[1]}/_bulkhead"
          bulkhead --generate-completion-script fish > ~/.config/fish/completions/bulkhead.fish
        """,
        version: BulkheadVersion.current,
        subcommands: [
            DaemonCommand.self, StatusCommand.self, StartCommand.self, StopCommand.self, RestartCommand.self,
            ResetCommand.self, ReloadCommand.self, LogsCommand.self, CrashesCommand.self, CrashCommand.self,
            SignalCommand.self, ReexecCommand.self, CheckConfigCommand.self, InitCommand.self, EventsCommand.self, MetricsCommand.self, ReportCommand.self,
        ]
    )

    /// ArgumentParser's own `main`, except that a usage error exits 2 (SPEC §5), not 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileDescriptor.standardError.writeLine(fullMessage(for: error))
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}
