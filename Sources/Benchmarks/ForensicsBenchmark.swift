import BulkheadSystem
import Foundation
import Glibc

/// Issues 15 and 16: how soon after a death its crash report is written, the backtracer's time
/// included (goal ≤ 1 s). For every crashlab kind, crash-looping under the daemon:
/// `--print-dying-time` stamps the moment just before the trap (CLOCK_REALTIME); the report is
/// written when its file is renamed into place, seen through inotify by a thread of this
/// process stamping the same clock; their difference is the figure. The report's own
/// `ended_at` − detect latency (the exit, to the millisecond) splits it into the process's
/// dying (the backtracer) and bulkhead's part. Then a Go program that panics beside 2,000
/// goroutines (GOTRACEBACK=all: a trace of ~12,000 lines), from its exit.
///
/// (A file's modification time would not do: it comes from the kernel's coarse clock, a tick
/// of 1–4 ms behind, more than bulkhead's own part takes.)
enum ForensicsBenchmark {
    static func run(samples: Int, crashlab: String?, only: [String]) throws {
        let crashlab = crashlab ?? Benchmarks.productsDirectory + "/crashlab"
        guard FileManager.default.isExecutableFile(atPath: crashlab) else {
            print("forensics: no crashlab at \(crashlab) (build it with the benchmarks, or give --crashlab PATH)")
            return
        }
        let kinds = try String(decoding: output(of: crashlab, ["--list-kinds"]), as: UTF8.self).split(separator: "\n").map(String.init)
            .filter { only.isEmpty || only.contains($0) }
        print("forensics: \(crashlab), \(samples) deaths per kind; dying → report written (of which exit → written)")
        var all: [Double] = []
        var worst: (kind: String, p99: Double) = ("", 0)
        for kind in kinds {
            let times = try measure(worker: "command: [\(crashlab), --die, \(kind), --print-dying-time]", samples: samples) { report in
                dyingStamp(report)
            }
            guard !times.total.isEmpty else {
                print("  \(kind): no samples")
                continue
            }
            let total = Distribution(times.total), bulkhead = Distribution(times.fromExit)
            all += times.total
            if total.percentile(99) > worst.p99 { worst = (kind, total.percentile(99)) }
            let name = kind.padding(toLength: max(kind.count, 28), withPad: " ", startingAt: 0)
            let backtraced = times.backtraces == times.total.count ? "" : "  \(times.backtraces) of \(times.total.count) with a backtrace"
            print("  " + name + String(format: " p50 %7.1f ms  p99 %7.1f ms   (exit → written p50 %5.1f ms, p99 %5.1f ms)",
                                       total.percentile(50), total.percentile(99), bulkhead.percentile(50), bulkhead.percentile(99)) + backtraced)
        }
        let overall = Distribution(all)
        guard only.isEmpty else { return }
        print("forensics: every kind together \(overall.summary("ms")); worst p99 \(String(format: "%.1f", worst.p99)) ms (\(worst.kind)); goal ≤ 1000 ms")
        try goroutines(samples: samples)
    }

    /// The Go program of Tests/CrashPrograms/go/goroutines, built here with `go build`.
    static func goroutines(samples: Int) throws {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tests/CrashPrograms/go/goroutines").path
        let binary = NSTemporaryDirectory() + "bulkhead-bench-goroutines-\(getpid())"
        defer { unlink(binary) }
        let go = Process()
        go.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        go.arguments = ["go", "build", "-o", binary, "main.go"]
        go.currentDirectoryURL = URL(fileURLWithPath: source)
        var environment = ProcessInfo.processInfo.environment
        environment["GOFLAGS"] = "-mod=mod"
        environment["GO111MODULE"] = "auto"
        go.environment = environment
        go.standardOutput = FileHandle.nullDevice
        go.standardError = FileHandle.nullDevice
        guard (try? go.run()) != nil, { go.waitUntilExit(); return go.terminationStatus == 0 }() else {
            print("forensics: the 2,000-goroutine Go trace skipped: no Go toolchain (apt-get install golang-go)")
            return
        }
        var headline = ""
        var lines = 0
        let times = try measure(worker: "command: [\(binary), \"2000\"]\n    env: { GOTRACEBACK: all }", samples: samples) { report in
            headline = report["headline"] as? String ?? ""
            lines = max(lines, (report["output_tail"] as? [Any])?.count ?? 0)
            return nil
        }
        print("forensics: Go panic beside 2,000 goroutines (GOTRACEBACK=all), exit → report written \(Distribution(times.fromExit).summary("ms")); "
            + "output_tail \(lines) lines; headline: \(headline)")
    }

