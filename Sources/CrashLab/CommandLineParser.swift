/// Turns crashlab's arguments into `Options`. Hand-written on purpose: crashlab must start fast
/// and depend on nothing but CLinux. Every flag takes the form `--flag VALUE` or `--flag=VALUE`.
enum CommandLineParser {
    enum Outcome {
        case run(Options)
        case help
        case listKinds
        case failure(String)
    }

    static func parse(_ arguments: [String]) -> Outcome {
        var cursor = Cursor(arguments)
        var options = Options()
        var afterGiven = false
        var messageGiven = false
        var floodCount: Int?
        var flood = Flood(count: 0)
        var floodShapeGiven = false
        do {
            while let flag = try cursor.nextFlag() {
                switch flag {
                case "-h", "--help":
                    return .help
                case "--list-kinds":
                    return .listKinds
                case "--die":
                    try setEnding(&options, .die(try cursor.value(for: flag, DeathKind.parse)), flag)
                case "--exit":
                    try setEnding(&options, .exit(try cursor.value(for: flag, parseExitCode)), flag)
                case "--hang":
                    try setEnding(&options, .hang, flag)
                case "--run-for":
                    try setEnding(&options, .runFor(try cursor.value(for: flag, Quantity.duration)), flag)
                case "--after":
                    options.afterNs = try cursor.value(for: flag, Quantity.duration)
                    afterGiven = true
                case "--message":
                    options.message = try cursor.value(for: flag) { $0 }
                    messageGiven = true
                case "--ignore-term":
                    try setStop(&options, .ignore, flag)
                case "--term-exit":
                    try setStop(&options, .exit(try cursor.value(for: flag, parseExitCode)), flag)
                case "--slow-stop":
                    try setStop(&options, .slowStop(try cursor.value(for: flag, Quantity.duration)), flag)
                case "--ignore-pipe":
                    options.ignorePipe = true
                case "--grandchild":
                    options.grandchildren.append(.processGroup)
                case "--grandchild-setsid":
                    options.grandchildren.append(.ownSession)
                case "--print":
                    options.lines.append((.stdout, try cursor.value(for: flag) { $0 }))
                case "--eprint":
                    options.lines.append((.stderr, try cursor.value(for: flag) { $0 }))
                case "--flood":
                    floodCount = try cursor.value(for: flag) { Int($0).flatMap { $0 >= 0 ? $0 : nil } }
                case "--flood-pause-at":
                    floodShapeGiven = true
                    flood.pauseAt = try cursor.value(for: flag) { Int($0).flatMap { $0 >= 1 ? $0 : nil } }
                case "--line-bytes":
                    floodShapeGiven = true
                    flood.lineBytes = try cursor.value(for: flag) {
                        Int($0).flatMap { (1...1_048_576).contains($0) ? $0 : nil }
                    }
                case "--stream":
                    floodShapeGiven = true
                    flood.stream = try cursor.value(for: flag) { (text: String) -> Stream? in
                        text == "stdout" ? .stdout : text == "stderr" ? .stderr : nil
                    }
                case "--priority-prefix":
                    options.priorityPrefix = try cursor.value(for: flag) { (text: String) -> PriorityPrefix? in
                        if text == "cycle" { return .cycle }
                        return Int(text).flatMap { (0...7).contains($0) ? .fixed($0) : nil }
                    }
                case "--notify-ready":
                    options.readyDelayNs = try cursor.optionalValue(for: flag, Quantity.duration) ?? 0
                case "--status":
                    options.status = try cursor.value(for: flag) { $0 }
                case "--watchdog":
                    options.watchdog = true
                case "--stop-pinging-after":
                    options.stopPingingAfterNs = try cursor.value(for: flag, Quantity.duration)
                case "--breadcrumb":
                    options.breadcrumbs.append(try cursor.value(for: flag) { $0 })
                case "--allocate":
                    options.allocateBytes = try cursor.value(for: flag, Quantity.size)
                case "--allocate-forever":
                    options.allocateForeverStep = try cursor.value(for: flag) { Quantity.size($0).flatMap { $0 > 0 ? $0 : nil } }
                case "--print-env":
                    options.printEnvironment = true
                case "--print-dying-time":
                    options.printDyingTime = true
                default:
                    throw ParseError("unknown flag '\(flag)'")
                }
            }
            if let count = floodCount {
                flood.count = count
                options.flood = flood
            } else if floodShapeGiven {
                throw ParseError("--line-bytes and --stream need --flood N")
            }
            try checkCombinations(options, afterGiven: afterGiven, messageGiven: messageGiven)
        } catch let error as ParseError {
            return .failure(error.message)
        } catch {
            return .failure("\(error)")
        }
        return .run(options)
    }

