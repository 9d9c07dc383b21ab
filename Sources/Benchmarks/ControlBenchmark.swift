import BulkheadControl
import BulkheadJSON
import BulkheadSystem
import CLinux
import Foundation

/// The control socket under load: `instances` instances, `crashing` of them dying and being
/// restarted all the time (each lives `crashEvery` ms, then waits out a 100 ms backoff). Then the
/// crashers are stopped and everything is measured again with the daemon otherwise idle.
///
/// Measured: the `status` round trip over one connection (request written → whole reply read;
/// also with the reply parsed into a JSON value, and the table the CLI prints), `ping` (the
/// socket and framing alone), and `bulkhead status` as a process, end to end (exec, start-up,
/// connect, request, output written). Targets: p99 round trip ≤ 2 ms; p50 `bulkhead status`
/// ≤ 5 ms.
enum ControlBenchmark {
    static func run(instances: Int = 1000, crashing: Int = 50, crashEvery: Int = 200, roundTrips: Int = 2000, processRuns: Int = 200) throws {
        let crashers = min(crashing, instances)
        let config = """
        workers:
          - name: idle
            command: [\(Benchmarks.tiny), sleep]
            instances: \(instances - crashers)
            backtrace: false
          - name: crasher
            command: [\(Benchmarks.tiny), exit-after, "\(crashEvery)", "1"]
            instances: \(crashers)
            backtrace: false
            backoff: { initial: 100ms, max: 100ms, jitter: 0 }
            crash_loop: { max_restarts: 100000, same_crash: 0 }
        """
        let daemon = try BenchDaemon(config: config, watch: ["* spawn:", "* exit:"])
        defer { daemon.stop() }
        let socket = daemon.directory + "/control.sock"
        guard daemon.wait(for: "* spawn:", count: instances, timeout: 120) else {
            print("control: the daemon did not spawn \(instances) instances in 120 s")
            return
        }
        daemon.wait(for: "* exit:", count: crashers * 3, timeout: 60)
        let client = try ControlClient(path: socket)
        let size = try client.callRaw("status").count
        print("control: \(instances) instances, status document \(size / 1024) KiB")

        let exitsBefore = daemon.countOf("* exit:")
        let started = bh_monotonic_ns()
        try measure("\(crashers) crash-looping", client: client, socket: socket, daemonPID: daemon.pid, roundTrips: roundTrips, processRuns: processRuns)
        let seconds = Double(bh_monotonic_ns() - started) / 1e9
        let deaths = daemon.countOf("* exit:") - exitsBefore
        print(String(format: "  (meanwhile %d deaths handled, %.0f/s)", deaths, Double(deaths) / seconds))

        _ = try client.call("stop", [("names", [.string("crasher")])])
        let quiet = bh_monotonic_ns() + 2_000_000_000
        while bh_monotonic_ns() < quiet { _ = try client.call("ping") }
        try measure("none crashing", client: client, socket: socket, daemonPID: daemon.pid, roundTrips: roundTrips, processRuns: processRuns)
    }

