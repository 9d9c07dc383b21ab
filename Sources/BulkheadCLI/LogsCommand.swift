import ArgumentParser
import BulkheadControl
import BulkheadJSON
import BulkheadSystem

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show a worker's output (the last lines, then follow with -f).",
        discussion: """
        NAME is a worker (its instances interleaved by time) or an instance (api:1). Lines read \
        `TIME INSTANCE | text` for stdout and `TIME INSTANCE ! text` for stderr, in local time. \
        The lines come from the journal when bulkhead writes to journald (and you may read it), \
        else from bulkhead's own buffer (output.buffer_lines per instance).

        Examples:
          bulkhead logs api
          bulkhead logs api:1 -n 500
          bulkhead logs api -f
        """
    )

    @Argument(help: "A worker or an instance.", completion: .custom(CLI.completeNames))
    var name: String

    @Option(name: .short, help: "How many of the last lines to show.")
    var n: Int = 100

    @Flag(name: .shortAndLong, help: "Keep printing lines as they come, until interrupted.")
    var follow = false

    @Flag(name: .long, help: "One JSON object a line ({instance, stream, at, text}).")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard n >= 0 && n <= 100_000 else { throw ValidationError("-n takes 0 to 100000 lines") }
    }

    func run() throws {
        let source = try LogSources.choose(name: name, connection: connection)
        let printer = LogPrinter(json: json)
        try source.show(name: name, last: n, follow: follow, printer)
    }
}

/// Where `bulkhead logs` reads from: bulkhead's own buffer over the control socket, or the
/// journal (JournalLogs.swift), chosen by what the daemon says it writes to (`LogSources`).
protocol LogSource {
    func show(name: String, last: Int, follow: Bool, _ printer: LogPrinter) throws
}

struct DaemonBufferLogs: LogSource {
    let connection: ConnectionOptions

    func show(name: String, last: Int, follow: Bool, _ printer: LogPrinter) throws {
        let client = try connection.connect()
        let arguments: [(String, JSON)] = [("names", [.string(name)]), ("lines", .int(Int64(last))), ("follow", .bool(follow))]
        let backlog: JSON
        do {
            backlog = try client.call("logs", arguments)
        } catch {
            throw CLI.fail(error)
        }
        for line in backlog["lines"]?.array ?? [] { printer.print(line) }
        printer.flush()
        guard follow else { return }
        try FollowStream.run(client, flush: printer.flush, settle: printer.flushIfIdle) { name, event in
            switch name {
            case "line":
                if let line = event["line"] { printer.print(line) }
            case "dropped":
                FileDescriptor.standardError.writeLine("bulkhead: \(event["lines"]?.int ?? 0) lines dropped: this terminal read them too slowly")
            default:
                return false
            }
            return true
        }
    }
}

/// Prints log lines, batched into few writes.
final class LogPrinter {
    let json: Bool
    private var pending: [UInt8] = []

    init(json: Bool) {
        self.json = json
    }

    func print(_ line: JSON) {
        if json {
            pending += line.encodedBytes(.compact)
        } else {
            let time = line["at"]?.string.map { TextFormat.localTime($0, withDate: false) } ?? "?"
            let mark = line["stream"]?.string == "stderr" ? " ! " : " | "
            pending += Array("\(time) \(line["instance"]?.string ?? "?")\(mark)\(line["text"]?.string ?? "")".utf8)
        }
        pending.append(0x0A)
        if pending.count > 64 << 10 { flush() }
    }

    /// Following: a line should show at once, not wait for the next 64 KiB.
    func flushIfIdle() {
        flush()
    }

    func flush() {
        guard !pending.isEmpty else { return }
        try? FileDescriptor.standardOutput.writeAll(pending)
        pending.removeAll(keepingCapacity: true)
    }
}
