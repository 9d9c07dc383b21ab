import BulkheadControl
import BulkheadJSON
import BulkheadSystem
import CLinux
import Foundation

/// Issue 19's table: 100, 1,000 and 10,000 instances in one run, each row a daemon of its own
/// with `size` instances of the tiny C worker (1 % of them exiting and restarted every second,
/// one worker of one instance to ask about alone): time to all started, the daemon's PSS and
/// fds, idle CPU and wake-ups, `status` (all rows, and one worker), death → noticed while 1 %
/// die every second, and `reload` of one worker's policy.
///
/// `output`: `append` (1 fd per instance: a file bulkhead does not keep open), `pipes`
/// (through bulkhead, 3 fds per instance: 10,000 do not fit RLIMIT_NOFILE 20,000 and the daemon
/// refuses to start, which the row says), or `journal-direct` (journald before systemd 257
/// takes 4,096 streams in all).
enum ScaleBenchmark {
    static func run(sizes: [Int], output: String) throws {
        print("scale: output \(output); cgroups \(Benchmarks.cgroupsOff ? "off" : "on"); \(uptimeLoad())")
        for size in sizes {
            do {
                try row(size: size, output: output)
            } catch {
                print("scale \(size): \(error)")
            }
        }
    }

    /// The `defaults` block: no backtracer, and the output mode.
    static func defaults(_ output: String, directory: String) -> String {
        var text = "defaults:\n  backtrace: false\n"
        switch output {
        case "append": text += "  output: \"append:\(directory)/workers.log\"\n"
        case "journal-direct": text += "  output: journal-direct\n"
        default: break
        }
        return text
    }

    static func row(size: Int, output: String) throws {
        let crashers = max(1, size / 100)
        let scratch = NSTemporaryDirectory() + "bulkhead-bench-scale-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let defaultsBlock = defaults(output, directory: scratch)
        let config = { (crasherMax: String) in
            defaultsBlock + """
            workers:
              - name: idle
                command: [\(Benchmarks.tiny), sleep]
                instances: \(size - crashers - 1)
              - name: probe
                command: [\(Benchmarks.tiny), sleep]
              - name: crasher
                command: [\(Benchmarks.tiny), exit-after, "1000", "0"]
                instances: \(crashers)
                restart: always
                backoff: { initial: 0ms, max: \(crasherMax) }
                crash_loop: { max_restarts: 100000, same_crash: 0 }
            """
        }
        let events = try ProcEvents()
        let start = bh_monotonic_ns()
        let daemon = try BenchDaemon(config: config("1s"), watch: ["* spawn:", "crasher:"],
                                     keep: { $0.hasPrefix("crasher:") && $0.contains(" * exit: ") || $0.hasPrefix("bulkhead: ") })
        defer { daemon.stop() }
        // Time to all started: the last exec of the first `size` children, from the kernel.
        var children = Set<Int32>()
        var execs = 0
        var lastExec: UInt64 = 0
        let deadline = Date().addingTimeInterval(180)
        while execs < size && Date() < deadline {
            if ProcFS.stat(daemon.pid).map({ $0.state == "Z" }) ?? true { break }   // it refused to start
            for e in events.read(timeoutMilliseconds: 100) {
                if e.kind == 1 && e.parent == daemon.pid { children.insert(e.pid) }
                if e.kind == 2 && children.remove(e.pid) != nil {
                    execs += 1
                    lastExec = e.timestamp_ns
                }
            }
        }
        guard execs >= size else {
            let said = daemon.keptLines.filter { $0.hasPrefix("bulkhead: ") }.first ?? "no word from it"
            print("scale \(size): only \(execs) instances started; the daemon said: \(said)")
            return
        }
        let started = Double(lastExec &- start) / 1e6
        let socket = daemon.directory + "/control.sock"
        let client = try connect(socket)

        // Idle: the crashers stopped, nothing happening.
        _ = try client.call("stop", [("names", [.string("crasher")])])
        Thread.sleep(forTimeInterval: 2)
        let pss = ProcFS.proportionalSetSizeKiB(daemon.pid) ?? -1
        let fds = descriptors(daemon.pid)
        let cpuBefore = cpuMilliseconds(daemon.pid)
        let switchesBefore = daemon.contextSwitches()
        Thread.sleep(forTimeInterval: 5)
        let idleCPU = cpuMilliseconds(daemon.pid) - cpuBefore
        let idleSwitches = daemon.contextSwitches() - switchesBefore
        let idleAll = try statusTimes(client, names: [], runs: 200)
        let idleOne = try statusTimes(client, names: ["probe"], runs: 200)
        let cliAll = try cliTimes(socket, ["status"], runs: 30)
        let cliOne = try cliTimes(socket, ["status", "probe"], runs: 30)

        // 1 % dying every second: death → noticed, and status meanwhile.
        _ = try client.call("start", [("names", [.string("crasher")])])
        let marked = daemon.keptLines.count
        let stormSeconds = size < 1000 ? 30.0 : 12.0
        Thread.sleep(forTimeInterval: 2)
        let stormAll = try statusTimes(client, names: [], runs: 100)
        let stormOne = try statusTimes(client, names: ["probe"], runs: 100)
        Thread.sleep(forTimeInterval: max(0, stormSeconds - 2))
        let detect = daemon.keptLines.dropFirst(marked).compactMap { line -> Double? in
            guard let r = line.range(of: "noticed in ") else { return nil }
            return Double(line[r.upperBound...].prefix { $0.isNumber })
        }

        // Reload of one worker's policy (the crashers' backoff): config read, diffed, applied.
        var reloads: [Double] = []
        for round in 0..<6 {
            try config(round % 2 == 0 ? "2s" : "1s").write(toFile: daemon.directory + "/bench.yaml.new", atomically: true, encoding: .utf8)
            let text = try String(contentsOfFile: daemon.directory + "/bench.yaml", encoding: .utf8)
            let header = text.components(separatedBy: "defaults:").first ?? ""
            let new = try String(contentsOfFile: daemon.directory + "/bench.yaml.new", encoding: .utf8)
            try (header + new).write(toFile: daemon.directory + "/bench.yaml", atomically: true, encoding: .utf8)
            let t0 = bh_monotonic_ns()
            let reply = try client.call("reload")
            reloads.append(Double(bh_monotonic_ns() - t0) / 1e6)
            if reply["updated"]?.array?.isEmpty ?? true { print("  reload \(round): \(reply)") }
        }

        print(String(format: "scale %6d: started in %.0f ms; PSS %.1f MiB; %d fds; idle %d ms CPU and %d wake-ups in 5 s",
                     size, started, Double(pss) / 1024, fds, idleCPU, idleSwitches))
        print("  status round trip, all rows   idle \(idleAll.summary("ms"))")
        print("                                 1 % dying \(stormAll.summary("ms"))")
        print("  status round trip, one worker idle \(idleOne.summary("ms"))")
        print("                                 1 % dying \(stormOne.summary("ms"))")
        print("  `bulkhead status` (process)    all \(cliAll.summary("ms")); one worker \(cliOne.summary("ms"))")
        print("  death → noticed, 1 % dying every second: \(Distribution(detect).summary("us"))")
        print("  reload of one worker's policy: \(Distribution(reloads).summary("ms"))")
    }

