import BulkheadDaemon
import BulkheadSystem
import CLinux
import Foundation

/// The control socket under load: `instances` instances, `crashing` of them dying and being
/// restarted all the time. Measures the `status` round trip over the socket (one connection
/// reused, and a fresh connection per request as the CLI makes), and `bulkhead status` as a
/// process, end to end (exec, start-up, request, table printed). Targets: p99 round trip ≤ 2 ms,
/// p50 `bulkhead status` ≤ 5 ms.
enum ControlBenchmark {
    static func run(instances: Int = 1000, crashing: Int = 50, roundTrips: Int = 2000, processRuns: Int = 200) throws {
        let crashers = min(crashing, instances)
        let config = """
        workers:
          - name: idle
            command: [\(Benchmarks.tiny), sleep]
            instances: \(instances - crashers)
            backtrace: false
          - name: crasher
            command: [\(Benchmarks.tiny), exit-after, "200", "1"]
            instances: \(crashers)
            backtrace: false
            backoff: { initial: 100ms, max: 100ms, jitter: 0 }
            crash_loop: { max_restarts: 100000000, same_crash: 0 }
        """
        let daemon = try BenchDaemon(config: config, watch: ["* spawn:", "* exit:"])
        defer { daemon.stop() }
        let socket = daemon.directory + "/control.sock"
        guard daemon.wait(for: "* spawn:", count: instances, timeout: 120) else {
            print("control: the daemon did not spawn \(instances) instances in 120 s")
            return
        }
        // Let the crashers settle into their rhythm.
        daemon.wait(for: "* exit:", count: crashers * 3, timeout: 60)
        let exitsBefore = daemon.countOf("* exit:")
        let started = bh_monotonic_ns()

        // One connection, many requests.
        let client = try ControlClient(path: socket)
        var statusBytes = 0
        for _ in 0..<50 { _ = try client.call("status") }
        var reused: [Double] = []
        for _ in 0..<roundTrips {
            let t0 = bh_monotonic_ns()
            let result = try client.call("status")
            reused.append(Double(bh_monotonic_ns() - t0) / 1e3)
            if statusBytes == 0 { statusBytes = result.encodedBytes().count }
        }
        // A connection per request, as `bulkhead status` does.
        var fresh: [Double] = []
        for _ in 0..<roundTrips / 2 {
            let t0 = bh_monotonic_ns()
            let once = try ControlClient(path: socket)
            _ = try once.call("status")
            fresh.append(Double(bh_monotonic_ns() - t0) / 1e3)
        }
        // `ping`: the socket and framing alone, without the status document.
        var ping: [Double] = []
        for _ in 0..<roundTrips {
            let t0 = bh_monotonic_ns()
            _ = try client.call("ping")
            ping.append(Double(bh_monotonic_ns() - t0) / 1e3)
        }
        print("control: status round trip, \(instances) instances (\(crashers) crash-looping), reply \(statusBytes / 1024) KiB:")
        print("  same connection   \(Distribution(reused).summary("us"))")
        print("  connection each   \(Distribution(fresh).summary("us"))")
        print("  ping              \(Distribution(ping).summary("us"))")

        // The CLI as a process, end to end.
        let cli = Benchmarks.productsDirectory + "/bulkhead"
        for arguments in [["status"], ["status", "--json"], ["status", "crasher:0"], ["--version"]] {
            var runs: [Double] = []
            for _ in 0..<processRuns {
                let t0 = bh_monotonic_ns()
                let code = try runProcess(cli, arguments + (arguments == ["--version"] ? [] : ["--socket", socket]))
                runs.append(Double(bh_monotonic_ns() - t0) / 1e6)
                if code != 0 {
                    print("control: `bulkhead \(arguments.joined(separator: " "))` exited \(code)")
                    return
                }
            }
            let label = ("bulkhead " + arguments.joined(separator: " ")).padding(toLength: 30, withPad: " ", startingAt: 0)
            print("  \(label) \(Distribution(runs).summary("ms"))")
        }
        let seconds = Double(bh_monotonic_ns() - started) / 1e9
        let exits = daemon.countOf("* exit:") - exitsBefore
        print(String(format: "  meanwhile: %d deaths handled in %.1f s (%.0f/s); process: %@", exits, seconds, Double(exits) / seconds, cli))
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
