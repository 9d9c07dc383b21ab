import ArgumentParser
import BulkheadDaemon
import BulkheadJSON
import BulkheadSystem
import Glibc

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every instance: state, pid, uptime, restarts, last death, status text.",
        discussion: """
        NAME is a worker (api), an instance (api:1) or all; without one, every instance.
        --json prints the daemon's status document (schema: docs/CONTROL.md), stable for scripts.

        Examples:
          bulkhead status
          bulkhead status api cache:0
          bulkhead status --json | jq '.instances[] | select(.state != "running") | .instance'
        """
    )

    @Argument(help: "Workers or instances to show.", completion: .custom(CLI.completeNames))
    var names: [String] = []

    @Flag(name: .long, help: "Print the status document as JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try Self.execute(names: names, json: json, socket: connection.path)
    }

    static func execute(names: [String], json: Bool, socket: String) throws {
        let status = try CLI.call(socket, "status", names.isEmpty ? [] : [("names", .array(names.map(JSON.string)))])
        if json {
            CLI.printJSON(status)
            return
        }
        try? FileDescriptor.standardOutput.writeAll(Array(StatusText.render(status).utf8))
    }
}

/// `bulkhead status` is what people and scripts run most, so it skips ArgumentParser when its
/// command line is plain (names, --json, --socket): ArgumentParser builds its model of every
/// command by reflection, and in a binary that links Foundation each runtime conformance check
/// scans ~all of Foundation's conformance records, which was most of the CLI's start-up time.
/// Anything else (--help, a typo, another command) goes to ArgumentParser as before.
enum FastPath {
    /// Runs `bulkhead status …` and exits; returns only when the command line is not a plain one.
    static func runStatusIfPlain(_ arguments: [String]) {
        guard arguments.count >= 2, arguments[1] == "status" else { return }
        var names: [String] = []
        var json = false
        var socket: String?
        var index = 2
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--json" {
                json = true
            } else if argument == "--socket", index + 1 < arguments.count, !arguments[index + 1].hasPrefix("-") {
                socket = arguments[index + 1]
                index += 1
            } else if argument.hasPrefix("--socket=") {
                socket = String(argument.dropFirst("--socket=".count))
            } else if argument.hasPrefix("-") || argument.isEmpty {
                return
            } else {
                names.append(argument)
            }
            index += 1
        }
        do {
            try StatusCommand.execute(names: names, json: json, socket: ControlSocketPath.forClient(explicit: socket))
            exit(0)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            FileDescriptor.standardError.writeLine("bulkhead: \(error)")
            exit(1)
        }
    }
}

/// The status document as a table and a summary line.
enum StatusText {
    static func render(_ status: JSON) -> String {
        var table = TextTable(["INSTANCE", "STATE", "PID", "UPTIME", "RESTARTS", "LAST", "STATUS"])
        let instances = status["instances"]?.array ?? []
        for i in instances {
            let state = i["state"]?.string ?? "?"
            table.add([
                i["instance"]?.string ?? "?",
                state,
                i["pid"]?.int.map { "\($0)" } ?? "-",
                i["uptime_ms"]?.int.map { TextFormat.duration(milliseconds: $0) } ?? "-",
                i["restarts"]?.int.map { "\($0)" } ?? "0",
                i["last_class"]?.string ?? "-",
                statusText(i, state),
            ])
        }
        var text = instances.isEmpty ? "no instances\n" : table.render()
        let daemon = status["daemon"]
        var about = "bulkhead \(daemon?["version"]?.string ?? "?")"
        if let pid = daemon?["pid"]?.int { about += ", pid \(pid)" }
        if let up = daemon?["uptime_ms"]?.int { about += ", up \(TextFormat.duration(milliseconds: up))" }
        if daemon?["shutting_down"]?.bool == true { about += ", shutting down" }
        text += "\(about): \(status["summary"]?.string ?? "")\n"
        return text
    }

    /// The worker's own STATUS= text, or what bulkhead is waiting for.
    static func statusText(_ i: JSON, _ state: String) -> String {
        let own = i["status_text"]?.string
        let next = i["next_attempt_in_ms"]?.int.map { TextFormat.duration(milliseconds: $0) }
        let name = i["instance"]?.string ?? "NAME"
        switch state {
        case "backoff":
            return "restart in \(next ?? "a moment")" + (own.map { " (\($0))" } ?? "")
        case "open":
            return "crash loop: breaker open, one try in \(next ?? "a while")"
        case "failed":
            return own ?? "not restarted; `bulkhead reset \(name)` to try again"
        case "quarantined":
            return "corruption suspected; `bulkhead reset \(name)` once fixed"
        default:
            return own ?? ""
        }
    }
}
