import ArgumentParser
import BulkheadControl
import BulkheadJSON
import BulkheadSystem
import Glibc

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every instance: state, pid, uptime, restarts, last death, status text.",
        discussion: """
        NAME is a worker (api), an instance (api:1) or all; without one, every instance. \
        --json prints the daemon's status document (schema: docs/CONTROL.md), stable for scripts.

        Examples:
          bulkhead status
          bulkhead status api cache:0
          bulkhead status --json | jq -r '.instances[].state'
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

    /// The daemon lays the table out (and cuts it at the terminal's width); `--json` into a
    /// pipe is the daemon's compact document as it came, one line; on a terminal, indented.
    static func execute(names: [String], json: Bool, socket: String) throws {
        var arguments: [(String, JSON)] = names.isEmpty ? [] : [("names", .array(names.map(JSON.string)))]
        let client: ControlClient
        do {
            client = try ControlClient(path: socket)
        } catch {
            throw CLI.fail(error)
        }
        if json {
            let raw: ArraySlice<UInt8>
            do {
                raw = try client.callRaw("status", arguments)
            } catch {
                throw CLI.fail(error)
            }
            if isatty(1) == 1, let document = try? JSON(parsing: raw, limits: .largeDocument) {
                CLI.printJSON(document)
            } else {
                // Written from the reply as it came: a thousand instances are 250 KiB.
                raw.withUnsafeBytes { _ = try? FileDescriptor.standardOutput.writeAll($0) }
                try? FileDescriptor.standardOutput.writeAll("\n")
            }
            return
        }
        arguments.append(("format", "table"))
        if let width = CLI.terminalWidth { arguments.append(("width", .int(Int64(width)))) }
        let result: JSON
        do {
            result = try client.call("status", arguments)
        } catch {
            throw CLI.fail(error)
        }
        try? FileDescriptor.standardOutput.writeAll(result["text"]?.string ?? "")
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

