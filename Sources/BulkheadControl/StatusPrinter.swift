import BulkheadJSON
import BulkheadSystem
import Glibc

/// `bulkhead status`, with no argument parser in sight: the `bulkhead` front runs it for a
/// plain command line without loading the full CLI, and the full CLI's `status` runs it too.
public enum StatusPrinter {
    /// Asks the daemon at `socket` and prints its answer: the table the daemon lays out (cut
    /// at the terminal's width), or with `json` the status document, one line into a pipe and
    /// indented on a terminal. Returns the exit code (failures are printed).
    public static func run(names: [String], json: Bool, socket: String) -> Int32 {
        var arguments: [(String, JSON)] = names.isEmpty ? [] : [("names", .array(names.map(JSON.string)))]
        do throws(ControlClient.Failure) {
            let client = try ControlClient(path: socket)
            if json {
                let raw = try client.callRaw("status", arguments)
                if isatty(1) == 1, let document = try? JSON(parsing: raw, limits: .largeDocument) {
                    var bytes = document.encodedBytes(.pretty)
                    bytes.append(0x0A)
                    try? FileDescriptor.standardOutput.writeAll(bytes)
                } else {
                    // Written from the reply as it came: a thousand instances are 250 KiB.
                    raw.withUnsafeBytes { _ = try? FileDescriptor.standardOutput.writeAll($0) }
                    try? FileDescriptor.standardOutput.writeAll("\n")
                }
                return 0
            }
            arguments.append(("format", "table"))
            if let width = terminalWidth { arguments.append(("width", .int(Int64(width)))) }
            let text = try client.callText("status", arguments)
            try? FileDescriptor.standardOutput.writeAll(text)
            return 0
        } catch {
            return error.report()
        }
    }

    /// The terminal's width when stdout is one, else nil (no truncation into pipes).
    public static var terminalWidth: Int? {
        guard isatty(1) == 1 else { return nil }
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return nil
    }
}

extension ControlClient.Failure {
    /// Prints the failure's sentence on stderr; the details (one config error a line, one
    /// instance a line) follow it. Returns the exit code (SPEC §5).
    public func report() -> Int32 {
        Self.report(message, code: exitCode)
        if case .daemon(let reply) = self, reply.code != .unknownName, !reply.details.isEmpty {
            FileDescriptor.standardError.writeLine(reply.details.map { "  " + $0 }.joined(separator: "\n"))
        }
        return exitCode
    }

    /// `bulkhead: <message>` on stderr (a message that names bulkhead already stands alone).
    public static func report(_ message: String, code: Int32) {
        FileDescriptor.standardError.writeLine(message.hasPrefix("bulkhead ") ? message : "bulkhead: " + message)
    }
}
