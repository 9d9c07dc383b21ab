import BulkheadConfig
import BulkheadPolicy
import Testing

@Suite("SPEC §2 example")
struct SpecExampleTests {
    /// SPEC §2's YAML verbatim, plus the `cache` worker that `depends_on` names.
    static let yaml = """
        control:
          socket: /run/bulkhead/control.sock   # root default; user mode: $XDG_RUNTIME_DIR/bulkhead/control.sock
          mode: "0660"
          group: bulkhead                      # optional: members may use the CLI
        state_dir: /var/lib/bulkhead           # crash reports live in state_dir/crashes

        defaults:                              # merged into every worker
          restart: on-failure                  # always | on-failure | never
          backoff: { initial: 100ms, max: 30s, multiplier: 2.0, jitter: 0.2, reset_after: 60s }
          crash_loop: { max_restarts: 10, window: 60s, cooldown: 5m, same_crash: 3 }
          stop: { signal: TERM, timeout: 10s }

        workers:
          - name: api                          # [a-z0-9][a-z0-9_-]*; instances are api:0, api:1, …
            command: [/usr/local/bin/api, --port, "8080"]
            instances: 2
            env: { RUST_LOG: info }
            cwd: /srv/api
            user: www-data                     # optional; group too
            ready: notify                      # notify (READY=1) | spawn | a duration after spawn
            watchdog: 10s                      # optional: WATCHDOG=1 expected at least this often
            depends_on: [cache]                # started after cache is ready; see strategy
            strategy: one_for_one              # one_for_one | rest_for_one | one_for_all (over depends_on)
            limits: { memory: 512MiB, open_files: 4096, processes: 256 }
            rules:                             # first match wins, before the default table below
              - when: { exit_code: [75] }
                then: transient
              - when: { signal: [BUS] }
                then: corruption
              - when: { stderr: "database disk image is malformed" }
                then: corruption
          - name: cache
            command: [/bin/true]
        """

    @Test func parsesToTheExpectedValues() throws {
        let config = try ConfigLoader.parse(yaml: Self.yaml, file: "bulkhead.yaml", options: shapeOnly)
        #expect(config.control == ControlConfig(socket: "/run/bulkhead/control.sock", mode: 0o660, group: "bulkhead"))
        #expect(config.stateDir == "/var/lib/bulkhead")
        #expect(config.crashReports == CrashReportRetention())
        #expect(config.output == OutputConfig())
        #expect(config.workers.map(\.name) == ["api", "cache"])

        let policies = (
            backoff: BackoffPolicy(initial: .milliseconds(100), max: .seconds(30), multiplier: 2.0, jitter: 0.2, resetAfter: .seconds(60)),
            crashLoop: CrashLoopPolicy(maxRestarts: 10, window: .seconds(60), cooldown: .seconds(300), sameCrash: 3),
            stop: StopPolicy(signal: 15, timeout: .seconds(10))
        )
        let api = WorkerSpec(
            name: "api", command: ["/usr/local/bin/api", "--port", "8080"], instances: 2,
            env: [EnvironmentEntry("RUST_LOG", "info")], cwd: "/srv/api", user: "www-data", group: nil,
            ready: .notify, startTimeout: .seconds(60), watchdog: .seconds(10), watchdogGrace: .seconds(2),
            dependsOn: ["cache"], strategy: .oneForOne,
            limits: ResourceLimits(memory: 512 << 20, openFiles: 4096, processes: 256),
            rules: [
                ClassificationRule(exitCodes: [75], result: .transient, label: "rules[0]: exit_code [75]"),
                ClassificationRule(signals: [7], result: .corruption, label: "rules[1]: signal [BUS]"),
                ClassificationRule(stderrContains: "database disk image is malformed", result: .corruption,
                                   label: #"rules[2]: stderr "database disk image is malformed""#),
            ],
            restart: .onFailure, backoff: policies.backoff, crashLoop: policies.crashLoop, stop: policies.stop,
            backtrace: true, sourceLine: 14
        )
        #expect(config.workers[0] == api)
        let cache = WorkerSpec(
            name: "cache", command: ["/bin/true"], backoff: policies.backoff, crashLoop: policies.crashLoop,
            stop: policies.stop, sourceLine: 32
        )
        #expect(config.workers[1] == cache)
    }

    @Test func onThisMachineOnlyTheApiBinaryIsMissing() {
        #expect(problems(Self.yaml) == [
            #"bulkhead.yaml:15: workers[0].command[0]: "/usr/local/bin/api" does not exist"#,
        ])
    }
}
