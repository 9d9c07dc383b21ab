import BulkheadSystem
import CLinux
import Foundation

/// `bulkhead-bench [spawn|detect|restart|control|output|watchdog|notify|hostile-logs|monitoring|probes|storm|forensics|state|reexec|all] [--instances N] [--lines N] [--samples N] [--crashlab PATH] [--kinds K,…] [--no-cgroups]`: runs the real daemon with tiny C workers
/// (crashlab and a Go program for `forensics`) and prints figures. Timing goals live here, not in tests.
@main
enum Benchmarks {
    /// Where `bulkhead`, `bulkhead-cli` and `bulkhead-daemon` are: beside this program, or
    /// `--products DIR` (another build, to compare).
    nonisolated(unsafe) static var productsDirectory: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }()

    /// The C worker, compiled here with `cc` into a plain C program. (SwiftPM links its own
    /// build of Sources/TinyWorker against the Swift runtime, whose start-up would dominate
    /// every spawn figure.) Falls back to that build when no C compiler is installed.
    static let tiny: String = {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("TinyWorker/main.c").path
        let output = NSTemporaryDirectory() + "bulkhead-bench-tinyworker-\(getpid())"
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        cc.arguments = ["-O2", "-o", output, source]
        if (try? cc.run()) != nil {
            cc.waitUntilExit()
            if cc.terminationStatus == 0 {
                atexit { _ = unlink(NSTemporaryDirectory() + "bulkhead-bench-tinyworker-\(getpid())") }
                return output
            }
        }
        print("bulkhead-bench: no C compiler; using the SwiftPM build of tinyworker (it loads the Swift runtime)")
        return productsDirectory + "/tinyworker"
    }()

    /// `--no-cgroups`: every benchmark daemon runs with `cgroups: off`.
    nonisolated(unsafe) static var cgroupsOff = false

    static func main() throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if let flag = arguments.firstIndex(of: "--no-cgroups") {
            cgroupsOff = true
            arguments.remove(at: flag)
        }
        if let products = value(of: "--products", in: &arguments) { productsDirectory = products }
        let instances = Int(value(of: "--instances", in: &arguments) ?? "1000") ?? 1000
        let sizes = (value(of: "--sizes", in: &arguments) ?? "100,1000,10000").split(separator: ",").compactMap { Int($0) }
        let output = value(of: "--output", in: &arguments) ?? "append"
        let samples = Int(value(of: "--samples", in: &arguments) ?? "20") ?? 20
        let rounds = Int(value(of: "--rounds", in: &arguments) ?? "2") ?? 2
        let crashlab = value(of: "--crashlab", in: &arguments)
        let kinds = value(of: "--kinds", in: &arguments)?.split(separator: ",").map(String.init) ?? []
        let which = arguments.first ?? "all"
        guard ["spawn", "detect", "restart", "control", "output", "watchdog", "notify", "hostile-logs", "monitoring", "probes", "forensics", "scale", "storm", "peer", "state", "reexec", "all"].contains(which) else {
            print("usage: bulkhead-bench [spawn|detect|restart|control|output|watchdog|notify|hostile-logs|monitoring|probes|forensics|scale|storm|peer|state|reexec|all] [--instances N] [--lines N] [--no-cgroups] [--products DIR]")
            print("       bulkhead-bench forensics [--samples N] [--crashlab PATH] [--kinds K,…]")
            print("       bulkhead-bench monitoring [--rounds N]   (each setup N times, alternating; 2)")
            print("       bulkhead-bench scale [--sizes 100,1000,10000] [--output append|pipes|journal-direct]   (not part of all)")
            print("  build with `swift build -c release --static-swift-stdlib`; run as root (cgroups, proc connector)")
            exit(which == "--help" || which == "-h" ? 0 : 2)
        }
        let all = which == "all"
        print("bulkhead-bench: \(ProcessInfo.processInfo.activeProcessorCount) cores, instances=\(instances), worker \(tiny)")
        if all || which == "spawn" { try SpawnBenchmark.run(instances: instances) }
        if all || which == "detect" { try DetectBenchmark.run(instances: instances) }
        if all || which == "restart" { try RestartBenchmark.run(instances: instances) }
        if all || which == "control" { try ControlBenchmark.run(instances: instances) }
        if all || which == "output" { try OutputBenchmark.run(lines: Int(value(of: "--lines", in: &arguments) ?? "20000000") ?? 20_000_000) }
        if all || which == "watchdog" { try WatchdogBenchmark.run(instances: instances) }
        if all || which == "notify" { try NotifyFloodBenchmark.run() }
        if all || which == "hostile-logs" { try HostileLogsBenchmark.run() }
        if all || which == "monitoring" { try MonitoringBenchmark.run(instances: instances, rounds: rounds) }
        if all || which == "probes" { try ProbeBenchmark.run(instances: instances) }
        if all || which == "forensics" { try ForensicsBenchmark.run(samples: samples, crashlab: crashlab, only: kinds) }
        if all || which == "storm" { try StormBenchmark.run() }
        if which == "scale" { try ScaleBenchmark.run(sizes: sizes, output: output) }
        if which == "peer" { try PeerBenchmark.run() }
        if all || which == "state" { try DurableStateBenchmark.run() }
        if all || which == "reexec" { try ReexecBenchmark.run(instances: instances) }
    }

    static func value(of flag: String, in arguments: inout [String]) -> String? {
        guard let i = arguments.firstIndex(of: flag), i + 1 < arguments.count else { return nil }
        let v = arguments[i + 1]
        arguments.removeSubrange(i...(i + 1))
        return v
    }

    static func idleWorkers(_ count: Int) -> String {
        """
          - name: idle
            command: [\(tiny), sleep]
            instances: \(count)
            backtrace: false
        """
    }
}

