import ArgumentParser
import BulkheadControl
import BulkheadJSON

/// start, stop, restart and reset: the same shape, one verb each.
enum InstanceVerb {
    static func run(_ command: String, _ names: [String], _ connection: ConnectionOptions) throws {
        guard !names.isEmpty else { throw CLI.usage("name a worker (api), an instance (api:1) or all; e.g. `bulkhead \(command) all`") }
        let result = try connection.call(command, [("names", .array(names.map(JSON.string)))])
        for line in result["lines"]?.array ?? [] {
            if let text = line.string { CLI.print(text) }
        }
    }

    static func discussion(_ what: String, _ examples: [String]) -> String {
        "NAME is a worker (api: all its instances), an instance (api:1) or all. \(what)\n\nExamples:\n"
            + examples.map { "  " + $0 }.joined(separator: "\n")
    }
}

struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start stopped instances.",
        discussion: InstanceVerb.discussion(
            "An instance that is failed, quarantined or whose crash-loop breaker is open is not started: `bulkhead reset` clears it.",
            ["bulkhead start api", "bulkhead start api:1 cache", "bulkhead start all"])
    )

    @Argument(help: "Workers, instances or all.", completion: .custom(CLI.completeNames))
    var names: [String] = []

    @OptionGroup var connection: ConnectionOptions

    func run() throws { try InstanceVerb.run("start", names, connection) }
}

struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop instances (stop signal to the whole process group, SIGKILL after stop.timeout).",
        discussion: InstanceVerb.discussion(
            "Dependents stop first. A stopped instance stays stopped until `bulkhead start`.",
            ["bulkhead stop api:0", "bulkhead stop all"])
    )

    @Argument(help: "Workers, instances or all.", completion: .custom(CLI.completeNames))
    var names: [String] = []

    @OptionGroup var connection: ConnectionOptions

    func run() throws { try InstanceVerb.run("stop", names, connection) }
}

struct RestartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Stop instances and start them again (dependents as their strategy says).",
        discussion: InstanceVerb.discussion(
            "The backoff sequence starts over.",
            ["bulkhead restart api", "bulkhead restart api:1"])
    )

    @Argument(help: "Workers, instances or all.", completion: .custom(CLI.completeNames))
    var names: [String] = []

    @OptionGroup var connection: ConnectionOptions

    func run() throws { try InstanceVerb.run("restart", names, connection) }
}

struct ResetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Clear failed, quarantined and open (and every counter), and start again.",
        discussion: InstanceVerb.discussion(
            "Use it once the cause is fixed: a quarantined instance (suspected corruption) is never restarted without it.",
            ["bulkhead reset db:0", "bulkhead reset all"])
    )

    @Argument(help: "Workers, instances or all.", completion: .custom(CLI.completeNames))
    var names: [String] = []

    @OptionGroup var connection: ConnectionOptions

    func run() throws { try InstanceVerb.run("reset", names, connection) }
}

struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Re-read the config; only changed workers are touched.",
        discussion: """
        A changed command, environment, user, limits … restarts that worker's instances; a change of \
        policy only (backoff, rules, timeouts, …) is applied in place, same pids. A config with any \
        error changes nothing: every error is printed with its file, line and key. SIGHUP to the \
        daemon does the same.

        Examples:
          bulkhead reload
          bulkhead check-config /etc/bulkhead/bulkhead.yaml && bulkhead reload
        """
    )

    @Flag(name: .long, help: "Print the daemon's answer as JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let result = try connection.call("reload")
        if json {
            CLI.printJSON(result)
            return
        }
        CLI.print("reloaded \(result["config"]?.string ?? "the config"): \(result["summary"]?.string ?? "")")
        if let note = result["note"]?.string { CLI.print("note: \(note)") }
    }
}

struct ReexecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reexec",
        abstract: "Re-execute the daemon in place (a new binary after an upgrade); workers keep running.",
        discussion: """
        The daemon checks the binary (it exists, is executable, and `bulkhead-daemon --version` \
        runs), hands everything it holds to it — every instance's state and counters, the control \
        socket, the workers' output pipes (no line is lost), notify sockets — and executes it in \
        its own process: the pid stays, so every worker stays its child, and systemd sees the same \
        service. This returns once the new daemon serves. If the check or the exec fails, or the \
        new binary cannot take over, the daemon keeps running unchanged and this exits 1 saying why. \
        SIGUSR2 to the daemon does the same (answered in its log).

        Examples:
          bulkhead reexec
          bulkhead reexec --binary /opt/bulkhead-2/bulkhead-daemon
        """
    )

    @Option(name: .long, help: ArgumentHelp(
        "The daemon binary to run (root or bulkhead's own user only). Default: the installed bulkhead-daemon.",
        valueName: "path"))
    var binary: String?

    @Flag(name: .long, help: "Print the daemon's answer as JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        var arguments: [(String, JSON)] = []
        if let binary {
            guard binary.hasPrefix("/") else { throw CLI.usage("--binary takes an absolute path") }
            arguments.append(("binary", .string(binary)))
        }
        // The check of the new binary may take seconds on a loaded machine, and the new image's
        // start some more: a longer wait than other commands'.
        let result: JSON
        do {
            result = try connection.connect(timeout: .seconds(120)).call("reexec", arguments)
        } catch let failure as ControlClient.Failure {
            throw CLI.fail(failure)
        }
        if json {
            CLI.printJSON(result)
            return
        }
        let took = result["took_ms"]?.double.map { " in \(Int($0.rounded())) ms" } ?? ""
        CLI.print("bulkhead \(result["version"]?.string ?? "?") (was \(result["previous_version"]?.string ?? "?")) serves again as pid \(result["pid"]?.int ?? 0)\(took); \(result["instances"]?.int ?? 0) instances kept")
    }
}
