import BulkheadSystem
import Foundation
import Glibc
import Testing

/// SPEC §6, bulkhead as a `Type=notify` service: the real daemon, started with NOTIFY_SOCKET
/// (and WATCHDOG_USEC) pointing at a socket the test reads, must send exactly the documented
/// datagrams (docs/systemd.md): READY=1 once start-up settled, STATUS=, WATCHDOG=1 at half the
/// interval, RELOADING=1 + MONOTONIC_USEC … READY=1 around a reload, STOPPING=1 on SIGTERM.
@Suite("bulkhead under systemd: sd_notify")
struct SystemdNotifyTests {
    @Test("READY=1 after the workers started, STATUS=, the watchdog rhythm, reload and stop")
    func fullSequence() async throws {
        let manager = try ServiceManagerSocket()
        defer { manager.close() }
        let daemon = try DaemonHarness("""
        workers:
          - name: slow
            command: [{{crashlab}}, --notify-ready, 700ms, --print-env]
            ready: notify
          - name: quick
            command: [{{crashlab}}]
        """)
        try await offThread {
            try daemon.start(environment: ["NOTIFY_SOCKET": manager.name, "WATCHDOG_USEC": "400000"])
        }
        defer { _ = try? daemon.stop() }

        let ready = try await manager.next(what: "READY=1") { $0.hasPrefix("READY=1") }
        #expect(ready.text == "READY=1\nSTATUS=2/2 running", "\(ready.text)")
        // The slow worker was ready before bulkhead said it was, and it held READY back.
        let slowReady = try await daemon.next("slow:0", "ready")
        #expect(slowReady.line.contains("READY=1"))
        let before = manager.received.prefix { $0.text != ready.text }
        #expect(before.contains { $0.text == "EXTEND_TIMEOUT_USEC=15000000" }, "\(before.map(\.text))")
        #expect(before.contains { $0.text.hasPrefix("STATUS=") && $0.text.contains("starting") }, "\(before.map(\.text))")
        #expect(!before.contains { $0.text.hasPrefix("READY=1") })

        // Workers never see bulkhead's own NOTIFY_SOCKET or watchdog.
        let env = CrashLabReport(daemon.stdoutLines(of: "slow:0"))
        #expect(env.env("NOTIFY_SOCKET")?.hasPrefix("@bulkhead/") == true, "\(env.lines)")
        #expect(env.env("NOTIFY_SOCKET") != manager.name)
        #expect(env.env("WATCHDOG_USEC") == nil, "\(env.lines)")

        // The watchdog: WATCHDOG=1 about every 200 ms (half of 400 ms), never in bursts.
        let pingsFrom = manager.received.count
        let sleptFrom = Date()
        try await Task.sleep(for: .seconds(2.2))
        let slept = Date().timeIntervalSince(sleptFrom)   // more than 2.2 s on a loaded machine
        let pings = manager.received.dropFirst(pingsFrom).filter { $0.text == "WATCHDOG=1" }.map(\.at)
        #expect(pings.count >= 6 && Double(pings.count) <= slept / 0.2 + 2, "\(pings.count) pings in \(slept) s")
        let gaps = zip(pings.dropFirst(), pings).map { $0 - $1 }
        // Arrival times are taken by a test thread that may itself run late and read two at
        // once; the pure tests check the exact rhythm, this one the order of magnitude.
        #expect(Double(gaps.filter { $0 > 0.15 }.count) >= Double(gaps.count) * 0.75, "pings closer than the interval: \(gaps)")
        let median = gaps.sorted()[gaps.count / 2]
        #expect(median > 0.18 && median < 0.3, "median gap \(median) s, not about 200 ms: \(gaps)")

        // Reload with a new worker: RELOADING=1 + MONOTONIC_USEC (our clock), READY=1, new status.
        try daemon.write(config: """
        workers:
          - name: slow
            command: [{{crashlab}}, --notify-ready, 700ms, --print-env]
            ready: notify
          - name: quick
            command: [{{crashlab}}]
          - name: added
            command: [{{crashlab}}]
        """)
        let reloadFrom = manager.received.count
        let clockBefore = Self.monotonicMicroseconds()
        kill(daemon.daemonPID, SIGHUP)
        let reloading = try await manager.next(after: reloadFrom, what: "RELOADING=1") { $0.hasPrefix("RELOADING=1") }
        let clockAfter = Self.monotonicMicroseconds()
        let lines = reloading.text.split(separator: "\n")
        #expect(lines.count == 2 && lines[0] == "RELOADING=1" && lines[1].hasPrefix("MONOTONIC_USEC="), "\(reloading.text)")
        let stamp = UInt64(lines.last?.dropFirst("MONOTONIC_USEC=".count) ?? "") ?? 0
        #expect(stamp >= clockBefore && stamp <= clockAfter, "MONOTONIC_USEC \(stamp) not in [\(clockBefore), \(clockAfter)]")
        let reloaded = try await manager.next(after: reloading.index + 1, what: "READY=1 after the reload") { $0.hasPrefix("READY=1") }
        #expect(reloaded.text == "READY=1")
        _ = try await manager.next(after: reloadFrom, what: "STATUS=3/3 running") { $0 == "STATUS=3/3 running" }

        // SIGTERM: STOPPING=1 first, then the status of the way down.
        let stopFrom = manager.received.count
        kill(daemon.daemonPID, SIGTERM)
        let stopping = try await manager.next(after: stopFrom, what: "STOPPING=1") { $0.hasPrefix("STOPPING") }
        #expect(stopping.text == "STOPPING=1")
        #expect(try await offThread { try daemon.stop() } == 0)
        #expect(!manager.received.dropFirst(stopFrom).contains { $0.text.hasPrefix("READY=1") || $0.text.hasPrefix("RELOADING=1") })
    }

