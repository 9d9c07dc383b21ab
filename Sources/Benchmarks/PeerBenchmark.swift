import BulkheadSystem
import CLinux
import Foundation

/// bulkhead beside s6 and runit (Debian's `s6` and `runit` packages), in the same run with the
/// same tiny C worker: death → replacement exec'd for a worker that dies at once, and the status
/// of one service as a process (`bulkhead status NAME`, `s6-svstat DIR`, `sv status DIR`), idle
/// and while 50 other services crash every 200 ms. s6 and runit wait a second between two starts
/// of a service by design; bulkhead here has `backoff.initial: 0` (its default is 100 ms).
enum PeerBenchmark {
    static let crashers = 50

    static func run(samples: Int = 10, statusRuns: Int = 50) throws {
        print("peer: \(ScaleBenchmark.uptimeLoad())")
        try bulkhead(samples: samples, statusRuns: statusRuns)
        for peer in [Peer.s6, .runit] {
            guard FileManager.default.isExecutableFile(atPath: peer.daemon) else {
                print("peer: \(peer.name) is not installed (apt-get install \(peer.name))")
                continue
            }
            try measure(peer, samples: samples, statusRuns: statusRuns)
        }
    }

    static func bulkhead(samples: Int, statusRuns: Int) throws {
        let events = try ProcEvents()
        let config = """
        defaults:
          backtrace: false
          crash_loop: { max_restarts: 100000, same_crash: 0 }
        workers:
          - name: probe
            command: [\(Benchmarks.tiny), sleep]
          - name: dier
            command: [\(Benchmarks.tiny), exit, "1"]
            backoff: { initial: 0ms }
          - name: crasher
            command: [\(Benchmarks.tiny), exit-after, "200", "1"]
            instances: \(crashers)
            backoff: { initial: 100ms, max: 100ms, jitter: 0 }
        """
        let daemon = try BenchDaemon(config: config)
        defer { daemon.stop() }
        let socket = daemon.directory + "/control.sock"
        let client = try ScaleBenchmark.connect(socket)
        // Only the dier dies from here on (the crashers stopped, the probe sleeps).
        _ = try client.call("stop", [("names", [.string("crasher")])])
        Thread.sleep(forTimeInterval: 1)
        while !events.read(timeoutMilliseconds: 0).isEmpty {}
        let restart = restarts(events, parent: { $0 == daemon.pid }, skipFirst: 3, samples: samples * 10)
        _ = try client.call("stop", [("names", [.string("dier")])])
        let cli = Benchmarks.productsDirectory + "/bulkhead"
        let idle = try times(statusRuns) { try ControlBenchmark.runProcess(cli, ["status", "probe", "--socket", socket]) }
        _ = try client.call("start", [("names", [.string("crasher")])])
        Thread.sleep(forTimeInterval: 1)
        let storm = try times(statusRuns) { try ControlBenchmark.runProcess(cli, ["status", "probe", "--socket", socket]) }
        report("bulkhead", restart: restart, idle: idle, storm: storm, status: "bulkhead status probe")
    }

    enum Peer {
        case s6, runit

        var name: String { self == .s6 ? "s6" : "runit" }
        var daemon: String { self == .s6 ? "/usr/bin/s6-svscan" : "/usr/bin/runsvdir" }
        var supervisor: String { self == .s6 ? "s6-supervise" : "runsv" }
        func status(_ service: String) -> (String, [String]) {
            self == .s6 ? ("/usr/bin/s6-svstat", [service]) : ("/usr/bin/sv", ["status", service])
        }
    }