    static func connect(_ socket: String) throws -> ControlClient {
        let deadline = Date().addingTimeInterval(30)
        while true {
            do {
                return try ControlClient(path: socket)
            } catch {
                if Date() > deadline { throw error }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    static func statusTimes(_ client: ControlClient, names: [String], runs: Int) throws -> Distribution {
        var values: [Double] = []
        let arguments: [(String, JSON)] = [("format", "table"), ("names", .array(names.map(JSON.string)))]
        for _ in 0..<runs {
            let t0 = bh_monotonic_ns()
            _ = try client.callRaw("status", arguments)
            values.append(Double(bh_monotonic_ns() - t0) / 1e6)
        }
        return Distribution(values)
    }

    static func cliTimes(_ socket: String, _ arguments: [String], runs: Int) throws -> Distribution {
        let cli = Benchmarks.productsDirectory + "/bulkhead"
        var values: [Double] = []
        for _ in 0..<runs {
            let t0 = bh_monotonic_ns()
            _ = try ControlBenchmark.runProcess(cli, arguments + ["--socket", socket])
            values.append(Double(bh_monotonic_ns() - t0) / 1e6)
        }
        return Distribution(values)
    }

    static func descriptors(_ pid: Int32) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count
    }

    /// utime + stime of every thread of `pid`, in ms.
    static func cpuMilliseconds(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return 0 }
        let hz = Int(sysconf(Int32(_SC_CLK_TCK)))
        return (user + system) * 1000 / max(hz, 1)
    }

    static func uptimeLoad() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?"
        return "load average " + text.split(separator: " ").prefix(3).joined(separator: " ")
    }
}
