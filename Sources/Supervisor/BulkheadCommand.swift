import ArgumentParser

@main
struct BulkheadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulkhead",
        abstract: "A crash-isolating supervisor for worker processes.",
        discussion: """
        A Swift trap cannot be caught, so the process is the panic boundary: bulkhead runs each
        worker in its own process, notices its death at once, says why it died, restarts it with
        backoff behind a crash-loop breaker, and reports to systemd and journald.
        """,
        version: "0.1.0",
        subcommands: [DaemonCommand.self, CheckConfigCommand.self]
    )
}
