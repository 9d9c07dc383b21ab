import Testing
@testable import BulkheadPolicy

@Suite("Classification (SPEC §3)")
struct ClassifierTests {
    static func classify(
        _ facts: DeathFacts, cause: StopCause? = nil, stopSignal: Int32 = Signals.terminate, rules: [ClassificationRule] = []
    ) -> Classification {
        Classifier.classify(facts, cause: cause, stopSignal: stopSignal, rules: rules)
    }

    static func sig(_ name: String) -> Int32 {
        guard let n = Signals.number(name) else { fatalError("unknown signal \(name)") }
        return n
    }

    // MARK: - The default table, row by row

    @Test("exit 0 → clean")
    func exitZero() {
        #expect(Self.classify(.exit(0)) == Classification(.clean, rule: "default: exit 0"))
    }

    @Test("exit 75 (EX_TEMPFAIL) → transient")
    func tempfail() {
        #expect(Self.classify(.exit(75)) == Classification(.transient, rule: "default: exit 75 (EX_TEMPFAIL)"))
    }

    @Test("exit 64–78 except 75 (sysexits) → persistent", arguments: Array(Int32(64)...78).filter { $0 != 75 })
    func sysexits(code: Int32) {
        let c = Self.classify(.exit(code))
        #expect(c.deathClass == .persistent)
        #expect(c.rule.hasPrefix("default: exit \(code) (EX_"))
    }

    @Test("sysexit names in the rule label", arguments: [(Int32(64), "EX_USAGE"), (70, "EX_SOFTWARE"), (77, "EX_NOPERM"), (78, "EX_CONFIG")])
    func sysexitNames(code: Int32, name: String) {
        #expect(Self.classify(.exit(code)).rule == "default: exit \(code) (\(name))")
    }

    @Test("exit 86 (WorkerKit's corruption exit) → corruption")
    func corruptionExit() {
        #expect(ExitCodes.corruption == 86)
        #expect(Self.classify(.exit(86)) == Classification(.corruption, rule: "default: exit 86 (WorkerKit corruption)"))
    }

    @Test("other non-zero exits → transient", arguments: [Int32(1), 2, 3, 63, 79, 85, 87, 126, 127, 137, 255, -1])
    func otherExits(code: Int32) {
        #expect(Self.classify(.exit(code)) == Classification(.transient, rule: "default: exit \(code)"))
    }

    @Test("every crash signal → crash", arguments: ["ILL", "TRAP", "ABRT", "SEGV", "BUS", "FPE", "SYS"])
    func crashSignals(name: String) {
        for core in [false, true] {
            #expect(Self.classify(.signal(Self.sig(name), core: core)) == Classification(.crash, rule: "default: signal \(name)"))
        }
    }

    @Test("XCPU and XFSZ (RLIMIT_CPU, RLIMIT_FSIZE) → limit", arguments: ["XCPU", "XFSZ"])
    func limitSignals(name: String) {
        #expect(Self.classify(.signal(Self.sig(name))) == Classification(.limit, rule: "default: signal \(name) (resource limit)"))
    }

    @Test("other signals → transient", arguments: ["HUP", "INT", "QUIT", "KILL", "USR1", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "VTALRM", "PROF", "IO", "PWR"])
    func otherSignals(name: String) {
        #expect(Self.classify(.signal(Self.sig(name))) == Classification(.transient, rule: "default: signal \(name)"))
    }

    @Test("a real-time signal → transient, named RTMIN+n")
    func realtimeSignal() {
        #expect(Self.classify(.signal(36)) == Classification(.transient, rule: "default: signal RTMIN+2"))
    }

    @Test("killed for a limit (OOM) → limit, whatever the kernel's signal")
    func oom() {
        var facts = DeathFacts.signal(Signals.kill)
        facts.killedForLimit = true
        #expect(Self.classify(facts) == Classification(.limit, rule: "default: killed for a memory limit (OOM)"))
        var exited = DeathFacts.exit(137)
        exited.killedForLimit = true
        #expect(Self.classify(exited).deathClass == .limit)
    }

    @Test("killed after a missed watchdog → hang, unless it died of a trap or fault of its own")
    func watchdog() {
        for facts in [DeathFacts.signal(Signals.kill), .signal(Signals.quit, core: true), .exit(0), .signal(6)] {
            #expect(Self.classify(facts, cause: .watchdog) == Classification(.hang, rule: "default: watchdog missed, killed by bulkhead"))
            #expect(Self.classify(facts, cause: .liveness) == Classification(.hang, rule: "liveness"))
        }
        // A Swift trap whose backtracer outlasted the watchdog: the trap came first.
        for signal: Int32 in [4, 5, 11] {
            #expect(Self.classify(.signal(signal), cause: .watchdog) == Classification(.crash, rule: "default: signal \(Signals.name(signal))"))
        }
    }

