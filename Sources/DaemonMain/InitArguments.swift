import BulkheadPolicy
import Supervisor

/// `bulkhead init`'s command line: a config file, or one command after `--`.
struct InitArguments: Equatable {
    var config: String?
    var command: [String] = []
    var socket: String?
    var stateDir: String?
    var logFormat: LogFormat?
    var stopTimeout: Duration = .seconds(10)
    var timestamps = true

    static func parse(_ arguments: ArraySlice<String>) -> DaemonArguments {
        var rest = arguments
        var result = InitArguments()
        while let flag = rest.popFirst() {
            if flag == "--" {
                result.command = Array(rest)
                break
            }
            if flag == "--no-timestamps" {
                result.timestamps = false
                continue
            }
            guard ["--config", "--socket", "--state-dir", "--log-format", "--stop-timeout"].contains(flag) else {
                return .usage("unknown argument \(flag)")
            }
            guard let value = rest.popFirst() else { return .usage("\(flag) needs a value") }
            switch flag {
            case "--config": result.config = value
            case "--socket": result.socket = value
            case "--state-dir": result.stateDir = value
            case "--log-format":
                guard let format = LogFormat(rawValue: value) else { return .usage("--log-format is text, plain or json") }
                result.logFormat = format
            default:
                guard let timeout = Units.duration(value), timeout > .zero else { return .usage("--stop-timeout takes a duration such as 10s") }
                result.stopTimeout = timeout
            }
        }
        if (result.config == nil) == result.command.isEmpty {
            return .usage("init takes either --config PATH or a command after --")
        }
        return .initialize(result)
    }
}
