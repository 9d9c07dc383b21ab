import BulkheadControl
import BulkheadSystem
import CLinux
import Foundation

/// Issue 12: a thousand clients each ask for 100000 log lines and never read. Measured: the
/// daemon's RSS before and after, the `status` round trip meanwhile (goal: p99 ≤ 50 ms), and
/// whether a crash-looping worker keeps its rhythm. The integration test asserts the same with
/// generous bounds (it runs debug builds beside other tests); the goal lives here.
enum HostileLogsBenchmark {
    static func run(clients: Int = 1000, lines: Int = 100_000) throws {
        let config = """
        output: { journal: off, buffer_lines: \(lines) }
        workers:
          - name: loud
            command: [\(Benchmarks.tiny), flood, "\(lines)", "180"]
            backtrace: false
          - name: ticker
            command: [\(Benchmarks.tiny), exit-after, "100", "1"]
            backtrace: false
            backoff: { initial: 200ms, max: 200ms, jitter: 0 }
            crash_loop: { max_restarts: 100000, same_crash: 0 }
        """
        let daemon = try BenchDaemon(config: config, watch: ["ticker:0 * spawn:", "loud:0 * exit:"], keep: { !$0.hasPrefix("loud:0 |") })
        defer { daemon.stop() }
        let socket = daemon.directory + "/control.sock"
        guard daemon.wait(for: "loud:0 * exit:", count: 1, timeout: 120) else {
            print("hostile-logs: the flood did not finish in 120 s; the daemon said:")
            for line in daemon.keptLines.suffix(10) { print("  " + line) }
            return
        }
        let before = residentKiB(daemon.pid)
        let request = Array(#"{"v":1,"cmd":"logs","args":{"names":["loud"],"lines":\#(lines)}}"#.utf8) + [0x0A]
        var held: [FileDescriptor] = []
        for _ in 0..<clients {
            let fd = try UnixSocketCalls.stream()
            _ = try UnixSocketCalls.connect(fd, socket)
            _ = request.withUnsafeBytes { try? UnixStream.sendSome(fd, $0) }
            held.append(fd)
        }
        defer { for fd in held { fd.close() } }
        let client = try ControlClient(path: socket)
        let spawnsBefore = daemon.countOf("ticker:0 * spawn:")
        let started = bh_monotonic_ns()
        var samples: [Double] = []
        // Five seconds of status requests: the clients' replies are being made all along.
        while bh_monotonic_ns() - started < 5_000_000_000 {
            let t = bh_monotonic_ns()
            _ = try client.callRaw("status")
            samples.append(Double(bh_monotonic_ns() - t) / 1e6)
        }
        let seconds = Double(bh_monotonic_ns() - started) / 1e9
        let spawns = daemon.countOf("ticker:0 * spawn:") - spawnsBefore
        let after = residentKiB(daemon.pid)
        print("hostile-logs: \(clients) clients asking for \(lines) lines each, never reading")
        print("  status round trip: " + Distribution(samples).summary("ms"))
        print(String(format: "  RSS %d MiB before, %d MiB after (+%d MiB)", before / 1024, after / 1024, (after - before) / 1024))
        print(String(format: "  ticker restarts meanwhile: %d in %.1f s (every 300 ms expected: %d)", spawns, seconds, Int(seconds / 0.3)))
    }

    static func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
}
