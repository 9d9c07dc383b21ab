/// The command line `bulkhead` passes on (it has checked it with ArgumentParser already, so
/// this only has to be exact, not friendly).
enum DaemonArguments: Equatable {
    case daemon(config: String, socket: String?, timestamps: Bool, keepsState: Bool)
    case checkConfig(String)
    /// `--version`: what `bulkhead reexec` runs first, to see that a new binary starts at all.
    case version
    case initialize(InitArguments)
    case usage(String)

    static let usage = """
        usage: bulkhead-daemon daemon [--config PATH] [--socket PATH] [--no-timestamps] [--no-state]
               bulkhead-daemon check-config PATH
               bulkhead-daemon --version
               bulkhead-daemon init [--config PATH | -- COMMAND [ARG…]] [--socket PATH] [--state-dir DIR]
                                    [--log-format text|plain|json] [--stop-timeout DURATION] [--no-timestamps]
        (run it as `bulkhead daemon` or `bulkhead check-config`)
        """

    static func parse(_ arguments: [String]) -> DaemonArguments {
        guard let command = arguments.first else { return .usage("no command") }
        var rest = arguments.dropFirst()
        switch command {
        case "--version":
            return rest.isEmpty ? .version : .usage("--version takes nothing")
        case "check-config":
            guard rest.count == 1, let path = rest.first else { return .usage("check-config takes one path") }
            return .checkConfig(path)
        case "daemon":
            var config = "/etc/bulkhead/bulkhead.yaml"
            var socket: String?
            var timestamps = true
            var keepsState = true
            while let flag = rest.popFirst() {
                switch flag {
                case "--config", "--socket":
                    guard let value = rest.popFirst() else { return .usage("\(flag) needs a value") }
                    if flag == "--config" { config = value } else { socket = value }
                case "--no-timestamps":
                    timestamps = false
                case "--no-state":
                    keepsState = false
                default:
                    return .usage("unknown argument \(flag)")
                }
            }
            return .daemon(config: config, socket: socket, timestamps: timestamps, keepsState: keepsState)
        case "init":
            return InitArguments.parse(rest)
        default:
            return .usage("unknown command \(command)")
        }
    }
}