    private static func setEnding(_ options: inout Options, _ ending: Ending, _ flag: String) throws {
        guard options.ending == nil else {
            throw ParseError("\(flag): only one of --die, --exit, --hang and --run-for may be given")
        }
        options.ending = ending
    }

    private static func setStop(_ options: inout Options, _ stop: StopBehaviour, _ flag: String) throws {
        guard options.stop == .defaultDisposition else {
            throw ParseError("\(flag): only one of --ignore-term, --term-exit and --slow-stop may be given")
        }
        options.stop = stop
    }

    private static func parseExitCode(_ text: String) -> Int32? {
        Int32(text).flatMap { (0...255).contains($0) ? $0 : nil }
    }

    /// Flags that only make sense together are checked here, so a typo in a test fails loudly
    /// instead of silently testing something else.
    private static func checkCombinations(
        _ options: Options, afterGiven: Bool, messageGiven: Bool
    ) throws {
        switch options.ending {
        case .die, .exit, .hang: break
        case .runFor, nil:
            if afterGiven { throw ParseError("--after needs --die, --exit or --hang") }
        }
        if messageGiven {
            guard case .die(let kind) = options.ending, kind.takesMessage else {
                throw ParseError("--message needs --die with one of: \(DeathKind.messageKindNames)")
            }
        }
        if options.stopPingingAfterNs != nil, !options.watchdog {
            throw ParseError("--stop-pinging-after needs --watchdog")
        }
    }
}

struct ParseError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Walks the argument list; splits `--flag=value` into a flag and a pending value.
private struct Cursor {
    private let arguments: [String]
    private var index = 0
    private var pendingValue: String?

    init(_ arguments: [String]) { self.arguments = arguments }

    /// The next flag. A `--flag=value` whose value the previous flag did not take (`--hang=1`)
    /// is an error here.
    mutating func nextFlag() throws -> String? {
        if pendingValue != nil, index > 0 {
            throw ParseError("\(arguments[index - 1].prefix { $0 != "=" }) takes no value")
        }
        guard index < arguments.count else { return nil }
        let argument = arguments[index]
        index += 1
        if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
            pendingValue = String(argument[argument.index(after: equals)...])
            return String(argument[..<equals])
        }
        pendingValue = nil
        return argument
    }

    /// The flag's value, converted; a missing or unconvertible value is a ParseError.
    mutating func value<T>(for flag: String, _ convert: (String) -> T?) throws -> T {
        let text: String
        if let pending = pendingValue {
            text = pending
            pendingValue = nil
        } else {
            guard index < arguments.count else { throw ParseError("\(flag) needs a value") }
            text = arguments[index]
            index += 1
        }
        guard let converted = convert(text) else { throw ParseError("\(flag): bad value '\(text)'") }
        return converted
    }

    /// For a flag whose value may be left out: the next argument is taken only when it
    /// converts (so `--notify-ready --status up` leaves `--status` alone).
    mutating func optionalValue<T>(for flag: String, _ convert: (String) -> T?) throws -> T? {
        if pendingValue != nil { return try value(for: flag, convert) }
        guard index < arguments.count, !arguments[index].hasPrefix("-"),
              let converted = convert(arguments[index]) else { return nil }
        index += 1
        return converted
    }
}
