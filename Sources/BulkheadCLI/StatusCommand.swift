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
        let code = StatusPrinter.run(names: names, json: json, socket: connection.path)
        if code != 0 { throw ExitCode(code) }
    }
}
