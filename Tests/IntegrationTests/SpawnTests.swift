import Foundation
import Glibc
import Testing

/// What a worker starts with (STYLE 5: every child starts clean; ARCHITECTURE: the worker
/// environment), the config's env/cwd/user/limits, and spawns that fail at spawn time.
@Suite("Spawning")
struct SpawnTests {
    @Test("a worker starts clean: empty mask, default dispositions, own session, stdin /dev/null, fds 0-3 only")
    func cleanStart() async throws {
        try await withDaemon("""
        workers:
          - name: probe
            command: [{{crashlab}}, --print-env]
        """) { daemon in
            let spawn = try await daemon.next("probe:0", "spawn")
            let pid = try #require(DaemonHarness.spawnedPID(spawn.line))
            try await daemon.nextLine(what: "the last rlimit line") { $0.hasPrefix("probe:0 | crashlab: rlimit FSIZE ") }
            let env = CrashLabReport(daemon.stdoutLines(of: "probe:0"))

            #expect(env.value("SigBlk") == "0000000000000000", "blocked: \(env.value("SigBlk") ?? "nil")")
            #expect(env.value("SigIgn") == "0000000000000000", "ignored: \(env.value("SigIgn") ?? "nil")")
            let ids = env.ids
            #expect(ids["pid"] == Int(pid))
            #expect(ids["pgid"] == Int(pid), "its own process group")
            #expect(ids["sid"] == Int(pid), "its own session")
            #expect(ids["ppid"] == Int(daemon.daemonPID))

            #expect(env.value("fds") == "0 1 2 3", "open fds: \(env.value("fds") ?? "nil")")
            #expect(env.value("fd 0") == "/dev/null")
            #expect(env.value("fd 1")?.hasPrefix("pipe:") == true)
            #expect(env.value("fd 2")?.hasPrefix("pipe:") == true)
            #expect(env.value("fd 3")?.contains("memfd:bulkhead-breadcrumbs-probe:0") == true, "\(env.value("fd 3") ?? "nil")")
            #expect(env.env("BULKHEAD_BREADCRUMBS_FD") == "3")

            #expect(env.env("NOTIFY_SOCKET") == "@bulkhead/\(daemon.daemonPID)/notify")
            #expect(env.env("BULKHEAD_WORKER") == "probe")
            #expect(env.env("BULKHEAD_INSTANCE") == "probe:0")
            #expect(env.env("BULKHEAD_INSTANCE_INDEX") == "0")
            #expect(env.lines.contains("env WATCHDOG_USEC unset"), "no watchdog configured")
            let backtrace = env.env("SWIFT_BACKTRACE") ?? ""
            #expect(backtrace.contains("interactive=no") && backtrace.contains("format=json"), "\(backtrace)")
        }
    }

    @Test("env, cwd, user and limits (open_files, processes, core) are applied")
    func shapedWorker() async throws {
        try await withDaemon("""
        workers:
          - name: shell
            command: [/bin/sh, -c, "echo \\"greeting=$GREETING\\"; echo \\"cwd=$(pwd)\\"; echo \\"ids=$(id -u):$(id -g)\\"; echo \\"user=$USER\\"; exec sleep 1000"]
            env: { GREETING: "hello world" }
            cwd: {{dir}}/work
            user: nobody
          - name: limited
            command: [{{crashlab}}, --print-env]
            user: nobody
            limits: { open_files: 123, processes: 4321, core: 1MiB }
          - name: unlimited
            command: [{{crashlab}}, --print-env]
            limits: { core: unlimited }
            backtrace: false
        """, prepare: { daemon in
            try FileManager.default.createDirectory(atPath: daemon.directory + "/work", withIntermediateDirectories: true)
        }) { daemon in
            let nobody = try #require(getpwnam("nobody"))
            let uid = nobody.pointee.pw_uid
            let gid = nobody.pointee.pw_gid

            try await daemon.nextLine(what: "the shell's user line") { $0.hasPrefix("shell:0 | user=") }
            let shell = daemon.stdoutLines(of: "shell:0")
            #expect(shell.contains("greeting=hello world"), "\(shell)")
            #expect(shell.contains("cwd=\(daemon.directory)/work"), "\(shell)")
            #expect(shell.contains("ids=\(uid):\(gid)"), "\(shell)")
            #expect(shell.contains("user=nobody"), "\(shell)")

            try await daemon.nextLine(what: "limited's last rlimit line") { $0.hasPrefix("limited:0 | crashlab: rlimit FSIZE ") }
            let limited = CrashLabReport(daemon.stdoutLines(of: "limited:0"))
            #expect(limited.ids["uid"] == Int(uid) && limited.ids["gid"] == Int(gid), "\(limited.value("ids") ?? "nil")")
            #expect(limited.rlimit("NOFILE").map { [$0.soft, $0.hard] } == ["123", "123"])
            #expect(limited.rlimit("NPROC").map { [$0.soft, $0.hard] } == ["4321", "4321"])
            #expect(limited.rlimit("CORE").map { [$0.soft, $0.hard] } == ["1048576", "1048576"])

            try await daemon.nextLine(what: "unlimited's last rlimit line") { $0.hasPrefix("unlimited:0 | crashlab: rlimit FSIZE ") }
            let unlimited = CrashLabReport(daemon.stdoutLines(of: "unlimited:0"))
            #expect(unlimited.rlimit("CORE").map { [$0.soft, $0.hard] } == ["unlimited", "unlimited"])
            #expect(unlimited.ids["uid"] == 0)
            // `backtrace: false` turns the runtime's default backtracer off, not just bulkhead's set-up.
            #expect(daemon.stdoutLines(of: "unlimited:0").contains("crashlab: env SWIFT_BACKTRACE=enable=no"))
        }
    }