    static func measure(_ label: String, client: ControlClient, socket: String, daemonPID: Int32, roundTrips: Int, processRuns: Int) throws {
        func sample(_ count: Int, _ body: () throws -> Void) rethrows -> Distribution {
            var values: [Double] = []
            values.reserveCapacity(count)
            for _ in 0..<count {
                let t0 = bh_monotonic_ns()
                try body()
                values.append(Double(bh_monotonic_ns() - t0) / 1e3)
            }
            return Distribution(values)
        }
        for _ in 0..<50 { _ = try client.callRaw("status") }
        let stolenBefore = HostSteal.ticks()
        let (raw, waits) = try statusRoundTrips(roundTrips, client: client, daemonPID: daemonPID)
        let parsed = try sample(roundTrips / 2) { _ = try client.call("status") }
        let table = try sample(roundTrips / 2) { _ = try client.callRaw("status", [("format", "table")]) }
        let fresh = try sample(roundTrips / 2) { _ = try ControlClient(path: socket).callRaw("status") }
        let ping = try sample(roundTrips) { _ = try client.call("ping") }
        print("  \(label): \(HostSteal.describe(since: stolenBefore)) while the round trips ran")
        print("    status round trip             \(raw.summary("us"))")
        print("      slowest 1%: \(waits)")
        print("    status, reply parsed          \(parsed.summary("us"))")
        print("    status as a table             \(table.summary("us"))")
        print("    status, a connection each     \(fresh.summary("us"))")
        print("    ping                          \(ping.summary("us"))")

        // The floor: spawning and reaping a program that does nothing, the same way.
        var floor: [Double] = []
        for _ in 0..<processRuns {
            let t0 = bh_monotonic_ns()
            _ = try runProcess("/bin/true", [])
            floor.append(Double(bh_monotonic_ns() - t0) / 1e6)
        }
        print("    /bin/true (spawn floor)       \(Distribution(floor).summary("ms"))")
        let cli = Benchmarks.productsDirectory + "/bulkhead"
        for arguments in [["status"], ["status", "--json"], ["status", "idle:0"], ["--version"]] {
            var runs: [Double] = []
            for _ in 0..<processRuns {
                let t0 = bh_monotonic_ns()
                let code = try runProcess(cli, arguments + (arguments == ["--version"] ? [] : ["--socket", socket]))
                runs.append(Double(bh_monotonic_ns() - t0) / 1e6)
                guard code == 0 else {
                    print("    `bulkhead \(arguments.joined(separator: " "))` exited \(code)")
                    return
                }
            }
            let name = ("bulkhead " + arguments.joined(separator: " ")).padding(toLength: 30, withPad: " ", startingAt: 0)
            print("    \(name)\(Distribution(runs).summary("ms"))")
        }
    }

    /// The status round trip, each one with the time the client thread and the daemon's loop
    /// thread spent waiting for a CPU meanwhile; the slowest 1% are summed up.
    static func statusRoundTrips(_ count: Int, client: ControlClient, daemonPID: Int32) throws -> (Distribution, String) {
        guard let mine = RunQueueDelay("/proc/thread-self/schedstat"),
              let loop = RunQueueDelay("/proc/\(daemonPID)/task/\(daemonPID)/schedstat") else {
            throw SystemError(ENOENT, "no /proc/…/schedstat (CONFIG_SCHEDSTATS)")
        }
        defer {
            mine.close()
            loop.close()
        }
        var samples: [(micros: Double, client: UInt64, daemon: UInt64, busy: UInt64)] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let (c0, d0, r0) = (mine.nanoseconds(), loop.nanoseconds(), loop.running())
            let t0 = bh_monotonic_ns()
            _ = try client.callRaw("status")
            let t1 = bh_monotonic_ns()
            samples.append((Double(t1 - t0) / 1e3, mine.nanoseconds() - c0, loop.nanoseconds() - d0, loop.running() - r0))
        }
        let slowest = samples.sorted { $0.micros > $1.micros }.prefix(max(1, count / 100))
        let n = Double(slowest.count)
        let mean = slowest.reduce(0) { $0 + $1.micros } / n
        let clientWait = slowest.reduce(0) { $0 + Double($1.client) / 1e3 } / n
        let daemonWait = slowest.reduce(0) { $0 + Double($1.daemon) / 1e3 } / n
        let daemonBusy = slowest.reduce(0) { $0 + Double($1.busy) / 1e3 } / n
        let summary = String(format: "mean %.0fus; meanwhile the daemon loop ran %.0fus; waiting for a CPU: client %.0fus, daemon loop %.0fus", mean, daemonBusy, clientWait, daemonWait)
        return (Distribution(samples.map(\.micros)), summary)
    }

    /// Spawns `path` with stdout and stderr on /dev/null and waits for it.
    static func runProcess(_ path: String, _ arguments: [String]) throws -> Int32 {
        let devNull = try FileDescriptor.open("/dev/null", O_RDWR)
        defer { devNull.close() }
        var environment: [String] = []
        for name in ["PATH", "LANG", "HOME"] {
            if let value = ProcessInfo.processInfo.environment[name] { environment.append("\(name)=\(value)") }
        }
        let pid = try Spawner.spawn(SpawnRequest(
            executable: path, arguments: [path] + arguments, environment: environment,
            standardInput: devNull, standardOutput: devNull, standardError: devNull
        ))
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }
}
