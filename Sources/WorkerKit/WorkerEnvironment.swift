import Glibc

/// What bulkhead (or systemd) tells a worker through its environment. Every variable is
/// optional: without them the worker runs standalone and every notification is a no-op.
///
/// | variable | meaning |
/// |---|---|
/// | `NOTIFY_SOCKET` | sd_notify datagram socket: a path or an abstract `@name` |
/// | `WATCHDOG_USEC` | `WATCHDOG=1` is expected at least this often (ignored when `WATCHDOG_PID` names another process) |
/// | `BULKHEAD_WORKER`, `BULKHEAD_INSTANCE`, `BULKHEAD_INSTANCE_INDEX` | `api`, `api:0`, `0` |
/// | `BULKHEAD_BREADCRUMBS_FD` | fd of the shared breadcrumb ring |
/// | `BULKHEAD_STOP_TIMEOUT_USEC` | bulkhead's `stop.timeout`: the grace for a stop ends a little before it |
/// | `LOG_LEVEL` | `trace` … `critical`: the level of the bootstrapped log handler |
public struct WorkerEnvironment: Sendable, Hashable {
    public var notifySocket: String?
    public var watchdogInterval: Duration?
    public var workerName: String?
    public var instance: String?
    public var instanceIndex: Int?
    public var breadcrumbsFileDescriptor: Int32?
    public var stopTimeout: Duration?
    public var logLevel: String?
    /// The last path component of `argv[0]`.
    public var programName: String

    /// The variables WorkerKit reads.
    public static let variableNames = [
        "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "BULKHEAD_WORKER", "BULKHEAD_INSTANCE",
        "BULKHEAD_INSTANCE_INDEX", "BULKHEAD_BREADCRUMBS_FD", "BULKHEAD_STOP_TIMEOUT_USEC", "LOG_LEVEL",
    ]

    /// Parses the given variables. Malformed values count as absent: a worker must start even
    /// when its environment is odd.
    public init(variables: [String: String], programName: String, processID: Int32) {
        self.programName = programName
        notifySocket = variables["NOTIFY_SOCKET"].flatMap(Self.validNotifyAddress)
        let watchdogPID = variables["WATCHDOG_PID"].map { Int32($0) }
        if watchdogPID == nil || watchdogPID == processID,
            let usec = variables["WATCHDOG_USEC"].flatMap({ UInt64($0) }), usec > 0
        {
            watchdogInterval = .microseconds(Int64(clamping: usec))
        }
        workerName = variables["BULKHEAD_WORKER"].flatMap { $0.isEmpty ? nil : $0 }
        instance = variables["BULKHEAD_INSTANCE"].flatMap { $0.isEmpty ? nil : $0 }
        instanceIndex = variables["BULKHEAD_INSTANCE_INDEX"].flatMap { Int($0) }
        breadcrumbsFileDescriptor = variables["BULKHEAD_BREADCRUMBS_FD"].flatMap { Int32($0) }.flatMap { $0 >= 0 ? $0 : nil }
        if let usec = variables["BULKHEAD_STOP_TIMEOUT_USEC"].flatMap({ UInt64($0) }), usec > 0 {
            stopTimeout = .microseconds(Int64(clamping: usec))
        }
        logLevel = variables["LOG_LEVEL"]
    }

    /// The environment of this process.
    public static func current() -> WorkerEnvironment {
        var variables: [String: String] = [:]
        for name in variableNames {
            if let value = getenv(name) {
                variables[name] = String(cString: value)
            }
        }
        let argv0 = CommandLine.arguments.first ?? "worker"
        let program = argv0.split(separator: "/").last.map(String.init) ?? argv0
        return WorkerEnvironment(variables: variables, programName: program.isEmpty ? "worker" : program, processID: getpid())
    }

    /// The name a worker calls itself in its own lines: the instance (`api:0`), else the program.
    public var displayName: String { instance ?? workerName ?? programName }

    /// sd_notify accepts an absolute path or an abstract `@name`; anything else is ignored, as
    /// libsystemd does.
    private static func validNotifyAddress(_ value: String) -> String? {
        guard let first = value.utf8.first, first == UInt8(ascii: "/") || first == UInt8(ascii: "@"),
            value.utf8.count >= 2, value.utf8.count <= 107
        else { return nil }
        return value
    }
}
