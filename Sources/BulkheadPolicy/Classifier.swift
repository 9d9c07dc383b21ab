/// SPEC §3: the worker's own rules first (first match wins), then the default table.
public enum Classifier {
    public static func classify(
        _ facts: DeathFacts, cause: StopCause?, stopSignal: Int32, rules: [ClassificationRule]
    ) -> Classification {
        if case .spawnFailed(let failure) = facts.termination {
            switch failure.kind {
            case .configuration:
                return Classification(.persistent, rule: "default: spawn failed (\(failure.stage): \(failure.reason))")
            case .resources:
                return Classification(.transient, rule: "default: spawn failed (\(failure.stage): \(failure.reason))")
            }
        }
        if let cause {
            switch cause {
            case .watchdog, .liveness:
                // bulkhead sends SIGQUIT, then SIGKILL. A process that died of a trap or a fault
                // instead crashed on its own, and a crashing Swift process is silent while its
                // backtracer writes the report, which can outlast a watchdog: a crash, not a hang.
                if case .signaled(let signal, _) = facts.termination, Signals.crashSignals.contains(signal), signal != 6 {   // SIGABRT: a handler of our SIGQUIT may abort
                    break
                }
                return cause == .watchdog ? Classification(.hang, rule: "default: watchdog missed, killed by bulkhead")
                    : Classification(.hang, rule: "liveness")
            case .startTimeout:
                return Classification(.transient, rule: "default: not ready within start_timeout")
            case .selfStop:
                // Expected, whatever the exit says, unless it crashed or asked for quarantine.
                let found = firstMatchingRule(facts, rules).map { Classification($0.result, rule: $0.label) } ?? defaultClassification(facts)
                if found.deathClass == .crash || found.deathClass == .corruption { return found }
                return Classification(.clean, rule: "default: exited after STOPPING=1 (expected)")
            case .operatorStop, .operatorRestart, .shutdown, .dependency, .reload, .removal, .leftover:
                // A stop we asked for is clean, however the process took it, unless it crashed
                // on the way out: that is a bug worth a report.
                if case .signaled(let signal, _) = facts.termination, signal != stopSignal,
                   Signals.crashSignals.contains(signal) {
                    break
                }
                return Classification(.clean, rule: "default: stopped by \(cause == .operatorStop || cause == .operatorRestart ? "the operator" : "bulkhead (\(cause.rawValue))")")
            }
        }
        if let matched = firstMatchingRule(facts, rules) {
            return Classification(matched.result, rule: matched.label)
        }
        if let crash = facts.runtimeCrash, crash.isCrash, !facts.killedForLimit, !facts.tasksLimitReached {
            // A panic exits 2 (Go) or 101 (Rust), an uncaught exception 1: read as a plain exit,
            // the crash-loop logic would treat a deterministic bug like a flaky network.
            return Classification(.crash, rule: "default: \(crash.runtime) \(crash.kind)")
        }
        return defaultClassification(facts)
    }

    static func firstMatchingRule(_ facts: DeathFacts, _ rules: [ClassificationRule]) -> ClassificationRule? {
        rules.first { rule in
            var constrained = false
            if !rule.exitCodes.isEmpty {
                constrained = true
                guard case .exited(let code) = facts.termination, rule.exitCodes.contains(code) else { return false }
            }
            if !rule.signals.isEmpty {
                constrained = true
                guard case .signaled(let signal, _) = facts.termination, rule.signals.contains(signal) else { return false }
            }
            if let needle = rule.stderrContains {
                constrained = true
                guard facts.stderrTail.contains(where: { $0.contains(needle) })
                        || (facts.fatalMessage?.contains(needle) ?? false) else { return false }
            }
            if let runtime = rule.runtime {
                constrained = true
                guard facts.runtimeCrash?.runtime == runtime else { return false }
            }
            if let kind = rule.crashKind {
                constrained = true
                guard let crash = facts.runtimeCrash, crash.kind == kind || crash.kind.hasPrefix(kind + ": ") else { return false }
            }
            if let needle = rule.messageContains {
                constrained = true
                let texts = [facts.runtimeCrash?.message, facts.fatalMessage, facts.headline]
                guard texts.contains(where: { $0?.contains(needle) ?? false }) else { return false }
            }
            return constrained
        }
    }

    static func defaultClassification(_ facts: DeathFacts) -> Classification {
        if facts.killedForLimit {
            return Classification(.limit, rule: "default: killed for a memory limit (OOM)")
        }
        let byTermination = classifyTermination(facts)
        // A refused fork explains an ordinary failure (exit 1, a runtime's "cannot create
        // thread"), not a crash signal or WorkerKit's corruption exit: those say more.
        if facts.tasksLimitReached, [.transient, .persistent].contains(byTermination.deathClass) {
            return Classification(.limit, rule: "default: reached limits.tasks (pids.max refused a fork or a thread)")
        }
        return byTermination
    }

    private static func classifyTermination(_ facts: DeathFacts) -> Classification {
        switch facts.termination {
        case .exited(let code):
            if code == 0 { return Classification(.clean, rule: "default: exit 0") }
            if code == ExitCodes.corruption {
                return Classification(.corruption, rule: "default: exit \(code) (WorkerKit corruption)")
            }
            if code == ExitCodes.temporaryFailure {
                return Classification(.transient, rule: "default: exit 75 (EX_TEMPFAIL)")
            }
            if ExitCodes.sysexits.contains(code) {
                return Classification(.persistent, rule: "default: exit \(code) (\(sysexitName(code)))")
            }
            return Classification(.transient, rule: "default: exit \(code)")
        case .signaled(let signal, _):
            let name = Signals.name(signal)
            if Signals.crashSignals.contains(signal) {
                return Classification(.crash, rule: "default: signal \(name)")
            }
            if Signals.limitSignals.contains(signal) {
                return Classification(.limit, rule: "default: signal \(name) (resource limit)")
            }
            return Classification(.transient, rule: "default: signal \(name)")
        case .spawnFailed:
            return Classification(.persistent, rule: "default: spawn failed")
        case .unknown:
            return Classification(.transient, rule: "default: exit status unknown (an adopted process, not bulkhead's child)")
        }
    }

    static func sysexitName(_ code: Int32) -> String {
        let names: [Int32: String] = [
            64: "EX_USAGE", 65: "EX_DATAERR", 66: "EX_NOINPUT", 67: "EX_NOUSER", 68: "EX_NOHOST",
            69: "EX_UNAVAILABLE", 70: "EX_SOFTWARE", 71: "EX_OSERR", 72: "EX_OSFILE", 73: "EX_CANTCREAT",
            74: "EX_IOERR", 75: "EX_TEMPFAIL", 76: "EX_PROTOCOL", 77: "EX_NOPERM", 78: "EX_CONFIG",
        ]
        return names[code] ?? "sysexits"
    }
}
