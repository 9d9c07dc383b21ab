import Foundation
import Glibc
import Testing

/// Issue 19: the daemon's fds. At most 3 per instance whose output goes through bulkhead (its
/// two pipes and its pidfd: one notify socket serves every instance, breadcrumb rings are
/// mappings), 1 with `output: append:PATH` or `journal-direct`; and a config that cannot fit
/// the fd limit is refused in one sentence by `check-config`, at start and at `reload`.
@Suite("fd budget")
struct DescriptorBudgetTests {
    static let sentence = "400 instances need ~1264 fds; the limit is 1000: raise LimitNOFILE= or use output: journal-direct"

    static func scratch(_ label: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bh-fds-\(label)-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    static func config(_ directory: String, instances: Int, output: String? = nil) -> String {
        """
        state_dir: \(directory)/state
        \(output.map { "defaults: { output: \"\($0)\" }" } ?? "")
        workers:
          - name: many
            command: [/bin/sleep, "1000"]
            instances: \(instances)
        """
    }

    @Test("check-config refuses a config the fd limit cannot hold, in one sentence; with journal-direct it fits",
          .enabled(if: tool("/usr/bin/prlimit") != nil, "prlimit (util-linux) is not installed"))
    func checkConfigRefuses() throws {
        let directory = try Self.scratch("check")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pipes = directory + "/pipes.yaml"
        let direct = directory + "/direct.yaml"
        try Self.config(directory, instances: 400).write(toFile: pipes, atomically: true, encoding: .utf8)
        try Self.config(directory, instances: 400, output: "journal-direct").write(toFile: direct, atomically: true, encoding: .utf8)

        let refused = try Products.run("/usr/bin/prlimit", ["--nofile=1000:1000", Products.path("bulkhead"), "check-config", pipes], from: "/")
        #expect(refused.code == 1)
        #expect(refused.stderr == "\(pipes): \(Self.sentence)\n", "\(refused.stderr)")
        let fits = try Products.run("/usr/bin/prlimit", ["--nofile=1000:1000", Products.path("bulkhead"), "check-config", direct], from: "/")
        #expect(fits.code == 0, "\(fits.stderr)")
        #expect(fits.stdout == "\(direct): valid (1 worker, 400 instances, ~464 of 1000 fds)\n", "\(fits.stdout)")
    }

    @Test("the daemon refuses to start with a config the fd limit cannot hold, and says what to do",
          .enabled(if: tool("/usr/bin/prlimit") != nil, "prlimit (util-linux) is not installed"))
    func startRefused() throws {
        let directory = try Self.scratch("start")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/pipes.yaml"
        try Self.config(directory, instances: 400).write(toFile: path, atomically: true, encoding: .utf8)
        let started = try Products.run("/usr/bin/prlimit", [
            "--nofile=1000:1000", Products.path("bulkhead"), "daemon", "--config", path, "--socket", directory + "/control.sock",
        ], from: "/", timeout: 30)
        #expect(started.code == 1)
        #expect(started.stderr == "bulkhead: \(Self.sentence)\n", "\(started.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/control.sock"))
    }

    @Test("1 fd per instance with append:, 3 through bulkhead; a reload the limit cannot hold changes nothing",
          .enabled(if: tool("/usr/bin/prlimit") != nil, "prlimit (util-linux) is not installed"))
    func descriptorsPerInstance() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("bh-fds-append-\(getpid()).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let worker = { (instances: Int, output: String) in
            """
            output: { journal: off }
            workers:
              - name: many
                command: [/bin/sh, -c, "echo started $BULKHEAD_INSTANCE; exec sleep 1000"]
                instances: \(instances)
                output: "\(output)"
            """
        }
        try await withDaemon(worker(1, "append:\(log)")) { daemon in
            try await daemon.next("many:0", "spawn")
            try await daemon.status(what: "many:0 running") { $0["many:0"]?["state"] as? String == "running" }
            let base = await Self.settledCount(daemon.daemonPID)

            try daemon.write(config: worker(51, "append:\(log)"))
            #expect(try await daemon.command(["reload"]).code == 0)
            try await Self.allRunning(daemon, 51)
            let appended = await Self.settledCount(daemon.daemonPID, atMost: base + 50)
            #expect(appended <= base + 50, "51 instances with append: hold \(appended) fds; 1 instance held \(base)")
            let written = await Processes.waitUntil {
                (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").count ?? 0 >= 51
            }
            #expect(written, "the workers' lines are in the file: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")

            // Output through bulkhead: every instance restarts (a new process identity) with pipes.
            let mark = daemon.mark
            try daemon.write(config: worker(51, "bulkhead"))
            #expect(try await daemon.command(["reload"]).code == 0)
            try await daemon.next("many:50", "spawn", after: mark)
            try await Self.allRunning(daemon, 51)
            let piped = await Self.settledCount(daemon.daemonPID, atMost: base + 50 + 2 * 51)
            #expect(piped <= base + 50 + 2 * 51, "51 instances through bulkhead hold \(piped) fds; 1 instance with append: held \(base)")
            #expect(daemon.events("exit", of: "many:0").count == 1, "restarted once, by the reload")

            // Now the limit cannot hold 200 more instances: the reload is refused, nothing changes.
            let limit = piped + 100
            let lowered = try Products.run("/usr/bin/prlimit", ["--pid", "\(daemon.daemonPID)", "--nofile=\(limit):\(limit)"], from: "/")
            try #require(lowered.code == 0, "prlimit: \(lowered.stderr)")
            try daemon.write(config: worker(251, "bulkhead"))
            let reload = try await daemon.command(["reload"])
            #expect(reload.code != 0)
            #expect(reload.stderr.contains("251 instances need ~") && reload.stderr.contains("the limit is \(limit): raise LimitNOFILE= or use output: journal-direct"),
                    "\(reload.stderr)")
            let states = try await daemon.instances()
            #expect(states.count == 51)
        }
    }

    static func allRunning(_ daemon: DaemonHarness, _ count: Int) async throws {
        try await daemon.status(what: "\(count) instances running") { states in
            states.count == count && states.values.allSatisfy { $0["state"] as? String == "running" }
        }
    }

    /// The daemon's open fds; with `bound`, once they are at most that or 10 s have passed (a
    /// CLI's connection may still be closing).
    static func settledCount(_ pid: Int32, atMost bound: Int? = nil) async -> Int {
        let count: @Sendable () -> Int = { ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count }
        if let bound { _ = await Processes.waitUntil(timeout: 10) { count() <= bound } }
        return count()
    }
}
