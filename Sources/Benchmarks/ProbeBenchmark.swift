import BulkheadSystem
import CLinux
import Foundation

/// What health checks cost the supervisor: `instances` C workers each serving /healthz on a
/// port of its own, with and without a 1 s HTTP live probe on every one of them, in the same
/// run. Printed: the daemon's CPU (its own user + system time over a window) and death →
/// noticed for a worker that keeps dying beside them (the loop's responsiveness while it
/// probes), plus how many checks failed (none should: the workers are healthy).
enum ProbeBenchmark {
    /// Ports base…base+instances-1 (below the kernel's ephemeral range, 32768 on).
    static let basePort = 21_000

    static func run(instances: Int, samples: Int = 400, window: Double = 10) throws {
        var rows: [String] = []
        for probed in [false, true] {
            let probe = probed ? """

                health:
                  live: { http: "http://127.0.0.1:\(basePort)+index/healthz", initial_delay: 2s, interval: 1s, timeout: 500ms, failures: 3 }
            """ : ""
            let config = """
            workers:
              - name: web
                command: [\(Benchmarks.tiny), http, "\(basePort)"]
                instances: \(instances)
                backtrace: false\(probe)
              - name: dier
                command: [\(Benchmarks.tiny), exit-after, "20", "0"]
                restart: always
                backtrace: false
                backoff: { initial: 0ms }
                crash_loop: { max_restarts: 100000, same_crash: 0 }
            """
            let daemon = try BenchDaemon(config: config, watch: ["web:", "dier:0 * exit:", "live probe failed"],
                                         keep: { $0.hasPrefix("dier:0 * exit:") })
            // Every instance spawned, and (with probes) its checks begun (initial_delay 2 s).
            daemon.wait(for: "web:", count: instances * 2, timeout: 120)   // spawn and ready of each
            Thread.sleep(forTimeInterval: 4)
            let keptBefore = daemon.keptLines.count
            let cpuBefore = cpuSeconds(daemon.pid)
            let began = Date()
            Thread.sleep(forTimeInterval: window)
            let cpu = (cpuSeconds(daemon.pid) - cpuBefore) / Date().timeIntervalSince(began)
            daemon.wait(for: "dier:0 * exit:", count: keptBefore + samples, timeout: 120)
            let values = daemon.keptLines.dropFirst(keptBefore).prefix(samples).compactMap { line -> Double? in
                guard let r = line.range(of: "noticed in ") else { return nil }
                return Double(line[r.upperBound...].prefix { $0.isNumber })
            }
            let failures = daemon.countOf("live probe failed")
            let what = probed ? "1 s HTTP live probe on each" : "no probes"
            rows.append(String(format: "probes: %d instances, %@: daemon CPU %.1f %% of a core (over %.0f s); death → noticed %@; %d failed checks",
                               instances, what, cpu * 100, window, Distribution(values).summary("us"), failures))
            daemon.stop()
        }
        rows.forEach { print($0) }
    }

    /// The daemon's user + system CPU so far (/proc/PID/stat fields 14 and 15), in seconds.
    static func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