/// 1000 instances spawned: time to the last exec, daemon memory (PSS) and idle wake-ups.
enum SpawnBenchmark {
    static func run(instances: Int) throws {
        let events = try ProcEvents()
        let start = bh_monotonic_ns()
        let daemon = try BenchDaemon(config: "workers:\n" + Benchmarks.idleWorkers(instances), watch: ["* spawn:"])
        var execs = 0
        var lastExec: UInt64 = 0
        var children = Set<Int32>()
        let deadline = Date().addingTimeInterval(60)
        var forkedAt: [Int32: UInt64] = [:]
        var forkToExec: [Double] = []
        var betweenForks: [Double] = []
        var lastFork: UInt64?
        while execs < instances && Date() < deadline {
            for e in events.read(timeoutMilliseconds: 100) {
                if e.kind == 1 && e.parent == daemon.pid {
                    children.insert(e.pid)
                    forkedAt[e.pid] = e.timestamp_ns
                    if let last = lastFork { betweenForks.append(Double(e.timestamp_ns &- last) / 1e3) }
                    lastFork = e.timestamp_ns
                }
                if e.kind == 2 && children.contains(e.pid) {
                    execs += 1
                    lastExec = e.timestamp_ns
                    if let forked = forkedAt[e.pid] { forkToExec.append(Double(e.timestamp_ns &- forked) / 1e3) }
                }
            }
        }
        let allExec = Double(lastExec &- start) / 1e6
        if forkToExec.count > 10 {
            print("spawn: fork → exec of each child \(Distribution(forkToExec).summary("us")); between forks \(Distribution(betweenForks).summary("us"))")
        }
        daemon.wait(for: "* spawn:", count: instances, timeout: 30)
        let allLogged = Double(bh_monotonic_ns() - start) / 1e6
        Thread.sleep(forTimeInterval: 2)
        let pss = ProcFS.proportionalSetSizeKiB(daemon.pid) ?? -1
        let rss = rssKiB(daemon.pid)
        let before = daemon.contextSwitches()
        Thread.sleep(forTimeInterval: 5)
        let after = daemon.contextSwitches()
        print(String(format: "spawn: %d instances exec'd %.1f ms after the daemon was started (all spawn events logged at %.1f ms)", execs, allExec, allLogged))
        print("memory: daemon PSS \(pss / 1024) MiB (\(pss) KiB), RSS \(rss / 1024) MiB with \(instances) instances")
        print("idle: \(after - before) context switches of the daemon's threads in 5 s with nothing happening")
        daemon.stop()
    }

    static func rssKiB(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return -1 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.filter(\.isNumber)) ?? -1
        }
        return -1
    }
}

/// Death → noticed: the daemon's own measurement (kernel exit timestamp → its loop woke up),
/// with `instances` idle instances running beside the one that keeps exiting.
enum DetectBenchmark {
    static func run(instances: Int, samples: Int = 1000) throws {
        let config = """
        workers:
        \(Benchmarks.idleWorkers(instances))
          - name: dier
            command: [\(Benchmarks.tiny), exit-after, "3", "0"]
            restart: always
            backtrace: false
            backoff: { initial: 0ms }
            crash_loop: { max_restarts: 100000, same_crash: 0 }
        """
        let daemon = try BenchDaemon(config: config, watch: ["dier:0 * exit:"], keep: { $0.hasPrefix("dier:0 * exit:") })
        daemon.wait(for: "dier:0 * exit:", count: samples + 20, timeout: 120)
        let values = daemon.keptLines.dropFirst(20).compactMap { line -> Double? in
            guard let r = line.range(of: "noticed in ") else { return nil }
            return Double(line[r.upperBound...].prefix { $0.isNumber })
        }
        print("detect: death → noticed \(Distribution(Array(values.prefix(samples))).summary("us")) (kernel exit event → loop woke; \(instances) other instances running)")
        daemon.stop()
    }
}

