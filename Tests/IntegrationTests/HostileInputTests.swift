import BulkheadSystem
import Foundation
import Glibc
import Testing

/// Issue 12: inputs that killed, stalled or blinded the daemon, each tried again with real
/// processes. The daemon must keep supervising, answer `status`, and lose nothing silently.
@Suite("Hostile input")
struct HostileInputTests {
    // MARK: - 1. every key at its maximum and its minimum

    /// Every number, duration and size of a worker and of the top level at the end of its range
    /// (ConfigRanges; `instances` stays 1 here — its maximum is a fd question, see the fd tests).
    static let maximal = """
    crash_reports: { keep: 100000, max_bytes: 1TiB }
    output: { journal: off, buffer_lines: 100000, stderr_tail_lines: 1000 }
    workers:
      - name: edge
        command: [{{crashlab}}, --print, hello, --exit, "1", --after, 200ms]
        ready: 7d
        start_timeout: 7d
        watchdog: 7d
        watchdog_grace: 1h
        backoff: { initial: 1h, max: 7d, multiplier: 100, jitter: 1, reset_after: 7d }
        crash_loop: { max_restarts: 100000, window: 7d, cooldown: 30d, same_crash: 1000 }
        stop: { timeout: 7d }
        limits: { memory: 1024TiB, open_files: 1073741824, processes: 4194304, core: 1024TiB, cpu_time: 366d, file_size: 1048576TiB }
        rules: [ { when: { exit_code: [255] }, then: transient } ]
    """

    static let minimal = """
    crash_reports: { keep: 1, max_bytes: 1 }
    output: { journal: off, buffer_lines: 0, stderr_tail_lines: 0 }
    workers:
      - name: edge
        command: [{{crashlab}}, --print, hello, --exit, "1", --after, 10ms]
        ready: 0
        start_timeout: 1ns
        watchdog: 1ns
        watchdog_grace: 0
        backoff: { initial: 0, max: 1ns, multiplier: 1, jitter: 0, reset_after: 1ns }
        crash_loop: { max_restarts: 1, window: 1ns, cooldown: 1ns, same_crash: 0 }
        stop: { timeout: 1ns }
        limits: { memory: 1, open_files: 1, processes: 1, core: 0, cpu_time: 1ns, file_size: 1 }
        rules: [ { when: { exit_code: [0] }, then: transient } ]
      - name: steady
        command: [/bin/sleep, "1000"]
    """

    @Test("every key at its maximum, then its minimum, then its maximum again: check-config, start and reload never kill the daemon")
    func extremeValues() async throws {
        try await withDaemon(Self.maximal) { daemon in
            let checked = try Products.run("bulkhead", ["check-config", daemon.configPath])
            #expect(checked.code == 0, "check-config: \(checked.stderr)")
            try await daemon.next("edge:0", "exit")
            try await daemon.status(what: "edge waits a long backoff or failed, the daemon answers") { instances in
                ["backoff", "failed", "open"].contains(instances["edge:0"]?["state"] as? String ?? "")
            }
            // The bottom of every range: a hot crash loop with 1 ns timeouts and limits no
            // program can start under. The daemon must go on answering and supervising.
            try daemon.write(config: Self.minimal)
            let reload = try await daemon.command(["reload", "--json"])
            #expect(reload.code == 0, "reload to the minimum: \(reload.stderr)")
            let steady = try await daemon.next("steady:0", "spawn")
            for _ in 0..<5 {
                let status = try await daemon.command(["status"])
                #expect(status.code == 0, "status under the minimal config: \(status.stderr)")
            }
            try daemon.write(config: Self.maximal)
            let back = try await daemon.command(["reload", "--json"])
            #expect(back.code == 0, "reload back to the maximum: \(back.stderr)")
            #expect(try await daemon.command(["logs", "edge", "-n", "100000"]).code == 0)
            #expect(daemon.process?.isRunning == true)
            _ = steady
        }
    }

    // MARK: - 2. logs replies are bounded and made as the client reads

