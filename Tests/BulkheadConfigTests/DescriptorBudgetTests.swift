import BulkheadPolicy
import Testing

/// `FileDescriptorBudget.needed`: everything a config can make the daemon hold at once, so a
/// config that cannot fit is refused up front instead of failing spawns, checks or hooks with
/// EMFILE one at a time.
@Suite("fd budget of a config")
struct ConfigDescriptorBudgetTests {
    func needed(_ yaml: String) throws -> Int {
        FileDescriptorBudget.needed(try load(yaml, options: shapeOnly))
    }

    @Test func perInstanceByOutput() throws {
        let fixed = FileDescriptorBudget.fixed
        #expect(try needed("workers:\n  - { name: a, command: [/bin/true], instances: 10 }\n") == fixed + 30)
        #expect(try needed("workers:\n  - { name: a, command: [/bin/true], instances: 10, output: journal-direct }\n") == fixed + 10)
        #expect(try needed("workers:\n  - { name: a, command: [/bin/true], instances: 10, output: \"append:/tmp/a.log\" }\n") == fixed + 10)
    }

    @Test func oneHealthCheckInFlightPerInstance() throws {
        let fixed = FileDescriptorBudget.fixed
        let tcp = "workers:\n  - name: a\n    command: [/bin/true]\n    instances: 10\n    health:\n      ready: { tcp: \"127.0.0.1:80\" }\n      live: { http: \"http://127.0.0.1:80/\" }\n"
        #expect(try needed(tcp) == fixed + 10 * (3 + 1), "a socket for an http or tcp check")
        let exec = "workers:\n  - name: a\n    command: [/bin/true]\n    instances: 10\n    health:\n      ready: { tcp: \"127.0.0.1:80\" }\n      live: { exec: [/bin/true] }\n"
        #expect(try needed(exec) == fixed + 10 * (3 + 2), "an exec check's output pipe and pidfd")
    }

    @Test func socketsOncePerWorker() throws {
        let yaml = "workers:\n  - name: a\n    command: [/bin/true]\n    instances: 4\n    sockets:\n      - { listen: \"tcp://127.0.0.1:8080\" }\n      - { listen: \"unix:/tmp/a.sock\", name: admin }\n"
        #expect(try needed(yaml) == FileDescriptorBudget.fixed + 4 * 3 + 2)
    }

    @Test func hookProcessesAndMetricsClients() throws {
        let base = "workers:\n  - { name: a, command: [/bin/true] }\n"
        let hooks = base + "hooks:\n  - { on: [failed], exec: [/bin/true] }\nevents: { hook_processes: 5 }\n"
        #expect(try needed(hooks) == FileDescriptorBudget.fixed + 3 + 5 * FileDescriptorBudget.perHookRun)
        let metrics = base + "metrics: { listen: \"127.0.0.1:9464\" }\n"
        #expect(try needed(metrics) == FileDescriptorBudget.fixed + 3 + 1 + FileDescriptorBudget.metricsClients)
    }

    @Test func theSentenceCountsThemAll() throws {
        let yaml = "workers:\n  - name: a\n    command: [/bin/true]\n    instances: 100\n    health: { live: { exec: [/bin/true] } }\n"
        let config = try load(yaml, options: shapeOnly)
        #expect(FileDescriptorBudget.shortfall(config, limit: 400)
            == "100 instances need ~\(FileDescriptorBudget.fixed + 500) fds; the limit is 400: raise LimitNOFILE= or use output: journal-direct")
        #expect(FileDescriptorBudget.shortfall(config, limit: 1000) == nil)
    }
}
