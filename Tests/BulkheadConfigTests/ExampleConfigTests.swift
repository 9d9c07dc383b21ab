@testable import BulkheadConfig
import BulkheadPolicy
import Testing

@Suite("config/example.yaml")
struct ExampleConfigTests {
    static let path = repositoryRoot + "/config/example.yaml"

    @Test func loadsOnAnyDebianMachine() throws {
        let config = try ConfigLoader.load(path: Self.path, options: ConfigOptions(searchPath: "/usr/bin:/bin"))
        #expect(config.control == ControlConfig(socket: "/run/bulkhead/control.sock", mode: 0o660, group: "adm"))
        #expect(config.crashReports == CrashReportRetention(keep: 2000, maxBytes: 256 << 20, perWorker: 20))
        #expect(config.output == OutputConfig(journal: .auto, bufferLines: 1000, stderrTailLines: 40))
        #expect(config.workers.map(\.name) == ["api", "cache", "nightly-check"])

        let api = try #require(config.worker(named: "api"))
        #expect(api.env == [
            EnvironmentEntry("TZ", "UTC"), EnvironmentEntry("PORT", "8080"), EnvironmentEntry("DEBUG", "false"),
            EnvironmentEntry("LOG_LEVEL", "warn"),
        ])
        #expect(api.limits == ResourceLimits(memory: 512 << 20, openFiles: 4096, processes: 256, coreSize: .max,
                                             cpuSeconds: 3600, fileSize: 1 << 30, cpuPercent: 150, ioWeight: 100, tasks: 512))
        #expect(api.envFiles == [EnvFileReference(path: "/etc/bulkhead/api.env", optional: true)])
        #expect(api.credentials == [CredentialSpec(name: "db-password", path: "/etc/hostname")])
        #expect(api.sockets == [
            SocketSpec(address: .tcp(host: "127.0.0.1", port: 8080), name: "http", backlog: 4096),
            SocketSpec(address: .unix(path: "/run/bulkhead-api.sock"), name: "api", mode: 0o660, owner: "nobody", group: "nogroup"),
        ])
        #expect(api.health.ready == ProbeSpec(check: .http(ProbeTarget(host: "127.0.0.1", port: 8080), path: "/healthz"),
                                              interval: .seconds(1), timeout: .milliseconds(500), successes: 1))
        #expect(api.health.live == ProbeSpec(check: .exec(["/bin/true"]), initialDelay: .seconds(5), interval: .seconds(10),
                                             timeout: .seconds(2), failures: 3))
        #expect(api.backoff == BackoffPolicy(initial: .milliseconds(250), max: .seconds(60)))
        #expect(api.crashLoop == CrashLoopPolicy(maxRestarts: 5))
        #expect(api.stop == StopPolicy(signal: Signals.interrupt, timeout: .seconds(20)))
        #expect(api.rules.map(\.label) == [
            "rules[0]: exit_code [75, 69]", "rules[1]: signal [BUS, SEGV]",
            #"rules[2]: stderr "database disk image is malformed""#,
            #"rules[3]: exit_code [1], stderr "address already in use""#,
            "defaults.rules[0]: exit_code [86]",
        ])

        let cache = try #require(config.worker(named: "cache"))
        #expect(cache.ready == .after(.milliseconds(500)))
        #expect(cache.watchdog == nil)
        #expect(cache.limits == ResourceLimits(coreSize: 0))
        #expect(DependencyGraph(config.workers).startOrder() == ["cache", "api", "nightly-check"])
    }

    /// The example is the operators' reference: it must show every key the loader knows.
    @Test func mentionsEveryKey() throws {
        let text = try #require(try? ConfigFile.contents(of: Self.path).get())
        let keys = DocumentReader.topLevelKeys + ["socket", "mode", "group", "per_worker", "total", "max_bytes", "journal", "buffer_lines",
                                                  "stderr_tail_lines", "when", "then", "exit_code", "signal", "stderr"]
            + ["history", "report_records", "hook_processes", "listen", "priority", "event", "state", "count", "within", "for"]
            + MonitoringReader.hookKeys
            + WorkerKeys.all + WorkerKeys.backoff + WorkerKeys.crashLoop + WorkerKeys.stop + WorkerKeys.limits
            + WorkerKeys.probe + WorkerKeys.socket
        let missing = keys.filter { !text.contains("\($0):") }
        #expect(missing.isEmpty, "config/example.yaml never sets \(missing)")
    }
}