    @Test("not ready within start_timeout → transient")
    func startTimeout() {
        for facts in [DeathFacts.signal(Signals.terminate), .signal(Signals.kill), .exit(0)] {
            #expect(Self.classify(facts, cause: .startTimeout) == Classification(.transient, rule: "default: not ready within start_timeout"))
        }
    }

    @Test("a requested stop is clean however the process took it", arguments: [
        StopCause.operatorStop, .operatorRestart, .shutdown, .dependency, .reload, .removal,
    ])
    func requestedStopClean(cause: StopCause) {
        for facts in [DeathFacts.signal(Signals.terminate), .signal(Signals.kill), .exit(0), .exit(1), .exit(78), .exit(86), .signal(Signals.interrupt)] {
            #expect(Self.classify(facts, cause: cause).deathClass == .clean, "\(facts.termination) during \(cause)")
        }
    }

    @Test("the rule label says who stopped it")
    func requestedStopLabels() {
        #expect(Self.classify(.signal(15), cause: .operatorStop).rule == "default: stopped by the operator")
        #expect(Self.classify(.signal(15), cause: .operatorRestart).rule == "default: stopped by the operator")
        #expect(Self.classify(.signal(15), cause: .shutdown).rule == "default: stopped by bulkhead (shutdown)")
        #expect(Self.classify(.signal(15), cause: .reload).rule == "default: stopped by bulkhead (reload)")
    }

    @Test("a crash signal during a requested stop is a crash", arguments: ["ILL", "TRAP", "ABRT", "SEGV", "BUS", "FPE", "SYS"])
    func crashDuringStop(name: String) {
        #expect(Self.classify(.signal(Self.sig(name)), cause: .operatorStop) == Classification(.crash, rule: "default: signal \(name)"))
        #expect(Self.classify(.signal(Self.sig(name)), cause: .shutdown).deathClass == .crash)
    }

    @Test("a crash signal that is the configured stop signal is clean during a stop")
    func crashSignalAsStopSignal() {
        #expect(Self.classify(.signal(Self.sig("ABRT")), cause: .operatorStop, stopSignal: Self.sig("ABRT")).deathClass == .clean)
    }

