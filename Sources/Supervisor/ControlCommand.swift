import BulkheadControl
import BulkheadJSON
import BulkheadPolicy

/// A control request, read into what it asks (docs/CONTROL.md, "Requests"). Arguments are
/// checked here, once; executing a command never sees raw JSON.
enum ControlCommand: Equatable {
    case ping
    case status(names: [String], format: StatusFormat)
    case instances(InstanceCommand, names: [String])
    case reload
    case logs(names: [String], lines: Int, follow: Bool)
    case crashes(name: String?, limit: Int)
    case crash(id: String)
    case signal(names: [String], signal: Int32)
    /// `since`: how far back the history goes (nil: all of it, or with `follow` none of it).
    case events(names: [String], since: Duration?, follow: Bool)
    case metrics(openMetrics: Bool)
    /// The reliability history `bulkhead report` is computed from.
    case report(names: [String], since: Duration?)
    /// Re-execute the daemon in place; `binary`: another daemon binary than the installed one.
    case reexec(binary: String?)

    enum StatusFormat: Equatable {
        case json
        /// The table the CLI prints, cut at `width` columns (nil: never).
        case table(width: Int?)
    }

    enum InstanceCommand: String, Equatable, CaseIterable {
        case start, stop, restart, reset
    }

    /// The commands by their wire names; `unknown_command` lists them.
    enum Name: String, CaseIterable {
        case ping, status, start, stop, restart, reset, reload, logs, crashes, crash, signal, events, metrics, report, reexec
    }

    /// May make a large reply (refused while the clients' unread replies are over budget).
    var hasLargeReply: Bool {
        switch self {
        case .status, .logs, .crashes, .crash, .events, .metrics, .report: return true
        case .ping, .instances, .reload, .signal, .reexec: return false
        }
    }

    static func parse(_ request: ControlRequest) -> Result<ControlCommand, ControlFailure> {
        guard let name = Name(rawValue: request.command) else {
            let known = Name.allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(ControlFailure(.unknownCommand, "unknown command \"\(request.command.prefix(64))\" (this bulkhead knows \(known))"))
        }
        let args = request.arguments
        switch name {
        case .ping:
            return .success(.ping)
        case .status:
            return args.names().flatMap { names in
                switch args.text("format") ?? "json" {
                case "json": return .success(.status(names: names, format: .json))
                case "table":
                    return args.integer("width", default: 0, range: 0...100_000).map { width in
                        .status(names: names, format: .table(width: width > 0 ? width : nil))
                    }
                default:
                    return .failure(ControlFailure(.badArguments, "\"format\" is \"json\" (the default) or \"table\""))
                }
            }
        case .start: return instanceCommand(.start, args)
        case .stop: return instanceCommand(.stop, args)
        case .restart: return instanceCommand(.restart, args)
        case .reset: return instanceCommand(.reset, args)
        case .reload:
            return .success(.reload)
        case .logs:
            return args.names().flatMap { given in
                var names = given
                if let name = args.text("name") { names.append(name) }
                guard !names.isEmpty else { return .failure(Self.nameSomething) }
                return args.integer("lines", default: 100, range: 0...100_000).map { lines in
                    .logs(names: names, lines: lines, follow: args.flag("follow"))
                }
            }
        case .crashes:
            return args.integer("limit", default: 50, range: 1...100_000).map { .crashes(name: args.text("name"), limit: $0) }
        case .crash:
            guard let id = args.text("id") else {
                return .failure(ControlFailure(.badArguments, "name the crash report: an id from `bulkhead crashes`"))
            }
            return .success(.crash(id: id))
        case .reexec:
            if let binary = args["binary"], !binary.isNull {
                guard let path = binary.string, path.hasPrefix("/"), path.utf8.count <= 4096 else {
                    return .failure(ControlFailure(.badArguments, "\"binary\" is an absolute path to a bulkhead-daemon"))
                }
                return .success(.reexec(binary: path))
            }
            return .success(.reexec(binary: nil))
        case .signal:
            var signal: Int32?
            if let number = args["signal"]?.int { signal = Int32(exactly: number) } else if let name = args.text("signal") { signal = Signals.number(name) }
            guard let signal, signal > 0, signal <= 64 else {
                return .failure(ControlFailure(.badArguments, "name a signal: a name (TERM, SIGKILL, usr1) or a number from 1 to 64"))
            }
            return args.names().flatMap { names in
                names.isEmpty ? .failure(Self.nameSomething) : .success(.signal(names: names, signal: signal))
            }
        case .events:
            return args.names().flatMap { names in
                since(args).map { .events(names: names, since: $0, follow: args.flag("follow")) }
            }
        case .metrics:
            switch args.text("format") ?? "prometheus" {
            case "prometheus": return .success(.metrics(openMetrics: false))
            case "openmetrics": return .success(.metrics(openMetrics: true))
            default: return .failure(ControlFailure(.badArguments, "\"format\" is \"prometheus\" (the default) or \"openmetrics\""))
            }
        case .report:
            return args.names().flatMap { names in since(args).map { .report(names: names, since: $0) } }
        }
    }

    /// `"since"`: a duration back from now (`90s`, `24h`).
    private static func since(_ args: JSONObject) -> Result<Duration?, ControlFailure> {
        guard let text = args.text("since") else { return .success(nil) }
        guard let duration = Units.duration(text) else {
            return .failure(ControlFailure(.badArguments, "\"since\" is a duration back from now, such as 90s, 30m or 24h (got \"\(text.prefix(40))\")"))
        }
        return .success(duration)
    }

    static let nameSomething = ControlFailure(.badArguments, "name at least one worker (api), instance (api:1) or all")

    private static func instanceCommand(_ command: InstanceCommand, _ args: JSONObject) -> Result<ControlCommand, ControlFailure> {
        args.names().flatMap { names in
            names.isEmpty ? .failure(nameSomething) : .success(.instances(command, names: names))
        }
    }
}
