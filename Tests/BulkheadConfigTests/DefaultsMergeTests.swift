import BulkheadConfig
import BulkheadPolicy
import Testing

@Suite("defaults merged into workers")
struct DefaultsMergeTests {
    @Test func withoutDefaultsEveryWorkerGetsTheBuiltInValues() throws {
        let config = try load("workers:\n  - name: w\n    command: [/bin/true]\n")
        #expect(config.workers == [WorkerSpec(name: "w", command: ["/bin/true"], sourceLine: 2)])
        #expect(config.control == ControlConfig())
        #expect(config.stateDir == "/var/lib/bulkhead")
        #expect(config.control.socket == nil)
    }

    @Test func nestedMapsMergeKeyByKey() throws {
        let config = try load("""
            defaults:
              backoff: { initial: 1s, max: 1m, jitter: 0 }
              crash_loop: { window: 2m, same_crash: 0 }
              stop: { signal: INT, timeout: 3s }
              limits: { memory: 1GiB, open_files: 1024, core: 0 }
            workers:
              - name: w
                command: [/bin/true]
                backoff: { max: 5m }
                crash_loop: { max_restarts: 4 }
                stop: { timeout: 30s }
                limits: { open_files: 65536, cpu_time: 1500ms }
              - name: v
                command: [/bin/true]
            """)
        let w = try #require(config.worker(named: "w"))
        #expect(w.backoff == BackoffPolicy(initial: .seconds(1), max: .seconds(300), multiplier: 2.0, jitter: 0, resetAfter: .seconds(60)))
        #expect(w.crashLoop == CrashLoopPolicy(maxRestarts: 4, window: .seconds(120), cooldown: .seconds(300), sameCrash: 0))
        #expect(w.stop == StopPolicy(signal: Signals.interrupt, timeout: .seconds(30)))
        #expect(w.limits == ResourceLimits(memory: 1 << 30, openFiles: 65536, coreSize: 0, cpuSeconds: 2))
        let v = try #require(config.worker(named: "v"))
        #expect(v.backoff == BackoffPolicy(initial: .seconds(1), max: .seconds(60), jitter: 0))
        #expect(v.stop == StopPolicy(signal: Signals.interrupt, timeout: .seconds(3)))
        #expect(v.limits == ResourceLimits(memory: 1 << 30, openFiles: 1024, coreSize: 0))
    }

    @Test func scalarsOverrideAndNullUnsets() throws {
        let config = try load("""
            defaults:
              restart: always
              ready: notify
              watchdog: 10s
              user: nobody
              cwd: /srv
              backtrace: false
              start_timeout: 5s
              watchdog_grace: 0s
              strategy: one_for_all
              limits: { memory: 1GiB, processes: 64 }
            workers:
              - name: w
                command: [/bin/true]
                restart: never
                ready: 250ms
                watchdog: ~
                user:
                limits: { memory: unlimited, processes: unlimited }
              - name: v
                command: [/bin/true]
            """)
        let w = try #require(config.worker(named: "w"))
        #expect(w.restart == .never)
        #expect(w.ready == .after(.milliseconds(250)))
        #expect(w.watchdog == nil)
        #expect(w.user == nil)
        #expect(w.cwd == "/srv")
        #expect(w.backtrace == false)
        #expect(w.startTimeout == .seconds(5))
        #expect(w.watchdogGrace == .zero)
        #expect(w.strategy == .oneForAll)
        #expect(w.limits == ResourceLimits(memory: nil, processes: .max))
        let v = try #require(config.worker(named: "v"))
        #expect(v.restart == .always)
        #expect(v.ready == .notify)
        #expect(v.watchdog == .seconds(10))
        #expect(v.user == "nobody")
        #expect(v.limits == ResourceLimits(memory: 1 << 30, processes: 64))
    }