    @Test("spawn failed for configuration → persistent; for resources → transient")
    func spawnFailures() {
        let config = SpawnFailure(kind: .configuration, stage: "exec", reason: "ENOENT")
        let resources = SpawnFailure(kind: .resources, stage: "fork", reason: "EAGAIN")
        #expect(Self.classify(DeathFacts(termination: .spawnFailed(config)))
                == Classification(.persistent, rule: "default: spawn failed (exec: ENOENT)"))
        #expect(Self.classify(DeathFacts(termination: .spawnFailed(resources)))
                == Classification(.transient, rule: "default: spawn failed (fork: EAGAIN)"))
    }

    // MARK: - The worker's rules

    static func rule(
        exit: [Int32] = [], signals: [String] = [], stderr: String? = nil, _ result: DeathClass, _ label: String
    ) -> ClassificationRule {
        ClassificationRule(exitCodes: exit, signals: signals.map(sig), stderrContains: stderr, result: result, label: label)
    }

    @Test("rules come before the default table", arguments: [
        (DeathFacts.exit(75), DeathClass.corruption),          // EX_TEMPFAIL by default
        (.signal(7), .corruption),                              // crash by default
        (.exit(0), .transient),                                 // clean by default
        (.exit(78), .transient),                                // persistent by default
    ])
    func rulesFirst(facts: DeathFacts, expected: DeathClass) {
        let rules = [
            Self.rule(exit: [75], .corruption, "rules[0]"),
            Self.rule(signals: ["BUS"], .corruption, "rules[1]"),
            Self.rule(exit: [0, 78], .transient, "rules[2]"),
        ]
        #expect(Self.classify(facts, rules: rules).deathClass == expected)
    }

    @Test("signal rule: matches the signal only, never an exit code with the same number")
    func signalRule() {
        let rules = [Self.rule(signals: ["BUS", "SEGV"], .corruption, "rules[0]")]
        #expect(Self.classify(.signal(7), rules: rules) == Classification(.corruption, rule: "rules[0]"))
        #expect(Self.classify(.signal(11), rules: rules) == Classification(.corruption, rule: "rules[0]"))
        #expect(Self.classify(.exit(7), rules: rules) == Classification(.transient, rule: "default: exit 7"))
        #expect(Self.classify(.signal(6), rules: rules) == Classification(.crash, rule: "default: signal ABRT"))
    }

    @Test("exit_code rule: never matches a signal death")
    func exitRule() {
        let rules = [Self.rule(exit: [11], .persistent, "rules[0]")]
        #expect(Self.classify(.exit(11), rules: rules) == Classification(.persistent, rule: "rules[0]"))
        #expect(Self.classify(.signal(11), rules: rules).deathClass == .crash)
    }

    @Test("stderr rule: a substring of any stderr line, or of the fatal message")
    func stderrRule() {
        let rules = [Self.rule(stderr: "database disk image is malformed", .corruption, "rules[0]")]
        let inTail = DeathFacts(termination: .exited(code: 1), stderrTail: ["open db", "Error: database disk image is malformed (11)", "bye"])
        let inFatal = DeathFacts(termination: .signaled(signal: 4, coreDumped: true),
                                 fatalMessage: "Fatal error: database disk image is malformed")
        let absent = DeathFacts(termination: .exited(code: 1), stderrTail: ["database disk image is fine"])
        let split = DeathFacts(termination: .exited(code: 1), stderrTail: ["database disk", "image is malformed"])
        #expect(Self.classify(inTail, rules: rules) == Classification(.corruption, rule: "rules[0]"))
        #expect(Self.classify(inFatal, rules: rules) == Classification(.corruption, rule: "rules[0]"))
        #expect(Self.classify(absent, rules: rules) == Classification(.transient, rule: "default: exit 1"))
        #expect(Self.classify(split, rules: rules).deathClass == .transient, "a match is within one line")
    }

    @Test("combined conditions: every condition given must hold")
    func combined() {
        let rules = [Self.rule(exit: [1, 2], stderr: "lock held", .transient, "rules[0]")]
        func facts(_ code: Int32, _ line: String) -> DeathFacts {
            DeathFacts(termination: .exited(code: code), stderrTail: [line])
        }
        #expect(Self.classify(facts(1, "lock held by 42"), rules: rules) == Classification(.transient, rule: "rules[0]"))
        #expect(Self.classify(facts(2, "lock held"), rules: rules).rule == "rules[0]")
        #expect(Self.classify(facts(1, "other"), rules: rules).rule == "default: exit 1")
        #expect(Self.classify(facts(3, "lock held"), rules: rules).rule == "default: exit 3")
        let sigAndText = [Self.rule(signals: ["ABRT"], stderr: "checksum", .corruption, "rules[0]")]
        let abrt = DeathFacts(termination: .signaled(signal: 6, coreDumped: true), stderrTail: ["checksum mismatch"])
        let abrtPlain = DeathFacts(termination: .signaled(signal: 6, coreDumped: true), stderrTail: ["oops"])
        #expect(Self.classify(abrt, rules: sigAndText).deathClass == .corruption)
        #expect(Self.classify(abrtPlain, rules: sigAndText).deathClass == .crash)
        // exit_code and signal together can never both hold.
        let impossible = [Self.rule(exit: [6], signals: ["ABRT"], .corruption, "rules[0]")]
        #expect(Self.classify(.signal(6), rules: impossible).deathClass == .crash)
        #expect(Self.classify(.exit(6), rules: impossible).deathClass == .transient)
    }

    @Test("first match wins, and its label is reported")
    func firstMatchWins() {
        let rules = [
            Self.rule(stderr: "nothing like this", .persistent, "rules[0]"),
            Self.rule(exit: [3], .corruption, "rules[1]"),
            Self.rule(exit: [3], .transient, "rules[2]"),
            Self.rule(stderr: "x", .hang, "rules[3]"),
        ]
        let facts = DeathFacts(termination: .exited(code: 3), stderrTail: ["x"])
        #expect(Self.classify(facts, rules: rules) == Classification(.corruption, rule: "rules[1]"))
    }

    @Test("a rule with no condition matches nothing")
    func emptyRule() {
        let rules = [Self.rule(.corruption, "rules[0]")]
        #expect(Self.classify(.exit(1), rules: rules) == Classification(.transient, rule: "default: exit 1"))
    }

    @Test("rules do not reclassify a requested stop, a watchdog kill or a failed spawn")
    func rulesDoNotOverrideCauses() {
        let rules = [Self.rule(signals: ["TERM", "KILL"], .corruption, "rules[0]")]
        #expect(Self.classify(.signal(15), cause: .operatorStop, rules: rules).deathClass == .clean)
        #expect(Self.classify(.signal(9), cause: .watchdog, rules: rules).deathClass == .hang)
        let spawn = DeathFacts(termination: .spawnFailed(SpawnFailure(kind: .resources, stage: "fork", reason: "EAGAIN")))
        #expect(Self.classify(spawn, rules: [Self.rule(stderr: "", .corruption, "rules[0]")]).deathClass == .transient)
    }

    @Test("rules apply to a crash during a requested stop")
    func rulesOnCrashDuringStop() {
        let rules = [Self.rule(signals: ["BUS"], .corruption, "rules[0]")]
        #expect(Self.classify(.signal(7), cause: .operatorStop, rules: rules) == Classification(.corruption, rule: "rules[0]"))
    }

    // MARK: - Recognised runtime crashes (issue 16)

    static let goPanic = DeathFacts(termination: .exited(code: 2), headline: "Go panic: runtime error: index out of range [5] with length 3 at main.pick (main.go:12)",
                                    runtimeCrash: RuntimeCrash(runtime: "go", kind: "panic", isCrash: true,
                                                               message: "runtime error: index out of range [5] with length 3"))

    @Test("a recognised panic is a crash whatever the exit code")
    func recognisedPanicIsACrash() {
        #expect(Self.classify(Self.goPanic) == Classification(.crash, rule: "default: go panic"))
        // What only says more about a death (a C abort message) leaves it to its signal or exit.
        let abort = DeathFacts(termination: .exited(code: 1), runtimeCrash: RuntimeCrash(runtime: "c", kind: "abort", isCrash: false))
        #expect(Self.classify(abort) == Classification(.transient, rule: "default: exit 1"))
    }

    @Test("a rule on runtime, kind or message overrides the default class of a recognised crash")
    func rulesOnTheRecognisedCrash() {
        let byRuntimeAndKind = ClassificationRule(runtime: "go", crashKind: "panic", result: .transient, label: "rules[0]")
        #expect(Self.classify(Self.goPanic, rules: [byRuntimeAndKind]) == Classification(.transient, rule: "rules[0]"))
        let otherKind = ClassificationRule(runtime: "go", crashKind: "fatal error", result: .transient, label: "rules[0]")
        #expect(Self.classify(Self.goPanic, rules: [otherKind]).rule == "default: go panic")
        let otherRuntime = ClassificationRule(runtime: "rust", result: .transient, label: "rules[0]")
        #expect(Self.classify(Self.goPanic, rules: [otherRuntime]).rule == "default: go panic")
        let byMessage = ClassificationRule(messageContains: "index out of range", result: .persistent, label: "rules[0]")
        #expect(Self.classify(Self.goPanic, rules: [byMessage]) == Classification(.persistent, rule: "rules[0]"))
        let byHeadline = ClassificationRule(messageContains: "main.pick", result: .persistent, label: "rules[0]")
        #expect(Self.classify(Self.goPanic, rules: [byHeadline]).deathClass == .persistent)
        // Every condition must hold.
        let withExit = ClassificationRule(exitCodes: [1], runtime: "go", result: .transient, label: "rules[0]")
        #expect(Self.classify(Self.goPanic, rules: [withExit]).rule == "default: go panic")
        // With nothing recognised, a runtime or kind rule does not match.
        #expect(Self.classify(.exit(2), rules: [byRuntimeAndKind]).rule == "default: exit 2")
    }

    @Test("a kind matches its family: sanitizer matches sanitizer: heap-use-after-free")
    func kindFamily() {
        let asan = DeathFacts(termination: .exited(code: 1),
                              runtimeCrash: RuntimeCrash(runtime: "c", kind: "sanitizer: heap-use-after-free", isCrash: true))
        let family = ClassificationRule(crashKind: "sanitizer", result: .corruption, label: "rules[0]")
        #expect(Self.classify(asan, rules: [family]).deathClass == .corruption)
        let prefixOnly = ClassificationRule(crashKind: "sanit", result: .corruption, label: "rules[0]")
        #expect(Self.classify(asan, rules: [prefixOnly]).deathClass == .crash)
    }

    @Test("death classes: journal priority and severity order")
    func priorities() {
        #expect(DeathClass.allCases.map(\.priority) == [6, 4, 2, 1, 3, 3, 3])
        let bySeverity = DeathClass.allCases.sorted { $0.severity < $1.severity }
        #expect(bySeverity == [.clean, .transient, .limit, .hang, .crash, .persistent, .corruption])
    }

    @Test("a refused fork (limits.tasks) explains an ordinary failure, not a crash signal or a corruption exit")
    func tasksLimit() {
        func reached(_ facts: DeathFacts) -> DeathFacts {
            var facts = facts
            facts.tasksLimitReached = true
            return facts
        }
        #expect(Self.classify(reached(.exit(1))).deathClass == .limit)
        #expect(Self.classify(reached(.exit(64))).deathClass == .limit)
        #expect(Self.classify(reached(.exit(0))).deathClass == .clean)
        #expect(Self.classify(reached(.exit(ExitCodes.corruption))).deathClass == .corruption)
        #expect(Self.classify(reached(.signal(11))).deathClass == .crash)
    }
}
