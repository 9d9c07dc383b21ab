import BulkheadControl
import BulkheadSystem
import CLinux
import Foundation

/// What the state file costs (issue 14: "never slows restarts"): the same restart measurements
/// with it and without it (`--no-state`), alternating in one run so the machine's load falls on
/// both alike. Goal: within 10 %.
///
/// - restart: one worker dying at start, backoff 0: the kernel's exit → the replacement's exec.
/// - storm: 50 workers dying at start, backoff 0, for 5 s: replacements exec'd per second.
enum DurableStateBenchmark {
    static func run(rounds: Int = 3) throws {
        var restart: [Bool: [Double]] = [true: [], false: []]
        var storm: [Bool: [Double]] = [true: [], false: []]
        for round in 0..<rounds {
            for persist in round % 2 == 0 ? [true, false] : [false, true] {
                restart[persist]? += try restartLatencies(persist: persist, samples: 400)
                storm[persist]?.append(try stormRate(persist: persist, instances: 50, seconds: 5))
            }
        }
        for persist in [true, false] {
            let label = persist ? "state file on " : "state file off"
            print("state: \(label): restart death → exec \(Distribution(restart[persist] ?? []).summary("us"))")
            let rates = storm[persist] ?? []
            print(String(format: "state: %@: storm of 50 restarts/s, per round: %@ (mean %.0f)", label,
                         rates.map { String(format: "%.0f", $0) }.joined(separator: ", "), rates.reduce(0, +) / Double(max(rates.count, 1))))
        }
        let on = Distribution(restart[true] ?? []).percentile(50)
        let off = Distribution(restart[false] ?? []).percentile(50)
        let stormOn = (storm[true] ?? []).reduce(0, +) / Double(max(storm[true]?.count ?? 0, 1))
        let stormOff = (storm[false] ?? []).reduce(0, +) / Double(max(storm[false]?.count ?? 0, 1))
        print(String(format: "state: restart p50 %+.1f %%, storm rate %+.1f %% with the state file (goal: within 10 %%)",
                     (on - off) / off * 100, (stormOn - stormOff) / stormOff * 100))
    }

    static func arguments(_ persist: Bool) -> [String] {
        persist ? [] : ["--no-state"]
    }

    static func restartLatencies(persist: Bool, samples: Int) throws -> [Double] {
        let events = try ProcEvents()
        let daemon = try BenchDaemon(config: """
        workers:
          - name: dier
            command: [\(Benchmarks.tiny), exit, "1"]
            backtrace: false
            backoff: { initial: 0ms }
            crash_loop: { max_restarts: 100000, same_crash: 0 }
        """, arguments: arguments(persist))
        defer { daemon.stop() }
        return Array(RestartGaps.measure(events, daemonPID: daemon.pid, count: samples + 20).dropFirst(20))
    }

    static func stormRate(persist: Bool, instances: Int, seconds: Double) throws -> Double {
        let events = try ProcEvents()
        let daemon = try BenchDaemon(config: """
        workers:
          - name: storm
            command: [\(Benchmarks.tiny), exit, "1"]
            instances: \(instances)
            backtrace: false
            backoff: { initial: 0ms }
            crash_loop: { max_restarts: 100000, same_crash: 0 }
        """, arguments: arguments(persist))
        defer { daemon.stop() }
        var children = Set<Int32>()
        var execs = 0
        var started: UInt64?
        var last: UInt64 = 0
        let end = Date().addingTimeInterval(seconds + 2)
        while Date() < end {
            for e in events.read(timeoutMilliseconds: 100) {
                if e.kind == 1 && e.parent == daemon.pid {
                    children.insert(e.pid)
                } else if e.kind == 2 && children.contains(e.pid) {
                    // The first second is the start-up: counted from then on.
                    if started == nil && execs >= instances { started = e.timestamp_ns }
                    execs += 1
                    if let started, e.timestamp_ns - started <= UInt64(seconds * 1e9) { last = e.timestamp_ns }
                } else if e.kind == 3 {
                    children.remove(e.pid)
                }
            }
            if let started, bh_monotonic_ns() - started > UInt64(seconds * 1e9) { break }
        }
        guard let started, last > started else { return 0 }
        let counted = execs - instances
        return Double(counted) / (Double(last - started) / 1e9)
    }
}

/// `bulkhead reexec` with `instances` instances: from the request to the reply (which the new
/// image sends once it serves), and to the next `status` answered. Goal: < 300 ms for 1000.
enum ReexecBenchmark {
    static func run(instances: Int, rounds: Int = 5) throws {
        let daemon = try BenchDaemon(config: "workers:\n" + Benchmarks.idleWorkers(instances), watch: ["* spawn:"])
        defer { daemon.stop() }
        let socket = daemon.directory + "/control.sock"
        guard daemon.wait(for: "* spawn:", count: instances, timeout: 120) else {
            print("reexec: the daemon did not spawn \(instances) instances in 120 s")
            return
        }
        Thread.sleep(forTimeInterval: 1)
        var replied: [Double] = []
        var serving: [Double] = []
        var reported: [Double] = []
        for _ in 0..<rounds {
            let client = try ControlClient(path: socket, timeout: .seconds(60))
            let t0 = bh_monotonic_ns()
            let result = try client.call("reexec")
            let t1 = bh_monotonic_ns()
            _ = try ControlClient(path: socket).callRaw("status")
            let t2 = bh_monotonic_ns()
            replied.append(Double(t1 - t0) / 1e6)
            serving.append(Double(t2 - t0) / 1e6)
            if let took = result["took_ms"]?.double { reported.append(took) }
            Thread.sleep(forTimeInterval: 0.5)
        }
        print("reexec: \(instances) instances: request → reply \(Distribution(replied).summary("ms"))")
        print("reexec: request → a status answered \(Distribution(serving).summary("ms")) (goal < 300 ms)")
        print("reexec: the daemon's own took_ms \(Distribution(reported).summary("ms"))")
    }
}
