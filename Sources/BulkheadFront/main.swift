import BulkheadControl
import BulkheadSystem
import Glibc

// `bulkhead`: the front. `bulkhead status` is what people and scripts run most, so a plain
// status command line (names, --json, --socket) is answered here, by a binary that links no
// argument parser; everything else (every other command, --help, completions, anything this
// does not recognise) replaces this process with `bulkhead-cli`, the full CLI, installed next
// to it. See docs/ARCHITECTURE.md, "Why three executables".

if let status = PlainStatus(CommandLine.arguments) {
    exit(StatusPrinter.run(names: status.names, json: status.json, socket: ControlSocketPath.forClient(explicit: status.socket)))
}
// argv[0] stays `bulkhead`: the name the full CLI's help and completion scripts use.
exit(SiblingProgram.exec("bulkhead-cli", CommandLine.unsafeArgv))