    static func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    @Test("1000 clients asking for 100000 log lines and never reading: RSS bounded, status fast, restarts on time")
    func nonReadingLogsClients() async throws {
        try await withDaemon("""
        output: { journal: off, buffer_lines: 100000 }
        defaults:
          crash_loop: { same_crash: 0, max_restarts: 100000 }
        workers:
          - name: loud
            command: [{{crashlab}}, --flood, "100000", --line-bytes, "180"]
          - name: ticker
            command: [{{crashlab}}, --exit, "1", --after, 100ms]
            backoff: { initial: 200ms, max: 200ms, jitter: 0 }
            backtrace: false
        """) { daemon in
            try await daemon.nextLine(what: "the flood's last line") { $0.hasPrefix("loud:0 | flood 100000/") }
            try await daemon.next("ticker:0", "spawn")
            let before = Self.residentKiB(daemon.daemonPID)
            let request = #"{"v":1,"cmd":"logs","args":{"names":["loud"],"lines":100000}}"# + "\n"
            let clients = try await offThread {
                Handed(value: try (0..<1000).map { _ -> RawControlSocket in
                    let client = try RawControlSocket(path: daemon.socketPath)
                    client.send(request)
                    return client
                })
            }.value
            // Every request has been taken and answered as far as its client's socket allows.
            let mark = daemon.mark
            let status = try await offThread { () -> [Double] in
                let asker = try RawControlSocket(path: daemon.socketPath)
                var times: [Double] = []
                for _ in 0..<100 {
                    let started = Date()
                    _ = try asker.request(#"{"v":1,"cmd":"status"}"#)
                    times.append(Date().timeIntervalSince(started))
                }
                return times.sorted()
            }
            // The goal (p99 ≤ 50 ms) is measured by `bulkhead-bench hostile-logs` on a release
            // build; here, beside other tests on a debug build, a bound that still catches the
            // old failure (1.85 s, or no answer within 30 s).
            let p99 = status[98]
            #expect(p99 < 1.0, "status p99 with 1000 stalled logs clients: \(Int(p99 * 1000)) ms")
            // The ticker keeps its 200 ms rhythm: three restarts come in well under a minute.
            var index = mark
            for _ in 0..<3 { index = try await daemon.next("ticker:0", "spawn", after: index + 1).index }
            let after = Self.residentKiB(daemon.daemonPID)
            #expect(after - before < 64 * 1024, "RSS grew \(after - before) KiB with 1000 stalled logs clients")
            withExtendedLifetime(clients) {}
        }
    }

    @Test("a logs reply of 100000 lines is complete, in order, and one JSON line")
    func bigLogsReplyIsComplete() async throws {
        try await withDaemon("""
        output: { journal: off, buffer_lines: 100000 }
        workers:
          - name: loud
            command: [{{crashlab}}, --flood, "100000", --line-bytes, "100"]
        """) { daemon in
            try await daemon.nextLine(what: "the flood's last line") { $0.hasPrefix("loud:0 | flood 100000/") }
            let reply = try await offThread { () -> Handed<[String: Any]> in
                let client = try RawControlSocket(path: daemon.socketPath)
                return Handed(value: try client.request(#"{"v":1,"cmd":"logs","args":{"names":["loud:0"],"lines":100000}}"#, timeout: 120))
            }.value
            let lines = ((reply["result"] as? [String: Any])?["lines"] as? [[String: Any]]) ?? []
            #expect(lines.count == 100000)
            #expect((lines.first?["text"] as? String)?.hasPrefix("flood 000001/") == true)
            #expect((lines.last?["text"] as? String)?.hasPrefix("flood 100000/") == true)
        }
    }

    // MARK: - 3. crash reports on a full disk

    @Test("state_dir full: the loss is said, the report kept in memory and served, writing resumes when space returns")
    func fullDisk() async throws {
        let directory = FileManager.default.temporaryDirectory.path + "/bh-fulldisk-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard mount("tmpfs", directory, "tmpfs", 0, "size=256k") == 0 else {
            Issue.record("cannot mount a 256 KiB tmpfs (\(String(cString: strerror(errno)))): this test needs root")
            return
        }
        defer { umount2(directory, Int32(MNT_DETACH)) }
        try await withDaemon("""
        state_dir: \(directory)
        output: { journal: off }
        defaults:
          crash_loop: { same_crash: 0, max_restarts: 100000 }
        workers:
          - name: crasher
            command: [{{crashlab}}, --die, abort, --after, 100ms]
            backoff: { initial: 300ms, max: 300ms, jitter: 0 }
        """) { daemon in
            // The disk fills up (a filler file takes every block left).
            let filler = directory + "/filler"
            let fd = open(filler, O_WRONLY | O_CREAT, 0o600)
            let block = [UInt8](repeating: 0x5A, count: 4096)
            while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
            close(fd)
            let refused = try await daemon.nextLine(what: "a report-not-saved event") { $0.contains("* report-not-saved: ") }
            #expect(refused.line.contains("No space left on device"), "\(refused.line)")
            let exit = try await daemon.next("crasher:0", "exit", after: refused.index)
            let id = try #require(DaemonHarness.crashID(in: exit.line))
            // No more crashes: what waits in memory must fit the disk once space returns.
            #expect(try await daemon.command(["stop", "crasher"]).code == 0)
            let shown = try await daemon.command(["crash", id, "--json"])
            #expect(shown.code == 0, "crash \(id) while the disk is full: \(shown.stderr)")
            #expect(shown.stdout.contains(id))
            let document = try await offThread { Handed(value: try daemon.statusJSON().document) }.value
            let counters = document["daemon"] as? [String: Any]
            #expect((counters?["crash_reports_unsaved"] as? Int ?? 0) > 0, "\(counters ?? [:])")

            // Space again: remove the filler, and the waiting reports reach the disk, the one
            // named above among them.
            try FileManager.default.removeItem(atPath: filler)
            let written = await Processes.waitUntil {
                let unsaved = ((try? daemon.statusJSON().document["daemon"]) as? [String: Any])?["crash_reports_unsaved"] as? Int
                return unsaved == 0 && FileManager.default.fileExists(atPath: directory + "/crashes/" + id + ".json")
            }
            #expect(written, "reports still waiting in memory after space returned")
        }
    }

    // MARK: - 4. out of fds

    static func openDescriptors(_ pid: Int32) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return names.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
    }

    @Test("a spawn that fails leaves no fd behind, twenty times over")
    func failedSpawnsLeakNothing() async throws {
        try await withDaemon("""
        output: { journal: off }
        workers:
          - name: broken
            command: [/bin/true]
            cwd: /nonexistent-directory
          - name: steady
            command: [/bin/sleep, "1000"]
        """) { daemon in
            try await daemon.status(what: "broken failed") { $0["broken:0"]?["state"] as? String == "failed" }
            let before = Self.openDescriptors(daemon.daemonPID).count
            for _ in 0..<20 {
                let mark = daemon.mark
                #expect(try await daemon.command(["reset", "broken"]).code == 0)
                try await daemon.next("broken:0", "failed", after: mark)
            }
            // The CLI's last connection may still be open for a moment: wait for the count to
            // come back (a leak would keep it above for good).
            let settled = await Processes.waitUntil(timeout: 30) { Self.openDescriptors(daemon.daemonPID).count <= before }
            #expect(settled, "fds before \(before), after 20 failed spawns \(Self.openDescriptors(daemon.daemonPID).count)")
        }
    }

    @Test("fds run out: a reload that cannot fit is refused; spawns that hit EMFILE back off, nothing leaks, status answers")
    func outOfDescriptors() async throws {
        guard let prlimit = tool("/usr/bin/prlimit") else {
            Issue.record("prlimit (util-linux) is not installed")
            return
        }
        let config = { (instances: Int, command: String) in
            """
            output: { journal: off }
            defaults:
              crash_loop: { same_crash: 0, max_restarts: 100000 }
            workers:
              - name: many
                command: \(command)
                instances: \(instances)
                backoff: { initial: 100ms, max: 1s }
            """
        }
        try await withDaemon(config(2, "[/bin/sleep, \"1000\"]")) { daemon in
            try await daemon.next("many:1", "spawn")
            let baseline = Self.openDescriptors(daemon.daemonPID).count
            // The soft limit only: the hard one cannot be raised again here (no CAP_SYS_RESOURCE).
            let setLimit = { (limit: Int) throws in
                let set = try Products.run(prlimit, ["--pid", "\(daemon.daemonPID)", "--nofile=\(limit):"], from: "/")
                try #require(set.code == 0, "prlimit: \(set.stderr)")
            }
            // 1. A config that cannot fit is refused whole, in one sentence, nothing changed.
            let limit = baseline + 40
            try setLimit(limit)
            try daemon.write(config: config(60, "[/bin/sleep, \"1000\"]"))
            let refused = try await daemon.command(["reload"])
            #expect(refused.code != 0)
            #expect(refused.stderr.contains("60 instances need ~244 fds; the limit is \(limit): raise LimitNOFILE= or use output: journal-direct"),
                    "\(refused.stderr)")
            #expect(try await daemon.instances().count == 2)

            // 2. The limit lowered under a config that fitted (a prlimit after the reload): 60
            // instances dying every 200 ms find no fds for their next start. Each failed spawn
            // is a death that backs off, never a hot loop.
            try setLimit(10_000)
            try daemon.write(config: config(60, "[/bin/sh, -c, \"sleep 0.2; exit 3\"]"))
            #expect(try await daemon.command(["reload"]).code == 0)
            try await daemon.next("many:59", "spawn")
            // RLIMIT_NOFILE bounds fd numbers, not their count, and the daemon keeps its
            // long-lived fds at 256 and above: the limit goes just above the low fds in use, so
            // the next few new fds (a spawn's pipes) find no number.
            let low = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.daemonPID)/fd")) ?? [])
                .compactMap(Int.init).filter { $0 < 256 }.count
            try setLimit(low + 2)
            let mark = daemon.mark
            var index = try await daemon.nextLine(after: mark, what: "a spawn failing for fds") { $0.contains("* exit: ") && $0.contains("Too many open files") }.index
            for _ in 0..<3 {
                index = try await daemon.nextLine(after: index + 1, what: "another failed spawn (or a line for its repeats)") { $0.contains("Too many open files") }.index
                let status = try await daemon.command(["status"])
                #expect(status.code == 0 || status.stderr.contains("out of file descriptors"), "status: \(status.stderr)")
            }
            // Breadcrumb rings are mappings: no memfd outlives the spawn that handed it over
            // (one may belong to a spawn being made while /proc is read).
            let memfds = Self.openDescriptors(daemon.daemonPID).filter { $0.contains("memfd:") }.count
            #expect(memfds <= 1, "\(memfds) breadcrumb memfds held")

            // Nothing leaked: back to two idle instances, the daemon holds what it held before.
            try setLimit(10_000)
            try daemon.write(config: config(2, "[/bin/sleep, \"1000\"]"))
            #expect(try await daemon.command(["reload"]).code == 0)
            let settled = await Processes.waitUntil(timeout: 30) { Self.openDescriptors(daemon.daemonPID).count <= baseline }
            #expect(settled, "fds with 2 instances: \(baseline) before, \(Self.openDescriptors(daemon.daemonPID).count) after the storm")
        }
    }

    // MARK: - 5. STOPPING=1

    @Test("STOPPING=1 from the worker: state stopping, its exit 1 afterwards is clean, no report, no restart",
          .enabled(if: tool("/usr/bin/python3") != nil, "python3 is not installed (the worker is a python script)"))
    func stoppingByItself() async throws {
        let script = """
        import os, socket, time
        address = os.environ["NOTIFY_SOCKET"]
        if address.startswith("@"): address = "\\0" + address[1:]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(b"STOPPING=1", address)
        while not os.path.exists(os.environ["GO"]): time.sleep(0.01)
        raise SystemExit(1)
        """
        try await withDaemon("""
        output: { journal: off }
        workers:
          - name: leaving
            command: [/usr/bin/python3, "{{dir}}/leave.py"]
            env: { GO: "{{dir}}/go" }
            stop: { timeout: 5m }   # the SIGKILL after STOPPING=1 must not come before the test looks
        """, prepare: { daemon in
            try script.write(toFile: daemon.directory + "/leave.py", atomically: true, encoding: .utf8)
        }) { daemon in
            let stop = try await daemon.next("leaving:0", "stop", containing: ["STOPPING=1"])
            try await daemon.status(what: "stopping") { $0["leaving:0"]?["state"] as? String == "stopping" }
            FileManager.default.createFile(atPath: daemon.directory + "/go", contents: nil)
            let exit = try await daemon.next("leaving:0", "exit", after: stop.index)
            #expect(exit.line.contains(": clean ("), "\(exit.line)")
            #expect(DaemonHarness.crashID(in: exit.line) == nil)
            try await daemon.status(what: "stopped, not restarted") { $0["leaving:0"]?["state"] as? String == "stopped" }
            #expect(daemon.events("spawn", of: "leaving:0").count == 1)
        }
    }

    // MARK: - 6. closed stdio

    @Test("started with stdin, stdout and stderr closed: they become /dev/null, never the control socket")
    func closedStandardDescriptors() async throws {
        let daemon = try DaemonHarness("""
        output: { journal: off }
        workers:
          - name: steady
            command: [/bin/sleep, "1000"]
        """)
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "exec \"$0\" daemon --config \"$1\" --socket \"$2\" <&- >&- 2>&-", Products.path("bulkhead"), daemon.configPath, daemon.socketPath]
        try shell.run()
        defer {
            kill(shell.processIdentifier, SIGTERM)
            shell.waitUntilExit()
        }
        let answered = await Processes.waitUntil { (try? daemon.cli(["status"]).code) == 0 }
        #expect(answered, "status never answered")
        for fd in 0...2 {
            let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(shell.processIdentifier)/fd/\(fd)")
            #expect(target == "/dev/null", "fd \(fd) is \(target ?? "closed")")
        }
    }

    // MARK: - 9. reload compares settings

    @Test("reload after a comment was added at the top: every worker unchanged, same pids")
    func reloadWithShiftedLines() async throws {
        let config = """
        output: { journal: off }
        workers:
          - name: one
            command: [/bin/sleep, "1000"]
          - name: two
            command: [/bin/sleep, "1001"]
        """
        try await withDaemon(config) { daemon in
            try await daemon.next("two:0", "spawn")
            let pids = try await daemon.instances().mapValues { $0["pid"] as? Int }
            try daemon.write(config: "# a comment\n# and another\n" + config)
            let reload = try await daemon.command(["reload", "--json"])
            #expect(reload.code == 0)
            let result = try RawControlSocket.parse(reload.stdout.replacingOccurrences(of: "\n", with: ""))
            #expect(result["unchanged"] as? [String] == ["one", "two"], "\(result)")
            #expect((result["updated"] as? [String])?.isEmpty == true)
            #expect(try await daemon.instances().mapValues { $0["pid"] as? Int } == pids)
        }
    }

    // MARK: - 11. a missing program at start

    @Test("a worker whose program is missing: check-config refuses, the daemon starts, only that worker fails")
    func missingProgramAtStart() async throws {
        let config = """
        output: { journal: off }
        workers:
          - name: gone
            command: [/nonexistent/bin/worker]
          - name: good
            command: [/bin/sleep, "1000"]
        """
        let daemon = try DaemonHarness(config)
        let checked = try Products.run("bulkhead", ["check-config", daemon.configPath])
        #expect(checked.code == 1)
        #expect(checked.stderr.contains("/nonexistent/bin/worker"))
        try await daemon.launch()
        defer { _ = try? daemon.stop() }
        try await daemon.next("good:0", "spawn")
        #expect(daemon.output.contains { $0.contains("workers[0].command[0]") && $0.contains("that worker fails when started") })
        let states = try await daemon.status(what: "gone failed, good running") {
            $0["gone:0"]?["state"] as? String == "failed" && $0["good:0"]?["state"] as? String == "running"
        }
        #expect(states["gone:0"]?["last_class"] as? String == "persistent")
    }
}
