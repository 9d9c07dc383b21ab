import BulkheadSystem
import CLinux
import Foundation

/// What telling people costs supervision (issue 17): detect latency (the daemon's own, kernel
/// exit → loop) and restart latency (death → replacement exec'd, from the kernel's events) of a
/// worker dying every 3 ms, with `instances` idle instances beside it, in setups run
/// alternately in one invocation — nothing; a hook run for every death plus a 10 Hz /metrics
/// scraper, and each of those alone; an `events -f` follower that never reads. Goal: within
/// 10 % of nothing.
enum MonitoringBenchmark {
    enum Setup: String, CaseIterable {
        case nothing = "neither"
        case hookAndScraper = "a hook on every death + a 10 Hz scraper"
        case hookOnly = "a hook on every death"
        case scraperOnly = "a 10 Hz scraper"
        case stalledFollower = "a stalled events -f follower"

        var hook: Bool { self == .hookAndScraper || self == .hookOnly }
        var scraper: Bool { self == .hookAndScraper || self == .scraperOnly }
    }

    struct Samples {
        var detect: [Double] = []
        var restart: [Double] = []
        var hookRuns = 0
        var scrapes = 0
    }

    static func run(instances: Int, samplesPerRound: Int = 500, rounds: Int = 2) throws {
        var results: [Setup: Samples] = [:]
        for round in 0..<rounds {
            // A B C, then C B A: drift of the machine falls on every setup alike.
            let order = round % 2 == 0 ? Setup.allCases : Setup.allCases.reversed()
            for setup in order {
                let measured = try measure(setup, instances: instances, samples: samplesPerRound)
                results[setup, default: Samples()].detect += measured.detect
                results[setup, default: Samples()].restart += measured.restart
                results[setup, default: Samples()].hookRuns += measured.hookRuns
                results[setup, default: Samples()].scrapes += measured.scrapes
            }
        }
        let base = results[.nothing] ?? Samples()
        for setup in Setup.allCases {
            let s = results[setup] ?? Samples()
            let detect = Distribution(s.detect)
            let restart = Distribution(s.restart)
            var line = "monitoring (\(setup.rawValue)): detect \(detect.summary("us")); restart \(restart.summary("us"))"
            if setup.hook { line += "; \(s.hookRuns) hook runs" }
            if setup.scraper { line += "; \(s.scrapes) scrapes" }
            if setup != .nothing {
                let b = (Distribution(base.detect), Distribution(base.restart))
                line += String(format: " | vs neither: detect p50 %+.0f%% p99 %+.0f%%, restart p50 %+.0f%%",
                               change(detect.percentile(50), b.0.percentile(50)), change(detect.percentile(99), b.0.percentile(99)),
                               change(restart.percentile(50), b.1.percentile(50)))
            }
            print(line)
        }
    }

    static func change(_ value: Double, _ base: Double) -> Double {
        base > 0 ? (value / base - 1) * 100 : .nan
    }

    static func measure(_ setup: Setup, instances: Int, samples: Int) throws -> Samples {
        let port = freePort()
        // Every death its own line and report: the bench counts them.
        var config = "crash_reports: { coalesce_after: 0 }\nworkers:\n" + (instances > 0 ? Benchmarks.idleWorkers(instances) + "\n" : "") + """
          - name: dier
            command: [\(Benchmarks.tiny), exit-after, "3", "1"]
            backtrace: false
            backoff: { initial: 0ms }
            crash_loop: { max_restarts: 100000, same_crash: 0 }

        """
        if setup.scraper { config += "metrics: { listen: \"127.0.0.1:\(port)\" }\n" }
        if setup.hook { config += "hooks:\n  - { name: every, on: [death], exec: [/bin/true], concurrency: 8 }\n" }
        if setup == .stalledFollower { config += "events: { history: 1000 }\n" }
        let events = try ProcEvents()
        let daemon = try BenchDaemon(config: config, watch: ["dier:0 * exit:"], keep: { $0.hasPrefix("dier:0 * exit:") || $0.hasPrefix("dier:0 * spawn:") })
        defer { daemon.stop() }
        var scraper: Scraper?
        var stalled: Int32 = -1
        if setup.scraper {
            scraper = Scraper(port: port)
            scraper?.start()
        }
        if setup == .stalledFollower { stalled = stalledFollower(socket: daemon.directory + "/control.sock") }
        defer { if stalled >= 0 { close(stalled) } }
        // Kernel events of the daemon's children, kept raw: which are the dier's is known after.
        var forks: [Int32: UInt64] = [:]
        var execs: [Int32: UInt64] = [:]
        var exits: [Int32: UInt64] = [:]
        let deadline = Date().addingTimeInterval(180)
        while daemon.countOf("dier:0 * exit:") < samples + 20 && Date() < deadline {
            for e in events.read(timeoutMilliseconds: 100) {
                switch e.kind {
                case 1 where e.parent == daemon.pid: forks[e.pid] = e.timestamp_ns
                case 2 where forks[e.pid] != nil: execs[e.pid] = e.timestamp_ns
                case 3 where forks[e.pid] != nil: exits[e.pid] = e.timestamp_ns
                default: break
                }
            }
        }
        scraper?.stop()
        var result = Samples()
        result.scrapes = scraper?.count ?? 0
        let kept = daemon.keptLines
        result.detect = kept.filter { $0.hasPrefix("dier:0 * exit:") }.dropFirst(20).compactMap { line in
            line.range(of: "noticed in ").flatMap { Double(line[$0.upperBound...].prefix { $0.isNumber }) }
        }
        // The dier's processes in spawn order: each one's exit → the next one's exec.
        let dierPIDs = kept.compactMap { line -> Int32? in
            guard line.hasPrefix("dier:0 * spawn:"), let r = line.range(of: "spawned pid ") else { return nil }
            return Int32(line[r.upperBound...].prefix { $0.isNumber })
        }
        let dier = Set(dierPIDs)
        result.hookRuns = forks.keys.filter { !dier.contains($0) }.count - instances
        for (previous, next) in zip(dierPIDs, dierPIDs.dropFirst()).dropFirst(20) {
            guard let died = exits[previous], let exec = execs[next], exec > died else { continue }
            result.restart.append(Double(exec - died) / 1e3)
        }
        return result
    }

    /// A client that asks for `events -f` and never reads again; its fd.
    static func stalledFollower(socket path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return -1
        }
        let request = Array(#"{"v":1,"cmd":"events","args":{"follow":true}}"#.utf8) + [0x0A]
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return fd
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 ? getsockname(fd, raw, &length) : -1
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// GET /metrics every 100 ms from a thread, reading each response whole.
    final class Scraper: @unchecked Sendable {
        let port: Int
        private let lock = NSLock()
        private var running = false
        private var done = false
        private(set) var count = 0

        init(port: Int) {
            self.port = port
        }

        func start() {
            lock.withLock { running = true }
            let thread = Thread { [self] in
                while lock.withLock({ running }) {
                    if scrape() { lock.withLock { count += 1 } }
                    usleep(100_000)
                }
                lock.withLock { done = true }
            }
            thread.start()
        }

        func stop() {
            lock.withLock { running = false }
            while !lock.withLock({ done }) { usleep(1000) }
        }

        private func scrape() -> Bool {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { return false }
            let request = Array("GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".utf8)
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var buffer = [UInt8](repeating: 0, count: 65536)
            var total = 0
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                total += n
            }
            return total > 0
        }
    }
}