    @Test("a binary deleted after load fails the restart: an event and a clear report, never a daemon crash")
    func missingBinary() async throws {
        try await withDaemon("""
        defaults:
          backoff: { initial: 50ms, max: 50ms, jitter: 0 }
        workers:
          - name: vanishing
            command: [{{dir}}/vanishing]
          - name: bystander
            command: [{{crashlab}}]
        """, prepare: { daemon in
            let path = daemon.directory + "/vanishing"
            try "#!/bin/sh\nexec sleep 1000\n".write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }) { daemon in
            let spawn = try await daemon.next("vanishing:0", "spawn")
            let pid = try #require(DaemonHarness.spawnedPID(spawn.line))
            let bystander = try #require(DaemonHarness.spawnedPID(try await daemon.next("bystander:0", "spawn").line))
            try FileManager.default.removeItem(atPath: daemon.directory + "/vanishing")
            kill(pid, SIGKILL)

            let killed = try await daemon.next("vanishing:0", "exit", after: spawn.index)
            #expect(killed.line.contains("killed by SIGKILL: transient"), "\(killed.line)")
            let failed = try await daemon.next("vanishing:0", "exit", after: killed.index + 1)
            #expect(failed.line.contains("could not start (exec: \(daemon.directory)/vanishing: no such executable"), "\(failed.line)")
            #expect(failed.line.contains(": persistent (default: spawn failed (exec: "), "\(failed.line)")
            try await daemon.next("vanishing:0", "failed", after: failed.index)

            let report = try daemon.report(for: failed)
            #expect(report["class"] as? String == "persistent")
            #expect((report["spawn_error"] as? String)?.contains("vanishing: no such executable") == true, "\(report["spawn_error"] ?? "nil")")
            #expect(report["pid"] is NSNull)

            // The daemon is alive and still supervising.
            let states = try await daemon.instances()
            #expect(states["vanishing:0"]?["state"] as? String == "failed")
            #expect(states["bystander:0"]?["state"] as? String == "running")
            #expect(states["bystander:0"]?["pid"] as? Int == Int(bystander))
        }
    }

    @Test("an unknown user at spawn time is a failed start with a report naming the user")
    func unknownUser() async throws {
        try await withDaemon("""
        workers:
          - name: ghostly
            command: [{{crashlab}}]
            user: bh-no-such-user
          - name: bystander
            command: [{{crashlab}}]
        """) { daemon in
            let exit = try await daemon.next("ghostly:0", "exit")
            #expect(exit.line.contains("could not start (uid: unknown user \"bh-no-such-user\")"), "\(exit.line)")
            #expect(exit.line.contains(": persistent ("), "\(exit.line)")
            try await daemon.next("ghostly:0", "failed", after: exit.index)
            let report = try daemon.report(for: exit)
            #expect((report["spawn_error"] as? String)?.contains("unknown user \"bh-no-such-user\"") == true)
            #expect(daemon.events("spawn", of: "ghostly:0").isEmpty)
            let states = try await daemon.instances()
            #expect(states["ghostly:0"]?["state"] as? String == "failed")
            #expect(states["bystander:0"]?["state"] as? String == "running")
        }
    }
}
