import BulkheadConfig
import BulkheadControl
import Supervisor
import BulkheadPolicy
import BulkheadSystem
import Glibc

// `bulkhead-daemon`: the half of bulkhead that reads YAML and supervises. `bulkhead daemon` and
// `bulkhead check-config` parse their command line and exec this program with it, so the
// `bulkhead` CLI itself links neither Yams nor Foundation and starts in a few milliseconds.
//
//   bulkhead-daemon daemon --config PATH [--socket PATH] [--no-timestamps]
//   bulkhead-daemon check-config PATH
//   bulkhead-daemon init [--config PATH | -- COMMAND…] [options]   (a container's PID 1)

// A daemon started with stdin, stdout or stderr closed (`bulkhead daemon <&- >&- 2>&-`) would
// hand the next fd it opens — the control socket, a pipe — the number 0, 1 or 2, and then every
// line meant for stderr would go into it. Hold those numbers with /dev/null first, as daemons do.
StandardDescriptors.openMissingAsDevNull()

let arguments = Array(CommandLine.arguments.dropFirst())
switch DaemonArguments.parse(arguments) {
case .daemon(let config, let socket, let timestamps, let keepsState):
    exit(DaemonEntry.runDaemon(config: config, socket: socket, timestamps: timestamps, keepsState: keepsState))
case .version:
    FileDescriptor.standardOutput.writeLine("bulkhead-daemon \(BulkheadVersion.current)")
    exit(0)
case .checkConfig(let path):
    exit(DaemonEntry.checkConfig(path))
case .initialize(let arguments):
    exit(InitEntry.run(arguments))
case .usage(let problem):
    FileDescriptor.standardError.writeLine("bulkhead-daemon: \(problem)\n\(DaemonArguments.usage)")
    exit(2)
}
