import ArgumentParser
import Hummingbird
import WorkerKit
import WorkerKitLifecycle

/// `hello-server`: a Hummingbird 2 HTTP server as a bulkhead worker, on WorkerKitLifecycle.
///
/// - Socket activation: serves the socket bulkhead passes (`sockets:` → `LISTEN_FDS`), so the
///   listening socket outlives every crash of this process; binds `--host`/`--port` otherwise.
/// - READY=1 once the server accepts; watchdog pings while the group is healthy; SIGTERM → the
///   group's graceful shutdown (in-flight requests complete, then exit 0).
/// - `GET /crash` (or every Nth request with `--crash-every N`) traps; `GET /fail?class=…` makes
///   a background service throw, and the class decides the exit code.
@main
enum HelloServer {
    static func main() async {
        // Before any thread exists: listenFDs() unsets LISTEN_* (so programs this one starts do
        // not take the sockets for theirs), and unsetenv must not race a getenv.
        let inherited = Result { () throws(ListenFDsError) in try listenFDs() }
        // Second: stop signals caught, logging bootstrapped, breadcrumbs mapped, watchdog started.
        let worker = WorkerService(readiness: .manual)
        let logger = worker.context.logger

        let options: HelloOptions
        let listener: HTTPServerService<RouterResponder<BasicRequestContext>>.Listener
        do {
            options = try HelloOptions.parse(Array(CommandLine.arguments.dropFirst()))
            listener = try choose(from: inherited.get(), options: options)
        } catch {
            if HelloOptions.exitCode(for: error) == .success {
                HelloOptions.exit(withError: error)  // --help
            }
            // A bad flag or a bad socket set is the config's fault: persistent, exit 78.
            let message = error is ListenFDsError ? "\(error)" : HelloOptions.message(for: error)
            worker.exitProcess(after: WorkerError.persistent("\(message) (see hello-server --help)"))
        }

        let faults = FaultInjection()
        let router = HelloRoutes.router(context: worker.context, crashEvery: options.crashEvery, faults: faults)
        var server = HTTPServerService(listener: listener, responder: router.buildResponder(), logger: logger) { address in
            worker.ready(status: "serving on \(address.map { "\($0)" } ?? "?")")
        }
        server.warmup = .milliseconds(options.warmupMilliseconds)
        await worker.runProcess(services: [server, faults])
    }

    /// The inherited socket named `--socket-name`, or the only one; else the address to bind.
    static func choose(from sockets: [ListenFD], options: HelloOptions) throws -> HTTPServerService<RouterResponder<BasicRequestContext>>.Listener {
        if let socket = sockets.first(where: { $0.name == options.socketName }) ?? (sockets.count == 1 ? sockets.first : nil) {
            return .inherited(socket)
        }
        guard sockets.isEmpty else {
            throw ValidationError("no inherited socket is named \(options.socketName) (passed: \(sockets.map(\.description).joined(separator: ", ")))")
        }
        return try .address(host: options.host, port: options.resolvedPort())
    }
}