    /// Crash-loops one worker until `samples` reports were read (after 3 to warm up); for each,
    /// the time from `dying` (when it gives one) and from the exit to the report's writing, ms.
    static func measure(worker: String, samples: Int,
                        dying: ([String: Any]) -> Int64?) throws -> (total: [Double], fromExit: [Double], backtraces: Int) {
        let config = """
        crash_reports: { keep: 100000, per_worker: 100000, coalesce_after: 0 }
        workers:
          - name: k
            \(worker)
            backoff: { initial: 50ms, max: 50ms, jitter: 0 }
            crash_loop: { max_restarts: 100000, same_crash: 0 }
        """
        // The daemon gets this process's PATH, so it finds the Swift toolchain's backtracer as it
        // would on a developer's machine (a package puts it beside bulkhead-daemon instead).
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let daemon = try BenchDaemon(config: config, watch: ["k:0 * exit:"], keep: { $0.hasPrefix("k:0 * exit:") },
                                     environment: ["PATH": path])
        defer { daemon.stop() }
        let crashes = daemon.directory + "/state/crashes"
        let appeared = try ReportsAppearing(crashes)
        let warmUp = 3
        guard daemon.wait(for: "k:0 * exit:", count: samples + warmUp, timeout: Double(samples + warmUp) * 10) else {
            print("  (timed out after \(daemon.countOf("k:0 * exit:")) deaths)")
            return ([], [], 0)
        }
        var total: [Double] = []
        var fromExit: [Double] = []
        var backtraces = 0
        for line in daemon.keptLines.dropFirst(warmUp).prefix(samples) {
            guard let id = crashID(line), let written = appeared.time(of: id + ".json"),
                  let report = readReport(crashes + "/" + id + ".json") else { continue }
            if let died = dying(report) { total.append(Double(written - died) / 1e6) }
            if report["backtrace"] is [String: Any] { backtraces += 1 }
            if let exited = exitTime(report) { fromExit.append(Double(written - exited) / 1e6) }
        }
        return (total, fromExit, backtraces)
    }

    /// `crashlab: dying at NS` in the report's output tail.
    static func dyingStamp(_ report: [String: Any]) -> Int64? {
        for line in (report["output_tail"] as? [[String: Any]]) ?? [] {
            guard let text = line["text"] as? String, let range = text.range(of: "crashlab: dying at ") else { continue }
            return Int64(text[range.upperBound...].prefix { $0.isNumber })
        }
        return nil
    }

    /// When the process exited: the report's `ended_at` (when it was reaped, ms) less the
    /// kernel-measured detect latency.
    static func exitTime(_ report: [String: Any]) -> Int64? {
        guard let text = report["ended_at"] as? String else { return nil }
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = format.date(from: text) else { return nil }
        let latency = Int64(report["detect_latency_us"] as? Int ?? 0) * 1000
        return Int64((date.timeIntervalSince1970 * 1e9).rounded()) - latency
    }

    static func readReport(_ path: String) -> [String: Any]? {
        FileManager.default.contents(atPath: path).flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any] }
    }

    static func crashID(_ line: String) -> String? {
        guard let start = line.range(of: "[crash ")?.upperBound, let end = line[start...].firstIndex(of: "]") else { return nil }
        return String(line[start..<end])
    }

    static func output(of program: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let pipe = Foundation.Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data
    }
}

/// When each report file was renamed into place (CLOCK_REALTIME ns), from inotify, read by a
/// thread that does nothing else.
final class ReportsAppearing: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSCondition()
    private var times: [String: Int64] = [:]

    /// Waits (up to 30 s) for the daemon to make `directory`, then watches it.
    init(_ directory: String) throws {
        fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { throw SystemError(errno, "inotify_init1") }
        let deadline = Date().addingTimeInterval(30)
        while inotify_add_watch(fd, directory, UInt32(IN_MOVED_TO)) < 0 {
            guard errno == ENOENT, Date() < deadline else { throw SystemError(errno, "inotify_add_watch \(directory)") }
            usleep(5000)
        }
        let thread = Thread { [self] in readEvents() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func readEvents() {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            var time = timespec()
            clock_gettime(CLOCK_REALTIME, &time)
            let now = Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
            var offset = 0
            lock.lock()
            var watchGone = false
            while offset + MemoryLayout<inotify_event>.size <= n {
                let mask = buffer.withUnsafeBytes { $0.load(fromByteOffset: offset + 4, as: UInt32.self) }
                let length = buffer.withUnsafeBytes { Int($0.load(fromByteOffset: offset + 12, as: UInt32.self)) }
                if mask & UInt32(IN_IGNORED) != 0 { watchGone = true }   // the directory was removed: done
                let nameStart = offset + MemoryLayout<inotify_event>.size
                let name = String(decoding: buffer[nameStart..<min(n, nameStart + length)].prefix { $0 != 0 }, as: UTF8.self)
                if times[name] == nil { times[name] = now }
                offset = nameStart + length
            }
            lock.broadcast()
            lock.unlock()
            if watchGone {
                close(fd)
                return
            }
        }
    }

    /// When `name` appeared, waiting up to 10 s for it.
    func time(of name: String) -> Int64? {
        let deadline = Date().addingTimeInterval(10)
        lock.lock()
        defer { lock.unlock() }
        while times[name] == nil {
            if !lock.wait(until: deadline) { return nil }
        }
        return times[name]
    }
}
