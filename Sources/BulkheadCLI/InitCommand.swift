import ArgumentParser

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Run as a container's init (PID 1): supervise, reap every orphan, pass the exit code on.",
        discussion: """
        Two forms. With a config, it is `bulkhead daemon` for a container: every worker of the \
        config, SIGTERM/SIGINT stop them all (dependents first) and bulkhead exits 0, SIGHUP \
        reloads the config. With a command after `--`, it runs that one command as tini would: \
        with the container's environment, not restarted, SIGTERM/SIGINT stop it (SIGKILL after \
        --stop-timeout), SIGHUP is passed on to it, and bulkhead exits with its exit code \
        (128 + the signal when a signal killed it; 127 when there is no such program) — after \
        saying why it died when it crashed. Either way every orphaned process in the container \
        is reaped, and a crash report is written under --state-dir.
        Examples:
          ENTRYPOINT ["bulkhead", "init", "--"]   (Dockerfile; CMD is the command)
          bulkhead init -- /usr/local/bin/api --port 8080
          bulkhead init --log-format json -- /usr/local/bin/api
          bulkhead init --config /etc/bulkhead/bulkhead.yaml
        """
    )

    @Option(name: .long, help: "A config file (instead of a command after --).")
    var config: String?

    @Option(name: .long, help: "The control socket (default: /run/bulkhead/control.sock as root).")
    var socket: String?

    @Option(name: .long, help: "Where crash reports go, with a command after -- (default: /var/lib/bulkhead).")
    var stateDir: String?

    @Option(name: .long, help: "text: `api:0 | line` on stderr (the default with --config); plain: the command's output as it wrote it, bulkhead's own lines on stderr (the default with a command); json: one JSON object per line on stdout.")
    var logFormat: String?

    @Option(name: .long, help: "With a command: how long it has after SIGTERM before SIGKILL (default 10s; keep it under the runtime's own, e.g. `docker stop -t`).")
    var stopTimeout: String?

    @Flag(name: .long, help: "No time at the start of each text line.")
    var noTimestamps = false

    @Argument(parsing: .postTerminator, help: "The command to run, after --.")
    var command: [String] = []

    func validate() throws {
        if (config == nil) == command.isEmpty {
            throw ValidationError("give either --config PATH or a command after --")
        }
        if let logFormat, !["text", "plain", "json"].contains(logFormat) {
            throw ValidationError("--log-format is text, plain or json")
        }
    }

    func run() throws {
        var arguments = ["init"]
        if let config { arguments += ["--config", config] }
        if let socket { arguments += ["--socket", socket] }
        if let stateDir { arguments += ["--state-dir", stateDir] }
        if let logFormat { arguments += ["--log-format", logFormat] }
        if let stopTimeout { arguments += ["--stop-timeout", stopTimeout] }
        if noTimestamps { arguments.append("--no-timestamps") }
        if !command.isEmpty { arguments += ["--"] + command }
        throw DaemonProgram.exec(arguments)
    }
}
