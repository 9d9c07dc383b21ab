import BulkheadSystem
import Foundation
import Glibc

/// Issues 15 and 16: how soon after a death its crash report is written, the backtracer's time
/// included (goal ≤ 1 s). For every crashlab kind, crash-looping under the daemon:
/// `--print-dying-time` stamps the moment just before the trap (CLOCK_REALTIME), the report's
/// file modification time is when it was written; their difference is the figure, and the
/// report's own `ended_at` − detect latency (the exit) splits it into the process's dying (the
/// backtracer) and bulkhead's part. Then a Go program that panics beside 2,000 goroutines
/// (GOTRACEBACK=all: a trace of ~12,000 lines), from its exit.
///
/// File times come from the kernel's coarse clock (a tick: 1–4 ms), which bounds the precision.
enum ForensicsBenchmark {
    static func run(samples: Int, crashlab: String?) throws {
        let crashlab = crashlab ?? Benchmarks.productsDirectory + "/crashlab"
        guard FileManager.default.isExecutableFile(atPath: crashlab) else {
            print("forensics: no crashlab at \(crashlab) (build it with the benchmarks, or give --crashlab PATH)")
            return
        }
        let kinds = try String(decoding: output(of: crashlab, ["--list-kinds"]), as: UTF8.self).split(separator: "\n").map(String.init)
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
            print("  " + name + String(format: " p50 %7.1f ms  p99 %7.1f ms   (exit → written p50 %5.1f ms, p99 %5.1f ms)",
                                       total.percentile(50), total.percentile(99), bulkhead.percentile(50), bulkhead.percentile(99)))
        }
        let overall = Distribution(all)
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
                        dying: ([String: Any]) -> Int64?) throws -> (total: [Double], fromExit: [Double]) {
        let config = """
        crash_reports: { keep: 100000 }
        workers:
          - name: k
            \(worker)
            backoff: { initial: 50ms, max: 50ms, jitter: 0 }
            crash_loop: { max_restarts: 100000, same_crash: 0 }
        """
        let daemon = try BenchDaemon(config: config, watch: ["k:0 * exit:"], keep: { $0.hasPrefix("k:0 * exit:") })
        defer { daemon.stop() }
        let warmUp = 3
        guard daemon.wait(for: "k:0 * exit:", count: samples + warmUp, timeout: Double(samples + warmUp) * 10) else {
            print("  (timed out after \(daemon.countOf("k:0 * exit:")) deaths)")
            return ([], [])
        }
        var total: [Double] = []
        var fromExit: [Double] = []
        for line in daemon.keptLines.dropFirst(warmUp).prefix(samples) {
            guard let id = crashID(line), let (report, written) = readReport(daemon.directory + "/state/crashes/" + id + ".json") else { continue }
            if let died = dying(report) { total.append(Double(written - died) / 1e6) }
            if let exited = exitTime(report) { fromExit.append(Double(written - exited) / 1e6) }
        }
        return (total, fromExit)
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

    /// The report and its modification time (ns, CLOCK_REALTIME), once the writer has written it.
    static func readReport(_ path: String) -> ([String: Any], Int64)? {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
               let data = FileManager.default.contents(atPath: path),
               let report = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
                return (report, Int64((modified.timeIntervalSince1970 * 1e9).rounded()))
            }
            usleep(2000)
        }
        return nil
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
