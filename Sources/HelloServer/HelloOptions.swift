import ArgumentParser
import Glibc

/// hello-server's flags. Where it listens: the inherited socket when the supervisor passes one
/// (`LISTEN_FDS`), else `--host`/`--port` (or `PORT`).
struct HelloOptions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hello-server",
        abstract: "A Hummingbird 2 HTTP server run as a bulkhead worker (WorkerKitLifecycle).",
        discussion: """
            Routes: GET / (hello), GET /healthz (200 ok), GET /slow?ms=N (answers after N ms), \
            GET /crash (a Swift trap: index out of range), GET /fail?class=transient|persistent|corruption \
            (a background service of the group throws an error of that class: the group is cancelled at \
            once, so the reply may be cut off, and the process exits 75, 78 or 86).

            Socket activation: with LISTEN_PID/LISTEN_FDS set (bulkhead's `sockets:`, or systemd), it \
            serves the inherited socket named by --socket-name (or the only one) and binds nothing.
            """
    )

    @Option(help: "Address to bind when no socket is inherited.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind when no socket is inherited (default: $PORT, else 8080).")
    var port: Int?

    @Option(name: .customLong("socket-name"), help: "The inherited socket to serve, by its LISTEN_FDNAMES name.")
    var socketName = "http"

    @Option(name: .customLong("crash-every"), help: "Trap on every Nth request (/healthz not counted).")
    var crashEvery: Int?

    @Option(name: .customLong("warmup-ms"), help: "Wait this long before serving (a slow start: loading caches).")
    var warmupMilliseconds = 0

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port wants 0…65535, got \(port)") }
        if let crashEvery, crashEvery < 1 { throw ValidationError("--crash-every wants a whole number ≥ 1, got \(crashEvery)") }
        if warmupMilliseconds < 0 { throw ValidationError("--warmup-ms wants a whole number ≥ 0, got \(warmupMilliseconds)") }
    }

    /// `--port`, else `PORT`, else 8080.
    func resolvedPort() throws -> Int {
        if let port { return port }
        guard let text = getenv("PORT").map({ String(cString: $0) }) else { return 8080 }
        guard let value = Int(text), (0...65535).contains(value) else {
            throw ValidationError("PORT wants 0…65535, got \"\(text)\"")
        }
        return value
    }
}
