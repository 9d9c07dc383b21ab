import ArgumentParser
import Glibc
import WorkerKit

/// jobworker's command line, parsed by ArgumentParser (`jobworker --help`). Each flag
/// `--some-flag N` can also come from `JOBWORKER_SOME_FLAG=N` (the flag wins), so a bulkhead
/// config can choose a misbehaviour through `env:`; ``JobOptions`` merges the two. A flag
/// takes the next argument as its value whatever it looks like (`--jobs -1` is a bad count, not
/// a missing one).
struct JobFlags: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobworker",
        abstract: "A small job processor on WorkerKit: warms up, says READY=1, then works through fake jobs in lanes.",
        discussion: """
            Every flag may also be given as JOBWORKER_<FLAG>, e.g. JOBWORKER_TRAP_EVERY=5 or \
            JOBWORKER_IGNORE_STOP=1; a flag on the command line wins over its variable.
            """
    )

    @Option(name: .customLong("jobs"), parsing: .unconditional, help: ArgumentHelp("Stop (exit 0) after N jobs (default: run until stopped).", valueName: "N"))
    var jobs: Int?

    @Option(name: .customLong("job-ms"), parsing: .unconditional, help: ArgumentHelp("Milliseconds one job takes (default: 200).", valueName: "MS"))
    var jobMilliseconds: Int?

    @Option(name: .customLong("warmup-ms"), parsing: .unconditional, help: ArgumentHelp("Milliseconds of warm-up before READY=1 (default: 300).", valueName: "MS"))
    var warmupMilliseconds: Int?

    @Option(name: .customLong("lanes"), parsing: .unconditional, help: ArgumentHelp("Jobs worked on at once, one task each (default: 2).", valueName: "K"))
    var lanes: Int?

    @Option(name: .customLong("trap-every"), parsing: .unconditional, help: ArgumentHelp("Trap (a Swift runtime failure, SIGILL) on every Nth job.", valueName: "N"))
    var trapEvery: Int?

    @Option(name: .customLong("trap-kind"), parsing: .unconditional, help: "Which trap --trap-every fires (default: fatal).")
    var trapKind: JobOptions.TrapKind?

    @Option(name: .customLong("corrupt-at"), parsing: .unconditional, help: ArgumentHelp("Throw a corruption-class error at job N (exit 86).", valueName: "N"))
    var corruptAt: Int?

    @Option(name: .customLong("fail-transient-every"), parsing: .unconditional, help: ArgumentHelp("Throw a transient error on every Nth job (exit 75).", valueName: "N"))
    var failTransientEvery: Int?

    @Option(name: .customLong("fail-persistent-at"), parsing: .unconditional, help: ArgumentHelp("Throw a persistent error at job N (exit 78).", valueName: "N"))
    var failPersistentAt: Int?

    @Option(name: .customLong("block-executor-at"), parsing: .unconditional, help: ArgumentHelp("At job N, block every cooperative thread: the watchdog pings stop.", valueName: "N"))
    var blockExecutorAt: Int?

    @Option(name: .customLong("hog-main-actor-at"), parsing: .unconditional, help: ArgumentHelp("At job N, run a main-actor job that never yields: the watchdog pings stop.", valueName: "N"))
    var hogMainActorAt: Int?

    @Flag(name: .customLong("ignore-stop"), help: "Keep working after SIGTERM, so only the stop grace ends the process.")
    var ignoreStop = false

    @Flag(name: .customLong("manual-watchdog"), help: "No automatic watchdog pings: one WATCHDOG=1 per finished job instead.")
    var manualWatchdog = false

    /// The smallest value each numeric flag takes (the same rule holds for its variable).
    static let minimums = [
        "jobs": 0, "job-ms": 0, "warmup-ms": 0, "lanes": 1, "trap-every": 1, "corrupt-at": 1, "fail-transient-every": 1,
        "fail-persistent-at": 1, "block-executor-at": 1, "hog-main-actor-at": 1,
    ]

    var numbers: [(flag: String, value: Int?)] {
        [
            ("jobs", jobs), ("job-ms", jobMilliseconds), ("warmup-ms", warmupMilliseconds), ("lanes", lanes),
            ("trap-every", trapEvery), ("corrupt-at", corruptAt), ("fail-transient-every", failTransientEvery),
            ("fail-persistent-at", failPersistentAt), ("block-executor-at", blockExecutorAt), ("hog-main-actor-at", hogMainActorAt),
        ]
    }

    func validate() throws {
        for (flag, value) in numbers {
            if let value, let minimum = Self.minimums[flag], value < minimum {
                throw ValidationError("--\(flag) wants a whole number ≥ \(minimum), got \(value)")
            }
        }
    }
}

/// What jobworker does, from its flags and, for each flag not given, its `JOBWORKER_` variable.
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

    enum TrapKind: String, Sendable, CaseIterable, ExpressibleByArgument {
        case fatal, unwrap, index, overflow
    }

    /// Parses the arguments, then fills what they leave out from the environment. Bad input is a
    /// persistent error: restarting will not fix a typo in the config. `--help` prints the help
    /// and exits 0.
    init(arguments: [String], environment: (String) -> String?) throws {
        let flags: JobFlags
        do {
            flags = try JobFlags.parse(arguments)
        } catch {
            if JobFlags.exitCode(for: error) == .success {
                JobFlags.exit(withError: error)
            }
            throw WorkerError.persistent("\(JobFlags.message(for: error)) (see jobworker --help)")
        }
        let given = Dictionary(uniqueKeysWithValues: flags.numbers.map { ($0.flag, $0.value) })
        func number(_ flag: String) throws -> Int? {
            if let value = given[flag] ?? nil { return value }
            let variable = Self.variable(for: flag)
            guard let text = environment(variable) else { return nil }
            let minimum = JobFlags.minimums[flag] ?? 1
            guard let value = Int(text), value >= minimum else {
                throw WorkerError.persistent("\(variable) wants a whole number ≥ \(minimum), got \"\(text)\"")
            }
            return value
        }
        jobs = try number("jobs")
        jobMilliseconds = try number("job-ms") ?? jobMilliseconds
        warmupMilliseconds = try number("warmup-ms") ?? warmupMilliseconds
        lanes = try number("lanes") ?? lanes
        trapEvery = try number("trap-every")
        if let kind = flags.trapKind {
            trapKind = kind
        } else if let kind = environment(Self.variable(for: "trap-kind")) {
            guard let parsed = TrapKind(rawValue: kind) else {
                throw WorkerError.persistent("JOBWORKER_TRAP_KIND wants one of \(TrapKind.allCases.map(\.rawValue)), got \"\(kind)\"")
            }
            trapKind = parsed
        }
        corruptAt = try number("corrupt-at")
        failTransientEvery = try number("fail-transient-every")
        failPersistentAt = try number("fail-persistent-at")
        blockExecutorAt = try number("block-executor-at")
        hogMainActorAt = try number("hog-main-actor-at")
        ignoreStop = flags.ignoreStop || Self.isOn(environment(Self.variable(for: "ignore-stop")))
        manualWatchdog = flags.manualWatchdog || Self.isOn(environment(Self.variable(for: "manual-watchdog")))
    }

    /// `JOBWORKER_TRAP_EVERY` for `trap-every`.
    static func variable(for flag: String) -> String {
        "JOBWORKER_" + String(flag.uppercased().map { $0 == "-" ? "_" : $0 })
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