    static func measure(_ peer: Peer, samples: Int, statusRuns: Int) throws {
        let scan = NSTemporaryDirectory() + "bulkhead-bench-\(peer.name)-\(getpid())"
        try FileManager.default.createDirectory(atPath: scan, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scan) }
        func service(_ name: String, _ arguments: String) throws {
            let dir = scan + "/" + name
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try "#!/bin/sh\nexec \(Benchmarks.tiny) \(arguments)\n".write(toFile: dir + "/run", atomically: true, encoding: .utf8)
            chmod(dir + "/run", 0o755)
        }
        try service("probe", "sleep")
        try service("dier", "exit 1")
        let events = try ProcEvents()
        let devNull = try FileDescriptor.open("/dev/null", O_RDWR)
        defer { devNull.close() }
        let pid = try Spawner.spawn(SpawnRequest(executable: peer.daemon, arguments: [peer.daemon, scan], environment: ["PATH=/usr/bin:/bin"],
                                                 standardInput: devNull, standardOutput: devNull, standardError: devNull))
        defer { stop(peer, pid: pid, scan: scan) }
        // The dier's supervisor: its children are the dier's runs. runsvdir does not read a
        // directory changed within the current second, and looks again every 5 s.
        var dierSupervisor: Int32 = -1
        let found = Date().addingTimeInterval(15)
        while dierSupervisor < 0 && Date() < found {
            Thread.sleep(forTimeInterval: 0.2)
            dierSupervisor = supervisorPID(of: "dier", peer)
        }
        guard dierSupervisor > 0, supervisorPID(of: "probe", peer) > 0 else {
            print("peer: \(peer.name): its supervisors did not start within 15 s")
            return
        }
        let restart = restarts(events, parent: { $0 == dierSupervisor }, skipFirst: 1, samples: samples)
        let (statusTool, arguments) = peer.status(scan + "/probe")
        let idle = try times(statusRuns) { try ControlBenchmark.runProcess(statusTool, arguments) }
        for i in 0..<crashers { try service("crasher-\(i)", "exit-after 200 1") }
        if peer == .s6 { _ = try ControlBenchmark.runProcess("/usr/bin/s6-svscanctl", ["-a", scan]) }
        Thread.sleep(forTimeInterval: peer == .s6 ? 2 : 7)   // runsvdir looks at its directory every 5 s
        let storm = try times(statusRuns) { try ControlBenchmark.runProcess(statusTool, arguments) }
        report(peer.name, restart: restart, idle: idle, storm: storm, status: "\((statusTool as NSString).lastPathComponent) \(arguments.joined(separator: " ").replacingOccurrences(of: scan + "/", with: ""))")
    }

    /// Death → next exec of the children of the process `parent` accepts, from the kernel.
    static func restarts(_ events: ProcEvents, parent: (Int32) -> Bool, skipFirst: Int, samples: Int) -> Distribution {
        var children = Set<Int32>()
        var lastExit: UInt64?
        var values: [Double] = []
        let deadline = Date().addingTimeInterval(Double(samples) * 1.5 + 10)
        while values.count < samples + skipFirst && Date() < deadline {
            for e in events.read(timeoutMilliseconds: 100) {
                if e.kind == 1 && parent(e.parent) { children.insert(e.pid) }
                if e.kind == 2 && children.contains(e.pid), let exit = lastExit {
                    values.append(Double(e.timestamp_ns &- exit) / 1e3)
                    lastExit = nil
                }
                if e.kind == 3 && children.remove(e.pid) != nil { lastExit = e.timestamp_ns }
            }
        }
        return Distribution(Array(values.dropFirst(skipFirst)))
    }

    static func times(_ runs: Int, _ body: () throws -> Int32) throws -> Distribution {
        var values: [Double] = []
        for _ in 0..<runs {
            let t0 = bh_monotonic_ns()
            _ = try body()
            values.append(Double(bh_monotonic_ns() - t0) / 1e6)
        }
        return Distribution(values)
    }

    static func report(_ name: String, restart: Distribution, idle: Distribution, storm: Distribution, status: String) {
        print("  \(name.padding(toLength: 9, withPad: " ", startingAt: 0)) death → exec'd \(restart.summary("us"))")
        print("            `\(status)` idle \(idle.summary("ms"))")
        print("            `\(status)` while \(crashers) crash every 200 ms \(storm.summary("ms"))")
    }

    static func supervisorPID(of service: String, _ peer: Peer) -> Int32 {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                  let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let words = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if words.first?.hasSuffix(peer.supervisor) == true && words.last == service { return pid }
        }
        return -1
    }

    /// Everything down: the scanner told to stop its supervisors (which stop their services).
    static func stop(_ peer: Peer, pid: Int32, scan: String) {
        if peer == .s6 {
            _ = try? ControlBenchmark.runProcess("/usr/bin/s6-svscanctl", ["-t", scan])
        } else {
            let services = ((try? FileManager.default.contentsOfDirectory(atPath: scan)) ?? []).map { scan + "/" + $0 }
            _ = try? ControlBenchmark.runProcess("/usr/bin/sv", ["force-stop"] + services)
            kill(pid, SIGHUP)
        }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(10)
        while waitpid(pid, &status, WNOHANG) == 0 && Date() < deadline { usleep(20_000) }
        if Date() >= deadline {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
    }
}