    @Test func envMergesByKeyAndTheWorkerWins() throws {
        let config = try load("""
            defaults:
              env: { A: one, B: two, C: 3 }
            workers:
              - name: w
                command: [/bin/true]
                env:
                  B: mine
                  D: true
                  E: 1.50
                  F: ""
              - name: v
                command: [/bin/true]
            """)
        #expect(config.workers[0].env == [
            EnvironmentEntry("A", "one"), EnvironmentEntry("C", "3"),
            EnvironmentEntry("B", "mine"), EnvironmentEntry("D", "true"), EnvironmentEntry("E", "1.50"), EnvironmentEntry("F", ""),
        ])
        #expect(config.workers[1].env == [EnvironmentEntry("A", "one"), EnvironmentEntry("B", "two"), EnvironmentEntry("C", "3")])
    }

    @Test func workerRulesComeBeforeDefaultRules() throws {
        let config = try load("""
            defaults:
              rules:
                - when: { exit_code: 86 }
                  then: corruption
                - when: { signal: [SIGUSR1, 12], stderr: "oom" }
                  then: limit
            workers:
              - name: w
                command: [/bin/true]
                rules:
                  - when: { exit_code: [75, 69] }
                    then: transient
              - name: v
                command: [/bin/true]
            """)
        let defaults = [
            ClassificationRule(exitCodes: [86], result: .corruption, label: "defaults.rules[0]: exit_code [86]"),
            ClassificationRule(signals: [10, 12], stderrContains: "oom", result: .limit,
                               label: #"defaults.rules[1]: signal [USR1, USR2], stderr "oom""#),
        ]
        #expect(config.workers[0].rules == [
            ClassificationRule(exitCodes: [75, 69], result: .transient, label: "rules[0]: exit_code [75, 69]"),
        ] + defaults)
        #expect(config.workers[1].rules == defaults)
    }

    /// Issue 16: a rule on the crash bulkhead recognised in the output overrides the default
    /// class of a recognised crash (`crash`).
    @Test func rulesOnTheRecognisedCrash() throws {
        let config = try load("""
            workers:
              - name: w
                command: [/bin/true]
                rules:
                  - when: { runtime: go, kind: panic }
                    then: transient
                  - when: { runtime: "c++", message: "ledger checksum" }
                    then: corruption
                  - when: { kind: sanitizer, exit_code: 1 }
                    then: persistent
            """)
        #expect(config.workers[0].rules == [
            ClassificationRule(runtime: "go", crashKind: "panic", result: .transient, label: #"rules[0]: runtime go, kind "panic""#),
            ClassificationRule(runtime: "c++", messageContains: "ledger checksum", result: .corruption,
                               label: #"rules[1]: runtime c++, message "ledger checksum""#),
            ClassificationRule(exitCodes: [1], crashKind: "sanitizer", result: .persistent, label: #"rules[2]: exit_code [1], kind "sanitizer""#),
        ])
    }

    @Test func aConflictCausedByDefaultsIsReportedOnceAtDefaults() {
        let yaml = """
            defaults:
              backoff: { initial: 1m }
            workers:
              - name: a
                command: [/bin/true]
              - name: b
                command: [/bin/true]
              - name: c
                command: [/bin/true]
                backoff: { max: 2m }
              - name: d
                command: [/bin/true]
                backoff: { max: 10s }
            """
        #expect(problems(yaml) == [
            "bulkhead.yaml:2: defaults.backoff.initial: initial (1m) is more than max (30s)",
            "bulkhead.yaml:13: workers[3].backoff.max: max (10s) is less than initial (1m)",
        ])
    }

    @Test func anErrorInDefaultsIsReportedOnce() {
        let yaml = """
            defaults:
              stop: { timeout: soon }
            workers:
              - name: a
                command: [/bin/true]
              - name: b
                command: [/bin/true]
            """
        #expect(problems(yaml) == [
            #"bulkhead.yaml:2: defaults.stop.timeout: "soon" is not a duration (use e.g. 250ms, 10s, 5m, 1h)"#,
        ])
    }

    @Test func yamlAnchorsAndMergeKeys() throws {
        let config = try load("""
            x-env: &env
              A: from-anchor
              B: from-anchor
            x-fast: &fast
              backoff: { initial: 10ms }
              restart: always
            workers:
              - name: w
                <<: *fast
                command: [/bin/true]
                restart: never
                env:
                  <<: *env
                  B: own
            """)
        let w = config.workers[0]
        #expect(w.restart == .never)
        #expect(w.backoff.initial == .milliseconds(10))
        #expect(w.env == [EnvironmentEntry("A", "from-anchor"), EnvironmentEntry("B", "own")])
    }

    @Test func anErrorInAnAnchorNamesTheAnchorsLineAndTheKeyWhereItIsUsed() {
        let yaml = """
            x-fast: &fast
              restart: alwys
            workers:
              - name: w
                command: [/bin/true]
                <<: *fast
            """
        #expect(problems(yaml) == [
            #"bulkhead.yaml:2: workers[0].restart: "alwys" is not one of always, on-failure, never (did you mean "always"?)"#,
        ])
    }
}

@Suite("merge keys stay linear")
struct MergeBombTests {
    @Test func anchorsMergedTwicePerLevelAreExpandedOnce() throws {
        // Every level merges the previous one twice: 2^40 visits if expanded naively.
        var yaml = "x-0: &a0 { A: 1 }\n"
        for level in 1...40 {
            yaml += "x-\(level): &a\(level) { <<: [*a\(level - 1), *a\(level - 1)], K\(level): \(level) }\n"
        }
        yaml += "workers:\n  - name: w\n    command: [/bin/true]\n    env: { <<: *a40 }\n"
        let config = try load(yaml)
        #expect(config.workers[0].env.count == 41)
        // In file order: what `<<` brings in sits where the `<<` is, before the level's own key.
        #expect(config.workers[0].env.first == EnvironmentEntry("A", "1"))
        #expect(config.workers[0].env.last == EnvironmentEntry("K40", "40"))
    }
}
