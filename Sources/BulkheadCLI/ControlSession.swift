import ArgumentParser
import BulkheadControl
import BulkheadJSON
import BulkheadSystem
import Glibc

/// `--socket`, shared by every command that talks to the daemon.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The control socket. Default: $BULKHEAD_SOCKET, else /run/bulkhead/control.sock for root and $XDG_RUNTIME_DIR/bulkhead/control.sock (if it exists) for others.",
        valueName: "path"))
    var socket: String?

    var path: String { ControlSocketPath.forClient(explicit: socket) }

    /// Connects, or prints why not and exits 3 or 4.
    func connect(timeout: Duration = ControlClient.defaultTimeout) throws -> ControlClient {
        do {
            return try ControlClient(path: path, timeout: timeout)
        } catch {
            throw CLI.fail(error)
        }
    }

    /// One request, one result; any failure printed and turned into its exit code.
    func call(_ command: String, _ arguments: [(String, JSON)] = []) throws -> JSON {
        try CLI.call(path, command, arguments)
    }
}

/// Output and failures, the same way in every command.
enum CLI {
    /// Connects to `path`, sends one request and returns its result; any failure is printed
    /// and thrown as its exit code.
    static func call(_ path: String, _ command: String, _ arguments: [(String, JSON)] = []) throws -> JSON {
        do {
            let client = try ControlClient(path: path)
            return try client.call(command, arguments)
        } catch {
            throw fail(error)
        }
    }

    /// Prints the failure (`ControlClient.Failure.report`); returns the exit code to throw.
    static func fail(_ failure: ControlClient.Failure) -> ExitCode {
        ExitCode(failure.report())
    }

    static func fail(_ message: String, code: Int32) -> ExitCode {
        ControlClient.Failure.report(message, code: code)
        return ExitCode(code)
    }

    /// A usage error (exit 2), for what ArgumentParser cannot check itself.
    static func usage(_ message: String) -> ExitCode {
        fail(message, code: 2)
    }

    static func print(_ text: String) {
        FileDescriptor.standardOutput.writeLine(text)
    }

    static func printJSON(_ value: JSON) {
        var bytes = value.encodedBytes(.pretty)
        bytes.append(0x0A)
        try? FileDescriptor.standardOutput.writeAll(bytes)
    }

    /// Worker names, instance names and `all`, from the running daemon: for shell completion.
    /// Quiet and quick (one second at most) when there is no daemon to ask.
    @Sendable static func completeNames(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        var explicit: String?
        if let at = words.firstIndex(of: "--socket"), at + 1 < words.count { explicit = words[at + 1] }
        guard let client = try? ControlClient(path: ControlSocketPath.forClient(explicit: explicit), timeout: .seconds(1)),
              let status = try? client.call("status") else { return ["all"] }
        var names = ["all"]
        var workers: [String] = []
        for instance in status["instances"]?.array ?? [] {
            if let worker = instance["worker"]?.string, !workers.contains(worker) { workers.append(worker) }
            if let name = instance["instance"]?.string { names.append(name) }
        }
        return (workers + names).filter { $0.hasPrefix(prefix) }
    }
}
