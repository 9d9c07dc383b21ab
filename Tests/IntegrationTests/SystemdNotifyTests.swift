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

        // The watchdog: WATCHDOG=1 keeps coming (twenty pings, however long a loaded machine
        // takes), and never in a burst: twenty pings span at least 19 intervals of 200 ms (half
        // of 400 ms), 3.8 s, as bulkhead sends them; 1 s leaves room for a receiving thread
        // that ran late and read several at once. The rhythm itself (median gap, worst gap) is
        // a figure of `bulkhead-bench watchdog`, not a pass/fail line on a shared machine.
        var pings: [ServiceManagerSocket.Datagram] = []
        var after = manager.received.count
        while pings.count < 20 {
            let ping = try await manager.next(after: after, what: "WATCHDOG=1 #\(pings.count + 1)") { $0 == "WATCHDOG=1" }
            pings.append(ping)
            after = ping.index + 1
        }
        let span = pings[19].at - pings[0].at
        #expect(span >= 1.0, "twenty WATCHDOG=1 pings within \(span) s: \(zip(pings.dropFirst(), pings).map { $0.at - $1.at })")

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
          - name: timer
            command: [/bin/sh, -c, "sleep 0.6; echo tick; exec sleep 1000"]
        """)
        try await offThread {
            try daemon.start(environment: ["NOTIFY_SOCKET": manager.name, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"])
        }
        defer { _ = try? daemon.stop() }
        let ready = try await manager.next(what: "READY=1") { $0.hasPrefix("READY=1") }
        #expect(ready.text == "READY=1\nSTATUS=2/4 running, 1 waiting, 1 failed", "\(ready.text)")
        // The timer's line: the daemon's loop has been running for 600 ms, six ping intervals.
        try await daemon.nextLine(what: "the timer's tick") { $0 == "timer:0 | tick" }
        let stopFrom = manager.received.count
        #expect(try await offThread { try daemon.stop() } == 0)
        #expect(manager.received.dropFirst(stopFrom).first?.text == "STOPPING=1")
        // Everything sent before STOPPING=1 has been read by now: not one ping among it.
        #expect(!manager.received.contains { $0.text == "WATCHDOG=1" }, "WATCHDOG_PID=1 is not bulkhead: no pings")
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
