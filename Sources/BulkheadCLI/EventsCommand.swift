import ArgumentParser
import BulkheadControl
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show supervisor events (spawn, ready, exit, restart, backoff, breaker-open, failed, …), then follow with -f.",
        discussion: """
        Every event the daemon logs, one a line: `TIME INSTANCE EVENT: message`. With --json, one \
        JSON object a line with the journal entry's fields in lower case (time, seq, event, worker, \
        instance, pid, class, exit_code or signal, restarts, crash_id, message, …). The daemon keeps \
        the last events.history events (10000): --since shows those of the last DURATION; without \
        it, all kept (or with -f, only new ones). A reader too slow for the stream is told how many \
        events it lost (`lost: N`) and goes on.

        Examples:
          bulkhead events --since 1h
          bulkhead events -f --json api | jq 'select(.event == "exit")'
          bulkhead events -f
        """
    )

    @Argument(help: "Workers or instances (default: everything, the daemon's own events included).", completion: .custom(CLI.completeNames))
    var names: [String] = []

    @Flag(name: .shortAndLong, help: "Keep printing events as they happen, until interrupted.")
    var follow = false

    @Flag(name: .long, help: "One JSON object a line.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Events of the last DURATION (90s, 30m, 24h).", valueName: "duration"))
    var since: String?

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if let since, Units.duration(since) == nil {
            throw ValidationError("--since takes a duration such as 90s, 30m or 24h")
        }
    }

    func run() throws {
        let client = try connection.connect()
        var arguments: [(String, JSON)] = [("follow", .bool(follow))]
        if !names.isEmpty { arguments.append(("names", .array(names.map(JSON.string)))) }
        if let since { arguments.append(("since", .string(since))) }
        let printer = EventPrinter(json: json)
        let backlog: JSON
        do {
            backlog = try client.call("events", arguments)
        } catch {
            throw CLI.fail(error)
        }
        for record in backlog["events"]?.array ?? [] { printer.print(record) }
        printer.flush()
        guard follow else { return }
        try FollowStream.run(client, flush: printer.flush, settle: printer.flush) { name, event in
            switch name {
            case "event":
                if let record = event["record"] { printer.print(record) }
            case "lost":
                printer.lost(event["events"]?.int ?? 0)
            default:
                return false
            }
            return true
        }
    }
}

/// Prints events: as JSON lines, or `TIME INSTANCE EVENT: message [crash ID]` in local time.
final class EventPrinter {
    let json: Bool
    private var pending: [UInt8] = []

    init(json: Bool) {
        self.json = json
    }

    func print(_ record: JSON) {
        if json {
            pending += record.encodedBytes(.compact)
        } else {
            pending += Array(Self.text(record).utf8)
        }
        pending.append(0x0A)
        if pending.count > 64 << 10 { flush() }
    }

    static func text(_ record: JSON) -> String {
        let time = record["time"]?.string.map { TextFormat.localTime($0, withDate: true) } ?? "?"
        let subject = record["instance"]?.string ?? record["worker"]?.string ?? "bulkhead"
        var line = "\(time) \(subject) \(record["event"]?.string ?? "?"): \(record["message"]?.string ?? "")"
        if let crash = record["crash_id"]?.string, record["event"]?.string == "exit" { line += " [crash \(crash)]" }
        return line
    }

    /// The daemon's history moved past events this reader had not read.
    func lost(_ count: Int64) {
        if json {
            var line = JSON.object([("time", .string(WallClockText.iso8601(WallClockText.now()))), ("event", "lost"), ("lost", .int(count))]).encodedBytes(.compact)
            line.append(0x0A)
            pending += line
        } else {
            pending += Array("lost: \(count) events (this reader was too slow; `bulkhead events --since` shows what the daemon still keeps)\n".utf8)
        }
    }

    func flush() {
        guard !pending.isEmpty else { return }
        try? FileDescriptor.standardOutput.writeAll(pending)
        pending.removeAll(keepingCapacity: true)
    }
}

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print the Prometheus metrics (what /metrics serves), over the control socket.",
        discussion: """
        The same text as `metrics: { listen: … }` serves at /metrics, for hosts without an open \
        port (node_exporter's textfile collector, a cron job, a look by hand). --openmetrics prints \
        the OpenMetrics 1.0 format instead of the text format 0.0.4.

        Examples:
          bulkhead metrics | grep bulkhead_worker_restarts_total
          bulkhead metrics > /var/lib/node_exporter/bulkhead.prom.tmp && mv /var/lib/node_exporter/bulkhead.prom.tmp /var/lib/node_exporter/bulkhead.prom
        """
    )

    @Flag(name: .long, help: "The OpenMetrics format.")
    var openmetrics = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let client = try connection.connect()
        let text: [UInt8]
        do {
            text = try client.callText("metrics", [("format", .string(openmetrics ? "openmetrics" : "prometheus"))])
        } catch {
            throw CLI.fail(error)
        }
        try? FileDescriptor.standardOutput.writeAll(text)
    }
}
