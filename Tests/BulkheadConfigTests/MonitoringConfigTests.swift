@testable import BulkheadConfig
import BulkheadPolicy
import Testing

/// `events`, `hooks`, `alerts`, `metrics` (SPEC §11): read into policy's types, and every mistake
/// named by file, line and key like the rest of the config.
@Suite("Monitoring config")
struct MonitoringConfigTests {
    @Test func theSpecExampleReads() throws {
        let config = try load(oneWorker() + """
        hooks:
          - on: [failed, quarantined, breaker-open, alert]
            exec: [/bin/true]
            timeout: 10s
            rate: 10/5m
        alerts:
          - name: api-crashing
            when: { event: crash, worker: w, count: 5, within: 5m }
          - name: any-quarantine
            when: { state: quarantined }
          - name: stuck
            when: { state: breaker-open, for: 10m }
            priority: alert
        metrics: { listen: "127.0.0.1:9464" }
        events: { history: 500 }

        """)
        let m = config.monitoring
        #expect(m.hooks == [HookSpec(name: "hooks[0]", on: [.kind(.failed), .kind(.quarantined), .kind(.breakerOpen), .kind(.alert)],
                                     command: ["/bin/true"], timeout: .seconds(10), rate: EventRate(count: 10, per: .seconds(300)),
                                     sourceLine: 5)])
        #expect(m.alerts.map(\.condition) == [
            .rate(.deathClass(.crash), worker: "w", count: 5, within: .seconds(300)),
            .state(.quarantined, worker: nil, for: .zero),
            .state(.breakerOpen, worker: nil, for: .seconds(600)),
        ])
        #expect(m.alerts.map(\.priority) == [2, 2, 1])
        #expect(m.metrics == MetricsConfig(host: "127.0.0.1", port: 9464))
        #expect(m.events.history == 500)
    }

    @Test func listenAddresses() {
        #expect(MonitoringReader.listenAddress("[::1]:9464") == MetricsConfig(host: "::1", port: 9464))
        #expect(MonitoringReader.listenAddress("0.0.0.0:80") == MetricsConfig(host: "0.0.0.0", port: 80))
        #expect(MonitoringReader.listenAddress("localhost:9464") == MetricsConfig(host: "127.0.0.1", port: 9464))
        for bad in ["9464", ":9464", "example.com:9464", "1.2.3:9", "256.1.1.1:9", "[::1]9464", "127.0.0.1:", "127.0.0.1:x"] {
            #expect(MonitoringReader.listenAddress(bad) == nil, "\(bad)")
        }
    }

    static let mistakes: [(String, [String])] = [
        ("hooks:\n  - exec: [/bin/true]\n",
         ["bulkhead.yaml:5: hooks[0]: missing key \"on\" (the events that run it, e.g. [failed, quarantined, breaker-open, alert])"]),
        ("hooks:\n  - { on: [crashed], exec: [/bin/true] }\n",
         ["bulkhead.yaml:5: hooks[0].on[0]: \"crashed\" is not an event name, a death class or \"death\" (did you mean \"crash\"?) (events: spawn, ready, exit, restart, backoff, breaker-open, recovered, failed, quarantined, watchdog, reload, stop, start-timeout, waiting, notify-rejected, output-dropped, report-not-saved, daemon, command, alert, alert-cleared, hook, health; classes: clean, transient, persistent, corruption, crash, hang, limit)"]),
        ("hooks:\n  - { on: [hook], exec: [/bin/true] }\n",
         ["bulkhead.yaml:5: hooks[0].on[0]: a hook cannot run on `hook` events (a failing hook would run itself)"]),
        ("hooks:\n  - { on: crash, exec: [/bin/true], rate: 10 }\n",
         ["bulkhead.yaml:5: hooks[0].rate: \"10\" is not a rate: write runs/duration, e.g. 10/5m (at most 10 runs in any 5 minutes)"]),
        ("hooks:\n  - { on: crash, exec: [/bin/true], workers: [x] }\n",
         ["bulkhead.yaml:5: hooks[0].workers[0]: no worker is named \"x\""]),
        ("hooks:\n  - { on: crash, exec: [/nonexistent/page] }\n",
         ["bulkhead.yaml:5: hooks[0].exec[0]: \"/nonexistent/page\" does not exist"]),
        ("hooks:\n  - { name: a, on: crash, exec: [/bin/true] }\n  - { name: a, on: exit, exec: [/bin/true] }\n",
         ["bulkhead.yaml:6: hooks[1]: duplicate hook name \"a\" (first defined at line 5)"]),
        ("alerts:\n  - name: a\n    when: { event: crash, count: 5 }\n",
         ["bulkhead.yaml:6: alerts[0].when: missing key \"within\" (the window the events are counted in, e.g. 5m)"]),
        ("alerts:\n  - name: a\n    when: { event: crash, state: failed }\n",
         ["bulkhead.yaml:6: alerts[0].when: give event (a rate rule) or state (a state rule), not both"]),
        ("alerts:\n  - name: a\n    when: { state: running }\n",
         ["bulkhead.yaml:6: alerts[0].when.state: \"running\" is not one of failed, quarantined, breaker-open"]),
        ("alerts:\n  - when: { state: failed }\n",
         ["bulkhead.yaml:5: alerts[0]: missing key \"name\" (it names the alert in events, hooks and metrics)"]),
        ("metrics: { listen: 9464 }\n",
         ["bulkhead.yaml:4: metrics.listen: \"9464\" is not an address and a port: write \"127.0.0.1:9464\", \"[::1]:9464\", or \"0.0.0.0:9464\" for every interface"]),
        ("metrics: {}\n",
         ["bulkhead.yaml:4: metrics: missing key \"listen\" (an address and a port, e.g. \"127.0.0.1:9464\"; leave metrics out to serve none)"]),
    ]

    @Test(arguments: mistakes.indices)
    func mistakesNameFileLineAndKey(_ index: Int) {
        let (yaml, expected) = Self.mistakes[index]
        #expect(problems(oneWorker() + yaml) == expected)
    }

    @Test func aMissingHookProgramOnlyWarnsAtDaemonStart() {
        let result = ConfigLoader.validate(yaml: oneWorker() + "hooks:\n  - { on: crash, exec: [/nonexistent/page] }\n",
                                           file: testFile, options: .daemonStart)
        #expect(result.errors.isEmpty)
        #expect(result.warnings.map(\.description) == ["bulkhead.yaml:5: hooks[0].exec[0]: \"/nonexistent/page\" does not exist"])
        #expect(result.config?.monitoring.hooks.count == 1)
    }
}
