import BulkheadSystem
import CLinux
import Foundation

// Timing goals that integration tests only check for at all (a flake on a shared machine
// otherwise): here they are measured and printed, for a person to compare with the goal.

/// bulkhead under systemd with `WatchdogSec=`: its WATCHDOG=1 rhythm (goal: every
/// WATCHDOG_USEC/2, never a gap near WATCHDOG_USEC), with `instances` idle instances and one
/// crash-looping beside it. The service manager's socket is read here.
enum WatchdogBenchmark {
    static func run(instances: Int, seconds: Double = 10) throws {
        let name = "@bulkhead-bench-manager/\(getpid())"
        let manager = try NotifySocket(name: name)
        defer { manager.close() }
        let config = """
        workers:
        \(Benchmarks.idleWorkers(instances))
          - name: dier
            command: [\(Benchmarks.tiny), exit-after, "3", "1"]
            backtrace: false
            backoff: { initial: 0ms }
            crash_loop: { max_restarts: 100000, same_crash: 0 }
        """
        let daemon = try BenchDaemon(config: config, environment: ["NOTIFY_SOCKET": name, "WATCHDOG_USEC": "400000"])
        var buffer = [UInt8](repeating: 0, count: 4096)
        var pings: [UInt64] = []
        let end = bh_monotonic_ns() + UInt64(seconds * 1e9)
        while bh_monotonic_ns() < end {
            var p = pollfd(fd: manager.descriptor.rawValue, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            while let datagram = try manager.receive(into: &buffer) {
                if String(decoding: datagram.bytes, as: UTF8.self).split(separator: "\n").contains("WATCHDOG=1") {
                    pings.append(bh_monotonic_ns())
                }
            }
        }
        let gaps = zip(pings.dropFirst(), pings).map { Double($0 &- $1) / 1e6 }
        print("watchdog: WATCHDOG=1 gaps \(Distribution(gaps).summary("ms")) (WATCHDOG_USEC 400 ms: goal 200 ms, never near 400; \(instances) idle instances, one crash-looping)")
        daemon.stop()
    }
}

/// Death → replacement exec'd for a crash-looping worker (backoff 0) while this process floods
/// another instance's notify socket as a stranger (every datagram rejected): the supervisor
/// must not fall behind on restarts under notify traffic. Measured outside the daemon from the
/// kernel's exit and exec timestamps, without and with the flood.
enum NotifyFloodBenchmark {
    static func run(samples: Int = 500) throws {
        for flooding in [false, true] {
            let events = try ProcEvents()
            let config = """
            workers:
              - name: target
                command: [\(Benchmarks.tiny), sleep]
                ready: notify
                start_timeout: 1h
                backtrace: false
              - name: dier
                command: [\(Benchmarks.tiny), exit, "1"]
                backtrace: false
                backoff: { initial: 0ms }
                crash_loop: { max_restarts: 100000, same_crash: 0 }
            """
            let daemon = try BenchDaemon(config: config)
            let flood = Flood(address: "@bulkhead/\(daemon.pid)/notify")
            if flooding { flood.start() }
            let values = RestartGaps.measure(events, daemonPID: daemon.pid, count: samples + 20)
            flood.stop()
            let sent = flooding ? "; \(flood.sent) datagrams sent by the stranger, \(flood.refused) refused by a full queue" : ""
            print("notify: death → replacement exec'd \(Distribution(Array(values.dropFirst(20))).summary("us")) (backoff 0, \(flooding ? "a stranger flooding another instance's notify socket" : "no notify traffic")\(sent))")
            daemon.stop()
        }
    }

    /// Garbage, oversized and would-be commands to one notify socket from a thread, as fast as
    /// the socket's queue takes them (a full queue answers at once: it never blocks).
    final class Flood: @unchecked Sendable {
        let address: String
        private let lock = NSLock()
        private var running = false
        private var thread: Thread?
        private(set) var sent = 0
        private(set) var refused = 0

        init(address: String) {
            self.address = address
        }

        func start() {
            lock.withLock { running = true }
            let thread = Thread { [self] in
                guard let sender = try? NotifySender(address: address) else { return }
                defer { sender.close() }
                let payloads = ["READY=1", "WATCHDOG=trigger", "STOPPING=1", "STATUS=owned by a stranger",
                                String(repeating: "A", count: 60_000), String(repeating: "=", count: 4096), "\u{FFFD}=\n"]
                var round = 0
                while lock.withLock({ running }) {
                    for payload in payloads {
                        if (try? sender.send(payload)) == true { sent += 1 } else { refused += 1 }
                    }
                    round += 1
                    if round % 4 == 0 { usleep(1000) }   // the socket is full: let the daemon have the CPU
                }
            }
            self.thread = thread
            thread.start()
        }

        func stop() {
            lock.withLock { running = false }
            while thread?.isFinished == false { usleep(1000) }
        }
    }
}
