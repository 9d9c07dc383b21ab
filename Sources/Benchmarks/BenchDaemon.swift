import BulkheadSystem
import CLinux
import Foundation

/// A real `bulkhead daemon` started for a benchmark, with its stderr read on a thread.
/// Lines are only counted and matched, not kept, unless `keep` is true.
final class BenchDaemon: @unchecked Sendable {
    let directory: String
    let pid: Int32
    private let stderrRead: FileDescriptor
    private let lock = NSCondition()
    private var kept: [String] = []
    private var matchedCounts: [String: Int] = [:]
    private(set) var bytesRead = 0
    private var finished = false
    private let watch: [String]
    private let keep: (String) -> Bool
    /// Called on the reader thread for every raw chunk (output throughput counting).
    private let chunkObserver: ((UnsafeRawBufferPointer) -> Void)?

    /// `watch`: substrings whose matching lines are counted (`countOf`).
    /// `environment`: added to the daemon's (NOTIFY_SOCKET, WATCHDOG_USEC).
    /// `arguments`: added to `bulkhead daemon`'s (`--no-state`).
    init(config: String, watch: [String] = [], keep: @escaping (String) -> Bool = { _ in false },
         chunkObserver: ((UnsafeRawBufferPointer) -> Void)? = nil, environment extra: [String: String] = [:],
         arguments: [String] = []) throws {
        directory = NSTemporaryDirectory() + "bulkhead-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configPath = directory + "/bench.yaml"
        let cgroups = Benchmarks.cgroupsOff ? "cgroups: off\n" : ""
        try ("state_dir: \(directory)/state\n" + cgroups + config).write(toFile: configPath, atomically: true, encoding: .utf8)
        self.watch = watch
        self.keep = keep
        self.chunkObserver = chunkObserver
        let pipe = try BulkheadSystem.Pipe()
        stderrRead = pipe.readEnd
        try stderrRead.setNonBlocking(false)
        let devNull = try FileDescriptor.open("/dev/null", O_RDWR)
        // `extra` may name more of PATH, after the products (a toolchain the daemon should find).
        var environment = ["PATH=\(Benchmarks.productsDirectory):\(extra["PATH"] ?? "/usr/bin:/bin")"]
        if let lang = ProcessInfo.processInfo.environment["LANG"] { environment.append("LANG=\(lang)") }
        environment += extra.filter { $0.key != "PATH" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let request = SpawnRequest(
            executable: Benchmarks.productsDirectory + "/bulkhead",
            arguments: ["bulkhead", "daemon", "--config", configPath, "--socket", directory + "/control.sock", "--no-timestamps"] + arguments,
            environment: environment, standardInput: devNull, standardOutput: devNull, standardError: pipe.writeEnd
        )
        pid = try Spawner.spawn(request)
        pipe.writeEnd.close()
        devNull.close()
        let thread = Thread { [self] in readLoop() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func readLoop() {
        let capacity = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var partial: [UInt8] = []
        while true {
            let n = read(stderrRead.rawValue, buffer.baseAddress, capacity)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            chunkObserver?(chunk)
            lock.lock()
            bytesRead += n
            lock.unlock()
            if watch.isEmpty && chunkObserver != nil { continue }
            // Split into lines (a slow path: only benchmarks that watch lines use it).
            partial.append(contentsOf: chunk)
            var start = 0
            var lines: [String] = []
            while let newline = partial[start...].firstIndex(of: 0x0A) {
                lines.append(String(decoding: partial[start..<newline], as: UTF8.self))
                start = newline + 1
            }
            partial.removeFirst(start)
            lock.lock()
            for line in lines {
                for w in watch where line.contains(w) { matchedCounts[w, default: 0] += 1 }
                if keep(line) { kept.append(line) }
            }
            lock.broadcast()
            lock.unlock()
        }
        lock.lock()
        finished = true
        lock.broadcast()
        lock.unlock()
    }

    func countOf(_ watched: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return matchedCounts[watched] ?? 0
    }

    var keptLines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return kept
    }

    /// Waits until `watched` was seen `count` times; false on timeout.
    @discardableResult
    func wait(for watched: String, count: Int, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while (matchedCounts[watched] ?? 0) < count {
            if finished || !lock.wait(until: deadline) { return false }
        }
        return true
    }

    func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(60)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(5_000)
        }
        lock.lock()
        let deadline2 = Date().addingTimeInterval(10)
        while !finished && lock.wait(until: deadline2) {}
        lock.unlock()
        stderrRead.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Voluntary + involuntary context switches of every thread of the daemon so far.
    func contextSwitches() -> Int {
        var total = 0
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for task in tasks {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where line.contains("ctxt_switches") {
                total += Int(line.split(separator: "\t").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? 0
            }
        }
        return total
    }
}

/// Percentiles of a sample, for printing.
struct Distribution {
    var values: [Double]

    init(_ values: [Double]) {
        self.values = values.sorted()
    }

    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let index = min(values.count - 1, max(0, Int((p / 100 * Double(values.count - 1)).rounded())))
        return values[index]
    }

    func summary(_ unit: String) -> String {
        String(format: "n=%d p50=%.1f%@ p90=%.1f%@ p99=%.1f%@ max=%.1f%@", values.count,
               percentile(50), unit, percentile(90), unit, percentile(99), unit, values.last ?? .nan, unit)
    }
}
