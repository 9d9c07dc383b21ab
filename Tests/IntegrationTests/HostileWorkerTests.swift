import Foundation
import Glibc
import Testing

/// Fault suite (issue 19): workers that attack the supervisor through what it must handle —
/// thousands of children left behind, a closed stdout written to, a spoofed MAINPID= in a
/// notify flood, a gigabyte without a newline. (Leaving the group with setsid is StopTests and
/// NotifySecurityTests; the notify flood itself is NotifySecurityTests.hostileTraffic.)
/// The slow sizes (a gigabyte, a million datagrams) run with BULKHEAD_SLOW=1; the suite's own
/// are smaller (64 MiB, 100 000), the same code paths.
@Suite("Faults: hostile workers")
struct HostileWorkerTests {
    static let slow = ProcessInfo.processInfo.environment["BULKHEAD_SLOW"] == "1"
    static let python = tool("/usr/bin/python3")

    /// CPU time the process has used (user + system), in clock ticks.
    static func cpuTicks(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14, stime 15.
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    static let forkBomb = #"""
    import os, sys
    n = int(sys.argv[1])
    for i in range(n):
        if os.fork() == 0:
            os._exit(0)
    # Never waited for: n zombies, handed to bulkhead (the subreaper) when this process dies.
    print("forked %d" % n, flush=True)
    sys.exit(3)
    """#

    @Test("a worker forks thousands of children and dies without waiting for them: its death counted, every orphan reaped, supervision goes on",
          .enabled(if: python != nil, "python3 is not installed (the forking worker is a python script)"))
    func thousandsOfChildren() async throws {
        let count = 10_000
        try await withDaemon("""
        output: { journal: off }
        defaults:
          crash_loop: { same_crash: 0, max_restarts: 100000 }
        workers:
          - name: forker
            command: [/usr/bin/python3, "{{dir}}/fork.py", "\(count)"]
            restart: never
          - name: ticker
            command: [{{crashlab}}, --exit, "1", --after, 200ms]
            backoff: { initial: 200ms, max: 200ms, jitter: 0 }
            backtrace: false
        """, prepare: { daemon in
            try Self.forkBomb.write(toFile: daemon.directory + "/fork.py", atomically: true, encoding: .utf8)
        }) { daemon in
            let exit = try await daemon.next("forker:0", "exit", timeout: 300)
            #expect(exit.line.contains("exited with code 3"), "\(exit.line)")
            #expect(daemon.stdoutLines(of: "forker:0").contains("forked \(count)"))
            let pid = daemon.daemonPID
            let reaped = await Processes.waitUntil(timeout: 120) {
                Processes.children(of: pid).filter { $0.stat.state == "Z" }.count <= 1
            }
            #expect(reaped, "zombies left under the daemon: \(Processes.children(of: pid).filter { $0.stat.state == "Z" }.count)")
            let mark = daemon.mark
            try await daemon.next("ticker:0", "exit", after: mark)
            try await daemon.next("ticker:0", "spawn", after: mark)
            #expect(try await daemon.command(["status"]).code == 0)
        }
    }

    @Test("a worker closes its stdout and writes to it: the daemon does not spin on the closed pipe, stderr is still heard, the death is counted with its report")
    func closedStdout() async throws {
        try await withDaemon("""
        output: { journal: off }
        workers:
          - name: closer
            command: [/bin/sh, -c, "exec 1>&-; i=0; while [ $i -lt 100 ]; do echo lost 2>/dev/null; i=$((i+1)); done; echo still heard >&2; sleep 3; exec {{crashlab}} --die null-deref"]
            restart: never
            backtrace: false
        """) { daemon in
            let heard = try await daemon.nextLine(what: "the stderr line") { $0 == "closer:0 ! still heard" }
            let before = Self.cpuTicks(daemon.daemonPID)
            let exit = try await daemon.next("closer:0", "exit", after: heard.index)
            let used = Self.cpuTicks(daemon.daemonPID) - before
            // Three seconds of a worker with a closed stdout: a daemon spinning on the pipe's
            // end would use them all (300 ticks).
            #expect(used < 100, "the daemon used \(used) ticks of CPU while the worker's stdout was closed")
            #expect(exit.line.contains("killed by SIGSEGV"), "\(exit.line)")
            let report = try daemon.report(for: exit)
            #expect(report["class"] as? String == "crash")
            #expect(daemon.stdoutLines(of: "closer:0").isEmpty, "lines from a closed stdout: \(daemon.stdoutLines(of: "closer:0"))")
        }
    }

    static let spoofer = #"""
    import os, socket, sys, time
    decoy = sys.argv[1]
    name = os.environ["NOTIFY_SOCKET"]
    address = "\0" + name[1:] if name.startswith("@") else name
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setblocking(False)
    def send(text):
        try:
            s.sendto(text.encode(), address)
            return True
        except OSError:
            return False
    send("MAINPID=%s\nREADY=1\n" % decoy)
    sent = 0
    for i in range(int(sys.argv[2])):
        sent += send("MAINPID=%s\nSTATUS=spoof %d\n" % (decoy if i % 2 else "1", i))
    print("flooded %d" % sent, flush=True)
    time.sleep(1000)
    """#

    @Test("a worker floods notify messages that claim MAINPID= of another process: its own pid stays the one supervised and signalled, the other process is never touched",
          .enabled(if: python != nil, "python3 is not installed (the spoofing worker is a python script)"))
    func spoofedMainPID() async throws {
        let decoy = Process()
        decoy.executableURL = URL(fileURLWithPath: "/bin/sleep")
        decoy.arguments = ["1000"]
        try decoy.run()
        // SIGKILL: a child started from a test thread may inherit a blocked SIGTERM.
        defer { kill(decoy.processIdentifier, SIGKILL); decoy.waitUntilExit() }
        let count = Self.slow ? 1_000_000 : 100_000
        try await withDaemon("""
        output: { journal: off }
        workers:
          - name: spoofer
            command: [/usr/bin/python3, "{{dir}}/spoof.py", "\(decoy.processIdentifier)", "\(count)"]
            ready: notify
        """, prepare: { daemon in
            try Self.spoofer.write(toFile: daemon.directory + "/spoof.py", atomically: true, encoding: .utf8)
        }) { daemon in
            let spawn = try await daemon.next("spoofer:0", "spawn")
            let workerPID = try #require(DaemonHarness.spawnedPID(spawn.line))
            try await daemon.nextLine(timeout: 300, what: "the flood done") { $0.hasPrefix("spoofer:0 | flooded ") }
            let states = try await daemon.status(what: "the spoofer ready") { $0["spoofer:0"]?["state"] as? String == "running" }
            #expect(states["spoofer:0"]?["pid"] as? Int == Int(workerPID), "status pid \(states["spoofer:0"]?["pid"] ?? "none"), the worker is \(workerPID)")
            #expect(try await daemon.command(["stop", "spoofer"]).code == 0)
            try await daemon.next("spoofer:0", "exit", after: spawn.index)
            #expect(kill(decoy.processIdentifier, 0) == 0 && decoy.isRunning, "the process named by MAINPID= was killed")
            #expect(Processes.isGone(workerPID), "the real worker outlived its stop")
        }
    }

    @Test("a worker writes a gigabyte without a newline: the daemon's memory stays bounded, the output is cut into lines or counted as dropped, the worker's exit is seen")
    func gigabyteWithoutNewline() async throws {
        let megabytes = Self.slow ? 1024 : 64
        try await withDaemon("""
        output: { journal: off }
        workers:
          - name: writer
            command: [/bin/sh, -c, "head -c \(megabytes << 20) /dev/zero | tr '\\\\0' x; echo; echo done >&2; exit 3"]
            restart: never
        """) { daemon in
            let pid = daemon.daemonPID
            // Nobody reads the daemon's own output meanwhile (a slow terminal): what it cannot
            // pass on it must drop and count, not hold.
            daemon.pauseReading()
            var peak = 0
            let started = Date()
            while Date().timeIntervalSince(started) < (Self.slow ? 600 : 120) {
                peak = max(peak, HostileInputTests.residentKiB(pid))
                let busy = Processes.children(of: pid).contains { child in
                    ((try? String(contentsOfFile: "/proc/\(child.pid)/cmdline", encoding: .utf8)) ?? "").contains("head")
                }
                if !busy { break }
                usleep(100_000)
            }
            daemon.resumeReading()
            // The daemon's own stderr was full too: its `exit` line may be one it dropped (and
            // counted). The event history has every event.
            var exitEvent: String?
            let deadline = Date().addingTimeInterval(300)
            while exitEvent == nil && Date() < deadline {
                let history = try await daemon.command(["events", "--json", "writer"])
                exitEvent = history.stdout.split(separator: "\n").map(String.init).first { $0.contains("\"event\":\"exit\"") }
                if exitEvent == nil { try await Task.sleep(nanoseconds: 200_000_000) }
            }
            let exit = try #require(exitEvent, "no exit event for writer:0")
            #expect(exit.contains("\"exit_code\":3"), "\(exit)")
            #expect(peak < 256 << 10, "daemon RSS peaked at \(peak) KiB while \(megabytes) MiB without a newline went through")
            let tail = try await daemon.command(["logs", "writer", "-n", "5"])
            #expect(tail.code == 0, "logs after the flood: \(tail.stderr)")
            #expect(try await daemon.command(["status"]).code == 0)
            let dropped = daemon.output.last { $0.hasPrefix("bulkhead * output-dropped: ") } ?? "none dropped"
            print("\(megabytes) MiB without a newline: daemon RSS peak \(peak) KiB; \(dropped)")
        }
    }
}
