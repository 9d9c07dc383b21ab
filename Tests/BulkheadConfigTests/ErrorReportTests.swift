import BulkheadConfig
import BulkheadPolicy
import Testing

/// One config and the exact errors it must produce.
struct ErrorCase: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let expected: [String]

    init(_ name: String, _ yaml: String, _ expected: String...) {
        self.name = name
        self.yaml = yaml
        self.expected = expected
    }

    var testDescription: String { name }
}

@Suite("Each error names file, line and key")
struct ErrorReportTests {
    static let unknownKeys: [ErrorCase] = [
        ErrorCase("misspelt worker key", oneWorker("    backof: { initial: 1s }"),
                  #"bulkhead.yaml:4: workers[0].backof: unknown key (did you mean "backoff"?)"#),
        ErrorCase("misspelt nested key", oneWorker("    backoff:", "      initail: 1s"),
                  #"bulkhead.yaml:5: workers[0].backoff.initail: unknown key (did you mean "initial"?)"#),
        ErrorCase("misspelt top-level key", "state_dri: /srv\nworkers: []\n",
                  #"bulkhead.yaml:1: state_dri: unknown key (did you mean "state_dir"?)"#),
        ErrorCase("case only", oneWorker("    Restart: always"),
                  #"bulkhead.yaml:4: workers[0].Restart: unknown key (did you mean "restart"?)"#),
        ErrorCase("nothing close", oneWorker("    stop: { signal: TERM, wait: 5s }"),
                  "bulkhead.yaml:4: workers[0].stop.wait: unknown key (known keys: signal, timeout)"),
        ErrorCase("rule key", oneWorker("    rules:", "      - when: { exit: 1 }", "        then: crash"),
                  "bulkhead.yaml:5: workers[0].rules[0].when.exit: unknown key (known keys: exit_code, signal, stderr, runtime, kind, message)"),
        ErrorCase("worker-only key in defaults", "defaults:\n  instances: 2\nworkers: []\n",
                  "bulkhead.yaml:2: defaults.instances: instances belongs to each worker and cannot be set in defaults"),
    ]

    static let types: [ErrorCase] = [
        ErrorCase("word for a number", oneWorker("    instances: two"),
                  #"bulkhead.yaml:4: workers[0].instances: "two" is not a whole number"#),
        ErrorCase("quoted number", oneWorker(#"    instances: "2""#),
                  #"bulkhead.yaml:4: workers[0].instances: expected a whole number, got the string "2" (remove the quotes)"#),
        ErrorCase("fraction for a whole number", oneWorker("    crash_loop: { max_restarts: 2.5 }"),
                  #"bulkhead.yaml:4: workers[0].crash_loop.max_restarts: "2.5" is not a whole number"#),
        ErrorCase("list for a mapping", oneWorker("    env: [A, B]"),
                  "bulkhead.yaml:4: workers[0].env: expected a mapping, got a list"),
        ErrorCase("mapping for a scalar", oneWorker("    restart: { always: true }"),
                  "bulkhead.yaml:4: workers[0].restart: expected one of always, on-failure, never, got a mapping"),
        ErrorCase("not a bool", oneWorker("    backtrace: maybe"),
                  #"bulkhead.yaml:4: workers[0].backtrace: "maybe" is not true or false"#),
        ErrorCase("no value", oneWorker("    restart:"),
                  "bulkhead.yaml:4: workers[0].restart: needs a value (one of always, on-failure, never)"),
        ErrorCase("command as a string", "workers:\n  - name: w\n    command: /bin/true --flag\n",
                  #"bulkhead.yaml:3: workers[0].command: expected a list (e.g. [/usr/local/bin/api, --port, "8080"]), got "/bin/true --flag""#),
        ErrorCase("workers as a mapping", "workers: { api: 1 }\n",
                  "bulkhead.yaml:1: workers: expected a list of workers, got a mapping"),
        ErrorCase("a worker as a string", "workers:\n  - api\n",
                  #"bulkhead.yaml:2: workers[0]: expected a mapping, got "api""#),
        ErrorCase("document is a list", "- a\n- b\n",
                  "bulkhead.yaml:1: expected a mapping, got a list"),
        ErrorCase("number not a number", oneWorker("    backoff: { multiplier: .inf }"),
                  #"bulkhead.yaml:4: workers[0].backoff.multiplier: ".inf" is not a number"#),
    ]

    static let values: [ErrorCase] = [
        ErrorCase("duration without a unit", oneWorker("    stop: { timeout: 10 }"),
                  #"bulkhead.yaml:4: workers[0].stop.timeout: "10" is not a duration: add a unit (e.g. 10s or 10ms)"#),
        ErrorCase("duration in words", oneWorker("    backoff:", "      initial: 10 seconds"),
                  #"bulkhead.yaml:5: workers[0].backoff.initial: "10 seconds" is not a duration (use e.g. 250ms, 10s, 5m, 1h)"#),
        ErrorCase("size in words", oneWorker("    limits: { memory: 512 megs }"),
                  #"bulkhead.yaml:4: workers[0].limits.memory: "512 megs" is not a size (use e.g. 512MiB, 2GiB, 4096)"#),
        ErrorCase("zero instances", oneWorker("    instances: 0"),
                  "bulkhead.yaml:4: workers[0].instances: must be at least 1 (got 0)"),
        ErrorCase("multiplier below 1", oneWorker("    backoff: { multiplier: 0.5 }"),
                  "bulkhead.yaml:4: workers[0].backoff.multiplier: must be at least 1 (got 0.5): below 1 the delays would shrink"),
        ErrorCase("jitter above 1", oneWorker("    backoff: { jitter: 1.5 }"),
                  "bulkhead.yaml:4: workers[0].backoff.jitter: must be between 0 and 1 (got 1.5): it is a fraction of the delay"),
        ErrorCase("negative jitter", oneWorker("    backoff: { jitter: -0.1 }"),
                  "bulkhead.yaml:4: workers[0].backoff.jitter: must be between 0 and 1 (got -0.1): it is a fraction of the delay"),
        ErrorCase("max below initial", oneWorker("    backoff:", "      initial: 10s", "      max: 1s"),
                  "bulkhead.yaml:6: workers[0].backoff.max: max (1s) is less than initial (10s)"),
        ErrorCase("zero max_restarts", oneWorker("    crash_loop: { max_restarts: 0 }"),
                  "bulkhead.yaml:4: workers[0].crash_loop.max_restarts: must be at least 1 (got 0)"),
        ErrorCase("zero window", oneWorker("    crash_loop: { window: 0 }"),
                  "bulkhead.yaml:4: workers[0].crash_loop.window: must be more than 0"),
        ErrorCase("negative same_crash", oneWorker("    crash_loop: { same_crash: -1 }"),
                  "bulkhead.yaml:4: workers[0].crash_loop.same_crash: must be at least 0 (got -1)"),
        ErrorCase("restart misspelt", oneWorker("    restart: on_failure"),
                  #"bulkhead.yaml:4: workers[0].restart: "on_failure" is not one of always, on-failure, never (did you mean "on-failure"?)"#),
        ErrorCase("strategy unknown", oneWorker("    strategy: one-for-one"),
                  #"bulkhead.yaml:4: workers[0].strategy: "one-for-one" is not one of one_for_one, rest_for_one, one_for_all (did you mean "one_for_one"?)"#),
        ErrorCase("strategy far off", oneWorker("    strategy: all_for_one"),
                  #"bulkhead.yaml:4: workers[0].strategy: "all_for_one" is not one of one_for_one, rest_for_one, one_for_all"#),
        ErrorCase("ready misspelt", oneWorker("    ready: notfy"),
                  #"bulkhead.yaml:4: workers[0].ready: "notfy" is not notify, spawn or a duration (e.g. 2s) (did you mean "notify"?)"#),
        ErrorCase("stop signal unknown", oneWorker("    stop: { signal: SIGTREM }"),
                  #"bulkhead.yaml:4: workers[0].stop.signal: "SIGTREM" is not a signal (use a name like TERM or SIGINT, or a number) (did you mean "TERM"?)"#),
        ErrorCase("relative cwd", oneWorker("    cwd: srv/api"),
                  #"bulkhead.yaml:4: workers[0].cwd: "srv/api" is not an absolute path (it must start with /)"#),
        ErrorCase("bad env name", oneWorker("    env: { 1BAD: x }"),
                  #"bulkhead.yaml:4: workers[0].env.1BAD: "1BAD" is not a valid environment variable name (letters, digits and _, not starting with a digit)"#),
        ErrorCase("reserved env name", oneWorker("    env:", "      NOTIFY_SOCKET: /tmp/x"),
                  "bulkhead.yaml:5: workers[0].env.NOTIFY_SOCKET: NOTIFY_SOCKET is set by bulkhead for every instance and cannot be set in env"),
        ErrorCase("env without a value", oneWorker("    env:", "      EMPTY:"),
                  #"bulkhead.yaml:5: workers[0].env.EMPTY: needs a value (write "" for an empty string)"#),
        ErrorCase("open_files unlimited", oneWorker("    limits: { open_files: unlimited }"),
                  #"bulkhead.yaml:4: workers[0].limits.open_files: "unlimited" is not a whole number"#),
        ErrorCase("zero memory", oneWorker("    limits: { memory: 0 }"),
                  "bulkhead.yaml:4: workers[0].limits.memory: must be more than 0"),
        ErrorCase("control mode not octal", "control:\n  mode: \"0680\"\nworkers: []\n",
                  #"bulkhead.yaml:2: control.mode: "0680" is not a file mode (octal permission bits, e.g. "0660")"#),
        ErrorCase("control socket relative", "control:\n  socket: run/control.sock\n",
                  #"bulkhead.yaml:2: control.socket: "run/control.sock" is not an absolute path (it must start with /)"#),
        ErrorCase("control socket too long", "control:\n  socket: /\(String(repeating: "s", count: 107))\n",
                  "bulkhead.yaml:2: control.socket: is 108 bytes long; a unix socket path holds at most 107"),
        ErrorCase("state_dir relative", "state_dir: var/lib\n",
                  #"bulkhead.yaml:1: state_dir: "var/lib" is not an absolute path (it must start with /)"#),
        ErrorCase("journal mode", "output: { journal: maybe }\n",
                  #"bulkhead.yaml:1: output.journal: "maybe" is not one of auto, on, off"#),
        ErrorCase("keep no reports", "crash_reports:\n  keep: 0\n",
                  "bulkhead.yaml:2: crash_reports.keep: must be at least 1 (got 0)"),
    ]

    static let rules: [ErrorCase] = [
        ErrorCase("empty when", oneWorker("    rules:", "      - when: {}", "        then: crash"),
                  "bulkhead.yaml:5: workers[0].rules[0].when: is empty: give exit_code, signal, stderr, runtime, kind or message"),
        ErrorCase("when with nothing", oneWorker("    rules:", "      - then: crash", "        when:"),
                  "bulkhead.yaml:6: workers[0].rules[0].when: is empty: give exit_code, signal, stderr, runtime, kind or message"),
        ErrorCase("missing when", oneWorker("    rules:", "      - then: crash"),
                  #"bulkhead.yaml:5: workers[0].rules[0]: missing key "when" (exit_code, signal, stderr, runtime, kind or message)"#),
        ErrorCase("missing then", oneWorker("    rules:", "      - when: { exit_code: 3 }"),
                  #"bulkhead.yaml:5: workers[0].rules[0]: missing key "then" (the class to give: clean, transient, persistent, corruption, crash, hang, limit)"#),
        ErrorCase("unknown class", oneWorker("    rules:", "      - when: { exit_code: 3 }", "        then: crashed"),
                  #"bulkhead.yaml:6: workers[0].rules[0].then: "crashed" is not one of clean, transient, persistent, corruption, crash, hang, limit (did you mean "crash"?)"#),
        ErrorCase("exit code out of range", oneWorker("    rules:", "      - when: { exit_code: [1, 256] }", "        then: crash"),
                  "bulkhead.yaml:5: workers[0].rules[0].when.exit_code[1]: must be between 0 and 255 (got 256)"),
        ErrorCase("unknown signal", oneWorker("    rules:", "      - when: { signal: BUSS }", "        then: crash"),
                  #"bulkhead.yaml:5: workers[0].rules[0].when.signal: "BUSS" is not a signal (use a name like TERM or SIGINT, or a number) (did you mean "BUS"?)"#),
        ErrorCase("exit code and signal", oneWorker("    rules:", "      - when: { exit_code: 1, signal: TERM }", "        then: crash"),
                  "bulkhead.yaml:5: workers[0].rules[0].when: exit_code and signal never hold together: a process either exits or is killed by a signal"),
        ErrorCase("empty list", oneWorker("    rules:", "      - when: { exit_code: [] }", "        then: crash"),
                  "bulkhead.yaml:5: workers[0].rules[0].when.exit_code: is empty: give one or more exit codes"),
        ErrorCase("empty stderr", oneWorker("    rules:", #"      - when: { stderr: "" }"#, "        then: crash"),
                  "bulkhead.yaml:5: workers[0].rules[0].when.stderr: must not be empty"),
        ErrorCase("unknown runtime", oneWorker("    rules:", "      - when: { runtime: golang }", "        then: transient"),
                  #"bulkhead.yaml:5: workers[0].rules[0].when.runtime: "golang" is not one of swift, go, rust, python, jvm, node, c++, c"#),
        ErrorCase("empty kind", oneWorker("    rules:", #"      - when: { runtime: go, kind: "" }"#, "        then: transient"),
                  "bulkhead.yaml:5: workers[0].rules[0].when.kind: must not be empty"),
        ErrorCase("empty message", oneWorker("    rules:", #"      - when: { message: "" }"#, "        then: transient"),
                  "bulkhead.yaml:5: workers[0].rules[0].when.message: must not be empty"),
        ErrorCase("rules in defaults", "defaults:\n  rules:\n    - when: {}\n      then: crash\n",
                  "bulkhead.yaml:3: defaults.rules[0].when: is empty: give exit_code, signal, stderr, runtime, kind or message"),
    ]

    static let workers: [ErrorCase] = [
        ErrorCase("bad name", "workers:\n  - name: API\n    command: [/bin/true]\n",
                  #"bulkhead.yaml:2: workers[0].name: "API" is not a valid worker name (lower-case letters, digits, _ and -, starting with a letter or digit)"#),
        ErrorCase("name starting with -", "workers:\n  - name: -api\n    command: [/bin/true]\n",
                  #"bulkhead.yaml:2: workers[0].name: "-api" is not a valid worker name (lower-case letters, digits, _ and -, starting with a letter or digit)"#),
        ErrorCase("long name", "workers:\n  - name: \(String(repeating: "a", count: 65))\n    command: [/bin/true]\n",
                  "bulkhead.yaml:2: workers[0].name: is 65 characters long; at most 64"),
        ErrorCase("missing name", "workers:\n  - command: [/bin/true]\n",
                  #"bulkhead.yaml:2: workers[0]: missing key "name""#),
        ErrorCase("missing command", "workers:\n  - name: w\n    instances: 2\n",
                  #"bulkhead.yaml:2: workers[0]: missing key "command""#),
        ErrorCase("empty command", "workers:\n  - name: w\n    command: []\n",
                  "bulkhead.yaml:3: workers[0].command: must not be empty: give the program and its arguments"),
        ErrorCase("empty program", "workers:\n  - name: w\n    command: [\"\", x]\n",
                  "bulkhead.yaml:3: workers[0].command[0]: is empty: give the program to run"),
        ErrorCase("depends on an unknown worker", "workers:\n  - name: w\n    command: [/bin/true]\n    depends_on: [wx, db]\n",
                  #"bulkhead.yaml:4: workers[0].depends_on[0]: unknown worker "wx" (did you mean "w"?)"#,
                  #"bulkhead.yaml:4: workers[0].depends_on[1]: unknown worker "db""#),
        ErrorCase("depends on itself", "workers:\n  - name: w\n    command: [/bin/true]\n    depends_on: w\n",
                  #"bulkhead.yaml:4: workers[0].depends_on: "w" cannot depend on itself"#),
        ErrorCase("dependency listed twice", "workers:\n  - name: a\n    command: [/bin/true]\n  - name: w\n    command: [/bin/true]\n    depends_on: [a, a]\n",
                  #"bulkhead.yaml:6: workers[1].depends_on[1]: "a" is listed twice"#),
    ]

    static let commands: [ErrorCase] = [
        ErrorCase("absolute path missing", "workers:\n  - name: w\n    command: [/nonexistent/api, --port, 1]\n",
                  #"bulkhead.yaml:3: workers[0].command[0]: "/nonexistent/api" does not exist"#),
        ErrorCase("not executable", "workers:\n  - name: w\n    command: [/etc/passwd]\n",
                  #"bulkhead.yaml:3: workers[0].command[0]: "/etc/passwd" is not executable"#),
        ErrorCase("a directory", "workers:\n  - name: w\n    command: [/etc]\n",
                  #"bulkhead.yaml:3: workers[0].command[0]: "/etc" is not a regular file"#),
        ErrorCase("not on PATH", "workers:\n  - name: w\n    command:\n      - no-such-program-here\n",
                  #"bulkhead.yaml:4: workers[0].command[0]: "no-such-program-here" was not found on PATH (/usr/bin:/bin)"#),
        ErrorCase("not on the worker's PATH", "workers:\n  - name: w\n    command: [sh]\n    env: { PATH: /nonexistent }\n",
                  #"bulkhead.yaml:3: workers[0].command[0]: "sh" was not found on the worker's env.PATH (/nonexistent)"#),
        ErrorCase("relative without cwd", "workers:\n  - name: w\n    command: [bin/sh]\n",
                  #"bulkhead.yaml:3: workers[0].command[0]: "bin/sh" is a relative path: give an absolute path, or set cwd to resolve it against"#),
        ErrorCase("relative to cwd", "workers:\n  - name: w\n    command: [bin/nothing]\n    cwd: /usr\n",
                  #"bulkhead.yaml:3: workers[0].command[0]: "/usr/bin/nothing" does not exist"#),
    ]

    @Test(arguments: unknownKeys) func unknownKey(_ c: ErrorCase) { #expect(problems(c.yaml) == c.expected) }
    @Test(arguments: types) func wrongType(_ c: ErrorCase) { #expect(problems(c.yaml) == c.expected) }
    @Test(arguments: values) func badValue(_ c: ErrorCase) { #expect(problems(c.yaml) == c.expected) }
    @Test(arguments: rules) func badRule(_ c: ErrorCase) { #expect(problems(c.yaml) == c.expected) }
    @Test(arguments: workers) func badWorker(_ c: ErrorCase) { #expect(problems(c.yaml) == c.expected) }
    @Test(arguments: commands) func missingCommand(_ c: ErrorCase) { #expect(problems(c.yaml) == c.expected) }

    @Test func emptyFile() {
        #expect(problems("# nothing but a comment\n") == [
            "bulkhead.yaml: the config is empty (expected control, state_dir, crash_reports, output, cgroups, defaults, workers, events, hooks, alerts, metrics)",
        ])
    }

    @Test func errorFieldsAreSeparate() {
        let errors = ConfigLoader.check(yaml: oneWorker("    instances: 0"), file: "/etc/bulkhead/bulkhead.yaml")
        #expect(errors == [ConfigError(file: "/etc/bulkhead/bulkhead.yaml", line: 4, column: 16, keyPath: "workers[0].instances",
                                       message: "must be at least 1 (got 0)")])
    }
}

@Suite("Backoff with no delay")
struct ZeroBackoffTests {
    @Test("backoff.initial: 0 is valid: restart at once (the max then caps nothing)")
    func zeroInitialIsAccepted() throws {
        let config = try ConfigLoader.parse(
            yaml: "workers:\n  - name: a\n    command: [/bin/true]\n    backoff: { initial: 0ms }\n",
            file: "bulkhead.yaml", options: ConfigOptions(checksExecutables: false)
        )
        #expect(config.workers[0].backoff.initial == .zero)
    }
}
