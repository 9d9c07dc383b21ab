@testable import BulkheadConfig
import BulkheadPolicy
import Foundation
import Testing

/// SPEC §2's keys for workers as they run in production: `health`, `sockets`, `env_file`,
/// `credentials`, `limits.cpu` / `io_weight` / `tasks` — read, merged, and every mistake named
/// by file, line and key.
@Suite("health, sockets, env_file, credentials, limits")
struct ProductionKeysTests {
    // MARK: - health

    @Test func probesAreRead() throws {
        let config = try load(oneWorker(
            "    health:",
            "      ready: { http: \"http://[::1]:8080/healthz?full=1\", interval: 1s, timeout: 500ms, successes: 2 }",
            "      live: { tcp: \"127.0.0.1:9000+index\", initial_delay: 3s, failures: 5 }"
        ))
        let health = config.workers[0].health
        #expect(health.ready == ProbeSpec(check: .http(ProbeTarget(host: "::1", port: 8080), path: "/healthz?full=1"),
                                          interval: .seconds(1), timeout: .milliseconds(500), successes: 2))
        #expect(health.live == ProbeSpec(check: .tcp(ProbeTarget(host: "127.0.0.1", port: 9000, portPlusIndex: true)),
                                         initialDelay: .seconds(3), failures: 5))
        #expect(health.ready?.check.description == "http://[::1]:8080/healthz?full=1")
        let exec = try load(oneWorker("    health: { live: { exec: [/bin/true, --quick] } }"))
        #expect(exec.workers[0].health.live?.check == .exec(["/bin/true", "--quick"]))
        let bare = try load(oneWorker("    health: { ready: { http: \"http://localhost:80\" } }"))
        #expect(bare.workers[0].health.ready?.check == .http(ProbeTarget(host: "127.0.0.1", port: 80), path: "/"))
    }

    @Test func probeMistakesAreNamed() {
        #expect(problems(oneWorker("    health: { live: { interval: 1s } }")) == [
            "bulkhead.yaml:4: workers[0].health.live: needs one check: http, tcp or exec",
        ])
        #expect(problems(oneWorker("    health: { live: { tcp: \"127.0.0.1:1\", exec: [/bin/true] } }")) == [
            "bulkhead.yaml:4: workers[0].health.live: has tcp and exec: give one check per probe",
        ])
        #expect(problems(oneWorker("    health: { ready: { http: \"https://127.0.0.1/\" } }")) == [
            "bulkhead.yaml:4: workers[0].health.ready.http: https is not probed (bulkhead has no TLS): probe a plain http port, or use exec with a client",
        ])
        #expect(problems(oneWorker("    health: { ready: { http: \"http://api.local:80/\" } }")) == [
            "bulkhead.yaml:4: workers[0].health.ready.http: \"api.local\" is not a numeric IPv4 address (names are not looked up; write e.g. 127.0.0.1)",
        ])
        #expect(problems(oneWorker("    health: { ready: { tcp: \"127.0.0.1:70000\" } }")) == [
            "bulkhead.yaml:4: workers[0].health.ready.tcp: \"70000\" is not a port (1–65535)",
        ])
        #expect(problems(oneWorker("    health: { alive: { tcp: \"127.0.0.1:1\" } }")) == [
            "bulkhead.yaml:4: workers[0].health.alive: unknown key (did you mean \"live\"?)",
        ])
        #expect(problems(oneWorker("    health: { live: { exec: [/nonexistent/check] } }")) == [
            "bulkhead.yaml:4: workers[0].health: \"/nonexistent/check\" does not exist",
        ])
    }

    @Test func aReadyDurationAndAReadyProbeAreOneTooMany() {
        #expect(problems(oneWorker("    ready: 2s", "    health: { ready: { tcp: \"127.0.0.1:1\" } }")) == [
            "bulkhead.yaml:4: workers[0].ready: a ready duration and health.ready both decide readiness: keep one (health.ready's initial_delay waits before the first check)",
        ])
        #expect(problems(oneWorker("    ready: notify", "    health: { ready: { tcp: \"127.0.0.1:1\" } }")) == [])
    }

    @Test func aPortPlusIndexMustStayAPort() {
        #expect(problems(oneWorker("    instances: 3", "    health: { live: { tcp: \"127.0.0.1:65534+index\" } }")) == [
            "bulkhead.yaml:5: workers[0].health: health.live: port 65534+index passes 65535 for instance 2",
        ])
    }

    @Test func healthAndSocketsBelongToEachWorker() {
        #expect(problems("defaults:\n  health: { live: { tcp: \"127.0.0.1:1\" } }\n" + oneWorker()) == [
            "bulkhead.yaml:2: defaults.health: health belongs to each worker and cannot be set in defaults",
        ])
    }

    // MARK: - sockets

    @Test func socketsAreRead() throws {
        let config = try load(oneWorker(
            "    sockets:",
            "      - { listen: \"tcp://0.0.0.0:8080\", name: http, backlog: 128 }",
            "      - { listen: \"udp://[::]:5353\" }",
            "      - { listen: \"unix:/run/w.sock\", mode: \"0600\", owner: nobody, group: nogroup }"
        ))
        #expect(config.workers[0].sockets == [
            SocketSpec(address: .tcp(host: "0.0.0.0", port: 8080), name: "http", backlog: 128),
            SocketSpec(address: .udp(host: "::", port: 5353), name: "w"),
            SocketSpec(address: .unix(path: "/run/w.sock"), name: "w", mode: 0o600, owner: "nobody", group: "nogroup"),
        ])
    }

    @Test func socketMistakesAreNamed() {
        #expect(problems(oneWorker("    sockets: [{ listen: \"http://0.0.0.0:80\" }]")) == [
            "bulkhead.yaml:4: workers[0].sockets[0].listen: \"http://0.0.0.0:80\": expected tcp://HOST:PORT, udp://HOST:PORT or unix:/PATH",
        ])
        #expect(problems(oneWorker("    sockets: [{ listen: \"tcp://0.0.0.0:80\", mode: \"0600\" }]")) == [
            "bulkhead.yaml:4: workers[0].sockets[0].mode: only a unix socket has a file whose mode can be set",
        ])
        #expect(problems(oneWorker("    sockets: [{ listen: \"tcp://0.0.0.0:80\", name: \"a:b\" }]")) == [
            "bulkhead.yaml:4: workers[0].sockets[0].name: \"a:b\" is not a socket name (printable ASCII without spaces or ':', at most 255 bytes)",
        ])
        #expect(problems(oneWorker("    sockets: [{ listen: \"tcp://1.2.3:80\" }]")) == [
            "bulkhead.yaml:4: workers[0].sockets[0].listen: \"tcp://1.2.3:80\": \"1.2.3\" is not a numeric IPv4 address (names are not looked up; write e.g. 127.0.0.1)",
        ])
        #expect(problems(oneWorker("    sockets: [{ name: x }]")) == [
            "bulkhead.yaml:4: workers[0].sockets[0]: missing key \"listen\" (tcp://HOST:PORT, udp://HOST:PORT or unix:/PATH)",
        ])
        let tooMany = (0...31).map { "\"tcp://127.0.0.1:\(1000 + $0)\"" }.map { "{ listen: \($0) }" }.joined(separator: ", ")
        #expect(problems(oneWorker("    sockets: [\(tooMany)]")) == ["bulkhead.yaml:4: workers[0].sockets: 32 sockets is above the maximum 31 per worker"])
    }

    @Test func anAddressIsBoundOnce() {
        let yaml = """
        workers:
          - { name: a, command: [/bin/true], sockets: [{ listen: "tcp://127.0.0.1:8080" }, { listen: "tcp://127.0.0.1:0" }] }
          - { name: b, command: [/bin/true], sockets: [{ listen: "tcp://127.0.0.1:8080" }, { listen: "tcp://127.0.0.1:0" }] }
        """
        #expect(problems(yaml) == ["bulkhead.yaml:3: workers[1].sockets: tcp://127.0.0.1:8080 is also a socket of a: an address can be bound once"])
    }

    @Test(arguments: [
        ("127.0.0.1", true), ("0.0.0.0", true), ("255.255.255.255", true), ("256.0.0.1", false), ("01.2.3.4", false), ("1.2.3", false),
    ])
    func ipv4Literals(_ text: String, _ valid: Bool) {
        #expect(IPAddressText.isIPv4(text) == valid)
    }

    @Test(arguments: [
        ("::", true), ("::1", true), ("fe80::1", true), ("2001:db8::8a2e:370:7334", true), ("1:2:3:4:5:6:7:8", true),
        ("::ffff:192.0.2.1", true), ("1::2::3", false), ("1:2:3:4:5:6:7:8:9", false), ("12345::", false), (":::", false),
        ("g::1", false), ("1:2:3:4:5:6:7", false),
    ])
    func ipv6Literals(_ text: String, _ valid: Bool) {
        #expect(IPAddressText.isIPv6(text) == valid)
    }

    // MARK: - env_file and credentials

    @Test func envFilesAreReadAndWinOverEnv() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "A=from-file\nB='quoted value'\n".write(toFile: directory + "/a.env", atomically: true, encoding: .utf8)
        try "B=later file\n".write(toFile: directory + "/b.env", atomically: true, encoding: .utf8)
        let config = try load(oneWorker(
            "    env: { A: from-env, C: only-env }",
            "    env_file: [\(directory)/a.env, -\(directory)/missing.env, \(directory)/b.env]"
        ))
        let spec = config.workers[0]
        #expect(spec.envFiles.map(\.optional) == [false, true, false])
        #expect(spec.envFileEntries == [EnvironmentEntry("A", "from-file"), EnvironmentEntry("B", "later file")])
    }

    @Test func envFileMistakesNameBothFiles() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "OK=1\nnot an assignment\nNOTIFY_SOCKET=/x\n".write(toFile: directory + "/bad.env", atomically: true, encoding: .utf8)
        #expect(problems(oneWorker("    env_file: \(directory)/bad.env")) == [
            "bulkhead.yaml:4: workers[0].env_file: \(directory)/bad.env:2: \"not an assignment\" has no '=' (expected KEY=VALUE)",
        ])
        try "NOTIFY_SOCKET=/x\n".write(toFile: directory + "/reserved.env", atomically: true, encoding: .utf8)
        #expect(problems(oneWorker("    env_file: \(directory)/reserved.env")) == [
            "bulkhead.yaml:4: workers[0].env_file: \(directory)/reserved.env: NOTIFY_SOCKET is set by bulkhead for every instance and cannot be set in an env file",
        ])
        #expect(problems(oneWorker("    env_file: [\(directory)/missing.env]")) == [
            "bulkhead.yaml:4: workers[0].env_file[0]: \(directory)/missing.env cannot be read: No such file or directory (a leading - makes an env file optional)",
        ])
        #expect(problems(oneWorker("    env_file: relative.env")) == [
            "bulkhead.yaml:4: workers[0].env_file: \"relative.env\" is not an absolute path (it must start with /; a leading - makes it optional)",
        ])
    }

    @Test func atDaemonStartAMissingFileFailsOnlyItsWorker() throws {
        let yaml = oneWorker("    env_file: /nonexistent/w.env", "    credentials: { key: /nonexistent/key }")
        let (config, errors, warnings) = ConfigLoader.validate(yaml: yaml, file: testFile, options: .daemonStart)
        #expect(errors.isEmpty)
        #expect(warnings.map(\.description) == [
            "bulkhead.yaml:4: workers[0].env_file: /nonexistent/w.env cannot be read: No such file or directory (a leading - makes an env file optional)",
            "bulkhead.yaml:5: workers[0].credentials.key: credential \"key\": /nonexistent/key does not exist",
        ])
        #expect(config?.workers[0].startProblem == "/nonexistent/w.env cannot be read: No such file or directory (a leading - makes an env file optional)")
    }

    @Test func credentialsAreReadAndMergedByName() throws {
        let yaml = """
        defaults:
          credentials: { shared: /etc/hostname, db: /etc/passwd }
        workers:
          - name: w
            command: [/bin/true]
            credentials: { db: /etc/group }
        """
        let spec = try load(yaml).workers[0]
        #expect(spec.credentials == [CredentialSpec(name: "shared", path: "/etc/hostname"), CredentialSpec(name: "db", path: "/etc/group")])
        #expect(problems(oneWorker("    credentials: { \"../up\": /etc/hostname, ok: relative }")) == [
            "bulkhead.yaml:4: workers[0].credentials.../up: \"../up\" is not a credential name (a file name: printable ASCII without '/' or spaces, not . or ..)",
            "bulkhead.yaml:4: workers[0].credentials.ok: \"relative\" is not an absolute path (it must start with /)",
        ])
    }

    @Test func reservedNamesIncludeWhatSocketsAndCredentialsSet() {
        #expect(problems(oneWorker("    env: { LISTEN_FDS: \"1\", CREDENTIALS_DIRECTORY: /tmp }")) == [
            "bulkhead.yaml:4: workers[0].env.LISTEN_FDS: LISTEN_FDS is set by bulkhead for every instance and cannot be set in env",
            "bulkhead.yaml:4: workers[0].env.CREDENTIALS_DIRECTORY: CREDENTIALS_DIRECTORY is set by bulkhead for every instance and cannot be set in env",
        ])
    }

    // MARK: - limits

    @Test func newLimitsAreRead() throws {
        let limits = try load(oneWorker("    limits: { cpu: 150%, io_weight: 200, tasks: 64 }")).workers[0].limits
        #expect(limits.cpuPercent == 150 && limits.ioWeight == 200 && limits.tasks == 64)
        #expect(try load(oneWorker("    limits: { tasks: unlimited }")).workers[0].limits.tasks == .max)
        #expect(problems(oneWorker("    limits: { cpu: 1.5 }")) == [
            "bulkhead.yaml:4: workers[0].limits.cpu: \"1.5\" is not a percentage of one CPU (e.g. 50% or 150%)",
        ])
    }

    @Test func unenforceableLimitsAreSaidPerLimitNamingTheWorkers() {
        let support = LimitSupport(missing: [.cpu: "no cpu controller here", .pids: "no pids controller here"])
        var a = WorkerSpec(name: "a", command: ["/bin/true"])
        a.limits = ResourceLimits(cpuPercent: 50, tasks: 10)
        var b = WorkerSpec(name: "b", command: ["/bin/true"])
        b.limits = ResourceLimits(cpuPercent: 200, ioWeight: 10)
        #expect(LimitEnforcement.notes(for: [a, b], support: support) == [
            "limits.cpu of a, b is not enforced: no cpu controller here; no rlimit caps a rate of CPU (limits.cpu_time caps the total)",
            "limits.tasks of a is enforced with RLIMIT_NPROC instead of pids.max (no pids controller here): RLIMIT_NPROC counts every process and thread of the worker's user, not only this instance's, and root ignores it",
        ])
        #expect(LimitEnforcement.notes(for: [a, b], support: .everything) == [])
        #expect(LimitEnforcement.processRlimit(a.limits, support: support) == 10)
        #expect(LimitEnforcement.processRlimit(a.limits, support: .everything) == nil)
        #expect(LimitEnforcement.cpuMax(percent: 150) == (150_000, 100_000))
        #expect(LimitEnforcement.cpuMax(percent: 1) == (1_000, 100_000))
    }

    private func scratchDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.path + "/bh-config-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