    @Test("a worker that cannot start does not hold READY back; WATCHDOG_PID of another process means no pings")
    func failedWorkerDoesNotBlockReady() async throws {
        let manager = try ServiceManagerSocket()
        defer { manager.close() }
        let daemon = try DaemonHarness("""
        workers:
          - name: broken
            command: [{{crashlab}}, --exit, "78"]
            ready: notify
          - name: dependent
            command: [{{crashlab}}]
            depends_on: [broken]
          - name: fine
            command: [{{crashlab}}]
        """)
        try await offThread {
            try daemon.start(environment: ["NOTIFY_SOCKET": manager.name, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"])
        }
        defer { _ = try? daemon.stop() }
        let ready = try await manager.next(what: "READY=1") { $0.hasPrefix("READY=1") }
        #expect(ready.text == "READY=1\nSTATUS=1/3 running, 1 waiting, 1 failed", "\(ready.text)")
        try await Task.sleep(for: .milliseconds(600))
        #expect(!manager.received.contains { $0.text == "WATCHDOG=1" }, "WATCHDOG_PID=1 is not bulkhead: no pings")
        let stopFrom = manager.received.count
        #expect(try await offThread { try daemon.stop() } == 0)
        #expect(manager.received.dropFirst(stopFrom).first?.text == "STOPPING=1")
    }

    static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1_000
    }
}

/// The service manager's end of sd_notify: an abstract datagram socket and a thread that keeps
/// every datagram with the time it arrived.
final class ServiceManagerSocket: @unchecked Sendable {
    struct Datagram: Sendable {
        var text: String
        /// Seconds since the socket was made.
        var at: Double
        var index: Int
    }

    let name: String
    private let socket: NotifySocket
    private let condition = NSCondition()
    private var datagrams: [Datagram] = []
    private var closed = false
    private let start = Date()

    init() throws {
        name = "@bulkhead-test-manager/\(getpid())/\(UUID().uuidString.prefix(8))"
        socket = try NotifySocket(name: name)
        let thread = Thread { [self] in run() }
        thread.start()
    }

    private func run() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            condition.lock()
            let stop = closed
            condition.unlock()
            if stop { break }
            var p = pollfd(fd: socket.descriptor.rawValue, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            while let datagram = try? socket.receive(into: &buffer) {
                let text = String(decoding: datagram.bytes, as: UTF8.self)
                condition.lock()
                datagrams.append(Datagram(text: text, at: Date().timeIntervalSince(start), index: datagrams.count))
                condition.broadcast()
                condition.unlock()
            }
        }
        socket.close()
    }

    var received: [Datagram] {
        condition.lock()
        defer { condition.unlock() }
        return datagrams
    }

    /// The first datagram from index `after` on whose text matches.
    func next(after: Int = 0, timeout: Double = Deadline.event, what: String,
              _ matches: @escaping @Sendable (String) -> Bool) async throws -> Datagram {
        try await offThread { [self] in
            let deadline = Date().addingTimeInterval(timeout)
            condition.lock()
            defer { condition.unlock() }
            var index = after
            while true {
                while index < datagrams.count {
                    if matches(datagrams[index].text) { return datagrams[index] }
                    index += 1
                }
                if !condition.wait(until: deadline) {
                    throw IntegrationFailure("no datagram \(what) in \(timeout) s; got: \(datagrams.map(\.text))")
                }
            }
        }
    }

    /// Stops the reading thread (which then closes the socket).
    func close() {
        condition.lock()
        closed = true
        condition.unlock()
    }
}
