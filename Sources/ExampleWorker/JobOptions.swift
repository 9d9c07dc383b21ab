import Glibc
import WorkerKit

/// jobworker's flags. Each flag `--some-flag N` can also come from `JOBWORKER_SOME_FLAG=N`
/// (the flag wins), so a bulkhead config can choose a misbehaviour through `env:`.
struct JobOptions: Sendable {
    /// Stop (exit 0) after this many jobs; nil: run until stopped.
    var jobs: Int?
    var jobMilliseconds = 200
    var warmupMilliseconds = 300
    var lanes = 2
    /// Trap (a Swift runtime failure, SIGILL) on every Nth job.
    var trapEvery: Int?
    var trapKind = TrapKind.fatal
    /// Throw a corruption-class error at job N (exit 86).
    var corruptAt: Int?
    /// Throw a transient error on every Nth job (exit 75).
    var failTransientEvery: Int?
    /// Throw a persistent error at job N (exit 78).
    var failPersistentAt: Int?
    /// At job N, block every cooperative thread: the watchdog pings stop.
    var blockExecutorAt: Int?
    /// At job N, run a main-actor job that never yields: the watchdog pings stop.
    var hogMainActorAt: Int?
    /// Keep working after SIGTERM, so only the stop grace ends the process.
    var ignoreStop = false
    /// No automatic watchdog pings: one `WATCHDOG=1` per finished job instead.
    var manualWatchdog = false

    enum TrapKind: String, Sendable, CaseIterable {
        case fatal, unwrap, index, overflow
    }

    static let usage = """
        usage: jobworker [--help] [--jobs N] [--job-ms MS] [--warmup-ms MS] [--lanes K]
                         [--trap-every N] [--trap-kind fatal|unwrap|index|overflow]
                         [--corrupt-at N] [--fail-transient-every N] [--fail-persistent-at N]
                         [--block-executor-at N] [--hog-main-actor-at N] [--ignore-stop]
                         [--manual-watchdog]
        every flag may also be given as JOBWORKER_<FLAG>, e.g. JOBWORKER_TRAP_EVERY=5
        """

    private static let flags = [
        "jobs", "job-ms", "warmup-ms", "lanes", "trap-every", "trap-kind", "corrupt-at", "fail-transient-every",
        "fail-persistent-at", "block-executor-at", "hog-main-actor-at", "ignore-stop", "manual-watchdog",
    ]

    /// Flags that take no value.
    private static let switches: Set<String> = ["ignore-stop", "manual-watchdog"]

    /// Reads the environment, then the arguments. Bad input is a persistent error: restarting
    /// will not fix a typo in the config.
    init(arguments: [String], environment: (String) -> String?) throws {
        var values: [String: String] = [:]
        for flag in Self.flags {
            let variable = "JOBWORKER_" + flag.uppercased().replacingOccurrences(of: "-", with: "_")
            if let value = environment(variable) { values[flag] = value }
        }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--help" || argument == "-h" {
                print(Self.usage)
                exit(0)
            }
            guard argument.hasPrefix("--"), Self.flags.contains(String(argument.dropFirst(2))) else {
                throw WorkerError.persistent("unknown argument \(argument) (see jobworker --help)")
            }
            let flag = String(argument.dropFirst(2))
            if Self.switches.contains(flag) {
                values[flag] = "1"
            } else {
                guard index + 1 < arguments.count else { throw WorkerError.persistent("\(argument) needs a value") }
                index += 1
                values[flag] = arguments[index]
            }
            index += 1
        }
        func number(_ flag: String, minimum: Int = 1) throws -> Int? {
            guard let text = values[flag] else { return nil }
            guard let value = Int(text), value >= minimum else {
                throw WorkerError.persistent("--\(flag) wants a whole number ≥ \(minimum), got \"\(text)\"")
            }
            return value
        }
        jobs = try number("jobs", minimum: 0)
        jobMilliseconds = try number("job-ms", minimum: 0) ?? jobMilliseconds
        warmupMilliseconds = try number("warmup-ms", minimum: 0) ?? warmupMilliseconds
        lanes = try number("lanes") ?? lanes
        trapEvery = try number("trap-every")
        if let kind = values["trap-kind"] {
            guard let parsed = TrapKind(rawValue: kind) else {
                throw WorkerError.persistent("--trap-kind wants one of \(TrapKind.allCases.map(\.rawValue)), got \"\(kind)\"")
            }
            trapKind = parsed
        }
        corruptAt = try number("corrupt-at")
        failTransientEvery = try number("fail-transient-every")
        failPersistentAt = try number("fail-persistent-at")
        blockExecutorAt = try number("block-executor-at")
        hogMainActorAt = try number("hog-main-actor-at")
        ignoreStop = Self.isOn(values["ignore-stop"])
        manualWatchdog = Self.isOn(values["manual-watchdog"])
    }
}

extension JobOptions {
    static func isOn(_ value: String?) -> Bool {
        guard let value else { return false }
        return !["", "0", "false", "no"].contains(value)
    }

    /// `--manual-watchdog` is needed before `init` runs (it shapes `Worker.configuration`).
    static var wantsManualWatchdog: Bool {
        CommandLine.arguments.contains("--manual-watchdog")
            || isOn(getenv("JOBWORKER_MANUAL_WATCHDOG").map { String(cString: $0) })
    }
}

extension String {
    /// Foundation-free replacement for the one call needed here.
    fileprivate func replacingOccurrences(of target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
