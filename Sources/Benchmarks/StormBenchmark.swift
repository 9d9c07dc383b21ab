import BulkheadSystem
import CLinux
import Foundation

/// Issue 19's crash storm: `instances` instances of the tiny C worker each dying of SIGSEGV
/// `every` ms after it starts, restarted at once. Measured over `seconds` once it runs: the
/// daemon's CPU per restart (utime + stime of all its threads), the restarts (the kernel's
/// fork events), crash report files written and lines written per death. Run it against
/// another build with `--products DIR` to compare.
enum StormBenchmark {
    static func run(instances: Int = 50, every: Int = 50, seconds: Double = 10) throws {
        let config = """
        defaults:
          backtrace: false
          crash_loop: { max_restarts: 100000, same_crash: 0 }
          backoff: { initial: 0ms }
        workers:
          - name: storm
            command: [\(Benchmarks.tiny), segv-after, "\(every)"]
            instances: \(instances)
        """
        let events = try ProcEvents()
        let daemon = try BenchDaemon(config: config, watch: ["* spawn:", "* exit:"])
        defer { daemon.stop() }
        daemon.wait(for: "* spawn:", count: instances * 4, timeout: 60)
        Thread.sleep(forTimeInterval: 2)
        let crashes = daemon.directory + "/state/crashes"
        let filesBefore = reportFiles(crashes)
        let bytesBefore = daemon.bytesRead
        let exitsBefore = daemon.countOf("* exit:")
        let cpuBefore = ScaleBenchmark.cpuMilliseconds(daemon.pid)
        let stolen = HostSteal.ticks()
        var forks = 0
        let end = bh_monotonic_ns() + UInt64(seconds * 1e9)
        while bh_monotonic_ns() < end {
            for e in events.read(timeoutMilliseconds: 50) where e.kind == 1 && e.parent == daemon.pid { forks += 1 }
        }
        let cpu = ScaleBenchmark.cpuMilliseconds(daemon.pid) - cpuBefore
        let files = reportFiles(crashes) - filesBefore
        let bytes = daemon.bytesRead - bytesBefore
        let exitLines = daemon.countOf("* exit:") - exitsBefore
        print(String(format: "storm: %d instances dying of SIGSEGV %d ms after start, restarted at once (%@; %@)", instances, every,
                     Benchmarks.productsDirectory, HostSteal.describe(since: stolen)))
        print(String(format: "  %d restarts in %.0f s (%.0f/s); daemon CPU %d ms = %.3f ms per restart", forks, seconds,
                     Double(forks) / seconds, cpu, Double(cpu) / Double(max(forks, 1))))
        print(String(format: "  %d crash report files written (%.1f/s), %d exit lines, %.0f bytes of output per death", files,
                     Double(files) / seconds, exitLines, Double(bytes) / Double(max(forks, 1))))
    }

    /// Report files in the directory (retention removes as it adds: count the index's growth
    /// instead when it is there).
    static func reportFiles(_ directory: String) -> Int {
        if let index = try? String(contentsOfFile: directory + "/index.jsonl", encoding: .utf8) {
            return index.split(separator: "\n").count
        }
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }.count
    }
}

/// The floor a supervisor's restart is measured against: a bare loop that spawns the same tiny
/// worker (`clone` + `execve`, as bulkhead does) and reaps it with a blocking `waitpid`, death →
/// next exec from the kernel's timestamps.
enum RestartFloor {
    static func measure(samples: Int) throws -> Distribution {
        let events = try ProcEvents()
        let devNull = try FileDescriptor.open("/dev/null", O_RDWR)
        defer { devNull.close() }
        let request = SpawnRequest(executable: Benchmarks.tiny, arguments: [Benchmarks.tiny, "exit", "1"], environment: [],
                                   standardInput: devNull, standardOutput: devNull, standardError: devNull)
        var values: [Double] = []
        var lastExit: UInt64?
        var mine = Set<Int32>()
        for _ in 0..<(samples + 20) {
            let pid = try Spawner.spawn(request)
            mine.insert(pid)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            for e in events.read(timeoutMilliseconds: 0) {
                if e.kind == 2 && mine.contains(e.pid), let exit = lastExit { values.append(Double(e.timestamp_ns &- exit) / 1e3) }
                if e.kind == 3 && mine.contains(e.pid) { lastExit = e.timestamp_ns }
            }
        }
        return Distribution(Array(values.dropFirst(20)))
    }
}