/// Death → replacement exec'd, `backoff.initial: 0`, a C worker that dies at once: measured
/// outside the daemon from the kernel's own exit and exec timestamps.
enum RestartBenchmark {
    static func run(instances: Int, samples: Int = 1000) throws {
        for background in [0, instances] {
            let events = try ProcEvents()
            let config = "workers:\n" + (background > 0 ? Benchmarks.idleWorkers(background) + "\n" : "") + """
              - name: dier
                command: [\(Benchmarks.tiny), exit, "1"]
                backtrace: false
                backoff: { initial: 0ms }
                crash_loop: { max_restarts: 100000, same_crash: 0 }
            """
            let daemon = try BenchDaemon(config: config)
            var cpuWarm: Int?
            // The idle instances' first execs are not restarts.
            let values = RestartGaps.measure(events, daemonPID: daemon.pid, count: samples + 20, skipExecs: background) { n in
                if n == 20 && cpuWarm == nil { cpuWarm = ScaleBenchmark.cpuMilliseconds(daemon.pid) }
            }
            let cpu = ScaleBenchmark.cpuMilliseconds(daemon.pid) - (cpuWarm ?? 0)
            let measured = Distribution(Array(values.dropFirst(20)))
            print("restart: death → replacement exec'd \(measured.summary("us")) (backoff 0, C worker dying at start, \(background) other instances)")
            print(String(format: "  daemon CPU %.3f ms per restart (after the first 20; clock ticks of 10 ms)", Double(cpu) / Double(max(values.count - 20, 1))))
            daemon.stop()
            // The floor, measured right after: a bare clone/exec/waitpid loop of the same worker.
            let floor = try RestartFloor.measure(samples: samples)
            print(String(format: "  floor (bare spawn/reap loop) %@; bulkhead p50 is %+.0f %% of it", floor.summary("us"),
                         (measured.percentile(50) / floor.percentile(50) - 1) * 100))
        }
    }
}

/// One worker floods short lines through bulkhead to its stderr (a pipe we read): lines/s,
/// lines lost, and how long the worker's longest write() blocked.
enum OutputBenchmark {
    static func run(lines: Int) throws {
        let counter = LineCounter(prefix: Array("flood:0 | ".utf8))
        let config = """
        workers:
          - name: flood
            command: [\(Benchmarks.tiny), flood, "\(lines)", "32"]
            restart: never
            backtrace: false
        """
        let start = bh_monotonic_ns()
        let daemon = try BenchDaemon(config: config, watch: [], chunkObserver: { counter.observe($0) })
        let deadline = Date().addingTimeInterval(300)
        while counter.stdoutLines < lines && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            if counter.sawExit && counter.idleFor(seconds: 2) { break }
        }
        let elapsed = Double(counter.lastLineAt &- start) / 1e9
        let rate = Double(counter.stdoutLines) / max(elapsed, 1e-9)
        print(String(format: "output: %d of %d lines through bulkhead in %.2f s = %.2f M lines/s; lost %d; %@", counter.stdoutLines, lines, elapsed, rate / 1e6, lines - counter.stdoutLines, counter.workerReport ?? "no worker report"))
        daemon.stop()
    }
}

/// Counts `flood:0 | ` lines in the raw stream without building strings.
final class LineCounter: @unchecked Sendable {
    let prefix: [UInt8]
    private(set) var stdoutLines = 0
    private(set) var lastLineAt: UInt64 = 0
    private var lastChunkAt: UInt64 = 0
    private(set) var sawExit = false
    private(set) var workerReport: String?
    private var carry: [UInt8] = []

    init(prefix: [UInt8]) {
        self.prefix = prefix
    }

    func observe(_ chunk: UnsafeRawBufferPointer) {
        lastChunkAt = bh_monotonic_ns()
        var data = carry
        data.append(contentsOf: chunk)
        var start = 0
        data.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            while start < buffer.count {
                guard let hit = memchr(base + start, 0x0A, buffer.count - start) else { break }
                let end = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
                let length = end - start
                if length >= prefix.count && memcmp(base + start, prefix, prefix.count) == 0 {
                    stdoutLines += 1
                } else {
                    let line = String(decoding: UnsafeBufferPointer(start: base + start, count: length), as: UTF8.self)
                    if line.contains("longest write blocked") { workerReport = String(line.drop { $0 != "t" }) }
                    if line.hasPrefix("flood:0 * exit:") { sawExit = true }
                }
                start = end + 1
            }
        }
        lastLineAt = lastChunkAt
        carry = Array(data[start...])
    }

    func idleFor(seconds: Double) -> Bool {
        Double(bh_monotonic_ns() &- lastChunkAt) / 1e9 > seconds
    }
}

/// The kernel's fork/exec/exit events with their timestamps (needs root).
final class ProcEvents {
    let fd: Int32
    private var buffer = [bh_proc_event](repeating: bh_proc_event(), count: 4096)

    init() throws {
        fd = bh_proc_events_open(16 << 20)
        if fd < 0 { throw SystemError(negated: fd, "proc connector (run as root)") }
    }

    deinit { close(fd) }

    func read(timeoutMilliseconds: Int32) -> [bh_proc_event] {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMilliseconds) > 0 else { return [] }
        let capacity = Int32(buffer.count)
        let n = buffer.withUnsafeMutableBufferPointer { bh_proc_events_read(fd, $0.baseAddress, capacity) }
        return n > 0 ? Array(buffer.prefix(Int(n))) : []
    }
}
