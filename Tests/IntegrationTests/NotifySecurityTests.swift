import BulkheadSystem
import Foundation
import Glibc
import Testing

/// SPEC §4 / STYLE 6: one notify socket for every instance; a datagram speaks for the instance
/// its sender belongs to (the main process or a process in its group); everything else is
/// dropped and counted; no traffic on the notify socket can stop supervision.
@Suite("Notify socket security")
struct NotifySecurityTests {
    /// The one socket every instance of `daemonPID` is given.
    static func notifySocket(_ daemonPID: Int32) -> String {
        "@bulkhead/\(daemonPID)/notify"
    }

    @Test("READY=1 from another instance's process speaks for that instance only; a stranger's is dropped and counted")
    func spoofedReady() async throws {
        try await withDaemon("""
        workers:
          - name: target
            command: [{{crashlab}}]
            ready: notify
            start_timeout: 5m
          - name: neighbour
            command: [{{crashlab}}, --notify-ready, --print, sent]
            ready: notify
            start_timeout: 5m
        """) { daemon in
            try await daemon.next("target:0", "spawn")
            // The neighbour's READY=1 (on the socket both were given) makes the neighbour ready,
            // not the target: the sender's pid says whose it is, not the socket.
            try await daemon.next("neighbour:0", "ready")

            // Now a stranger: this test process, on the same socket.
            try NotifySocket.send("READY=1\nSTATUS=spoofed", to: Self.notifySocket(daemon.daemonPID))
            let rejected = try await daemon.next("bulkhead", "notify-rejected")
            #expect(rejected.line.contains("notify message from pid \(getpid()) dropped (not a process of any instance)"), "\(rejected.line)")
            let document = try await offThread { Handed(value: try daemon.statusJSON().document) }.value
            let daemonFacts = document["daemon"] as? [String: Any] ?? [:]
            #expect(daemonFacts["notify_rejected"] as? Int == 1, "\(daemonFacts)")
            let states = try await daemon.instances()
            #expect(states["target:0"]?["state"] as? String == "starting")
            #expect(states["target:0"]?["status_text"] as? String != "spoofed")
            #expect(daemon.events("ready", of: "target:0").isEmpty, "a READY=1 not from the target made it ready")
            #expect(states["neighbour:0"]?["state"] as? String == "running")
            #expect(states["neighbour:0"]?["notify_rejected"] as? Int == 0)
            #expect(states["target:0"]?["notify_rejected"] as? Int == 0)
        }
    }

    @Test("READY=1 from any process in the instance's process group counts, a grandchild too (SPEC §4)")
    func groupMemberReady() async throws {
        // The main shell runs a second shell, which runs crashlab: crashlab is the main
        // process's grandchild, in its process group, and sends READY=1 from its own pid.
        try await withDaemon("""
        workers:
          - name: nested
            command: [/bin/sh, -c, "/bin/sh -c '{{crashlab}} --notify-ready --print sent; true'; exec sleep 1000"]
            ready: notify
            start_timeout: 5m
        """) { daemon in
            let spawn = try await daemon.next("nested:0", "spawn")
            try await daemon.nextLine(after: spawn.index, what: "READY=1 sent") { $0 == "nested:0 | sent" }
            let ready = try await daemon.next("nested:0", "ready", after: spawn.index)
            #expect(ready.line.contains("READY=1"))
            #expect(daemon.events("notify-rejected", of: "nested:0").isEmpty)
        }
    }

    @Test("READY=1 from a grandchild that left the group with setsid is dropped and counted",
          .enabled(if: tool("/usr/bin/setsid") != nil, "setsid (util-linux) is not installed"))
    func setsidGrandchildReady() async throws {
        // The main shell runs a second shell, which runs crashlab through setsid(1): crashlab is
        // the main process's grandchild, on the instance's own socket, but in a session (and so
        // a process group) of its own.
        try await withDaemon("""
        workers:
          - name: leaver
            command: [/bin/sh, -c, "/bin/sh -c 'setsid {{crashlab}} --print-env --print sent --notify-ready & wait'; exec sleep 1000"]
            ready: notify
            start_timeout: 5m
        """) { daemon in
            let spawn = try await daemon.next("leaver:0", "spawn")
            let main = try #require(DaemonHarness.spawnedPID(spawn.line))
            try await daemon.nextLine(after: spawn.index, what: "the grandchild about to send READY=1") { $0 == "leaver:0 | sent" }
            let report = CrashLabReport(daemon.stdoutLines(of: "leaver:0"))
            let ids = report.ids
            let sender = try #require(ids["pid"].map(Int32.init), "\(report.lines)")
            #expect(ids["sid"] == Int(sender) && ids["pgid"] == Int(sender), "not in a session of its own: \(ids)")
            #expect(ids["ppid"] != Int(main), "a grandchild, not the main process's child: \(ids)")
            #expect(report.env("NOTIFY_SOCKET") == Self.notifySocket(daemon.daemonPID), "\(report.lines)")

            // Its cgroup still says whose it is (when there are cgroups): the drop is counted
            // against that instance; without, against no instance.
            let inCgroup = report.lines.contains { $0.hasPrefix("cgroup 0::") && $0.hasSuffix("/leaver.0") }
            let pinned = inCgroup ? "leaver:0" : "bulkhead"
            let why = inCgroup ? "not a process of this instance" : "not a process of any instance"
            let rejected = try await daemon.next(pinned, "notify-rejected", after: spawn.index)
            #expect(rejected.line.contains("notify message from pid \(sender) dropped (\(why))"), "\(rejected.line)")
            let states = try await daemon.status(what: "the rejection counted") { ($0["leaver:0"]?["notify_rejected"] as? Int ?? 0) >= (inCgroup ? 1 : 0) }
            #expect(states["leaver:0"]?["state"] as? String == "starting", "\(states["leaver:0"] ?? [:])")
            #expect(daemon.events("ready", of: "leaver:0").isEmpty, "READY=1 from outside the group made the instance ready")
        }
    }

    @Test("hostile notify traffic from the instance and from a stranger never stops supervision",
          .enabled(if: tool("/usr/bin/python3") != nil, "python3 is not installed (the flooding worker is a python script)"))
    func hostileTraffic() async throws {
        try await withDaemon("""
        defaults:
          crash_loop: { same_crash: 0, max_restarts: 100000 }
        workers:
          - name: target
            command: [/usr/bin/python3, "{{dir}}/flood.py", "{{dir}}/stop-flood"]
            ready: notify
            start_timeout: 5m
          - name: ticker
            command: [{{crashlab}}, --exit, "1", --after, 100ms]
            backoff: { initial: 200ms, max: 200ms, jitter: 0 }
            backtrace: false
        """, prepare: { daemon in
            try Self.floodScript.write(toFile: daemon.directory + "/flood.py", atomically: true, encoding: .utf8)
        }) { daemon in
            try await daemon.nextLine(what: "the instance's own flood started") { $0 == "target:0 | flood started" }
            let socket = Self.notifySocket(daemon.daemonPID)

            // Both floods go on until the ticker has died and been restarted three times (or a
            // minute has passed: then supervision stood still while flooded).
            let stop = StopFlag()
            let floodStart = Date()
            async let strangerFlood = offThread { try Self.flood(socket, until: stop, cap: 60) }
            var after = daemon.mark
            for _ in 0..<4 {
                let exit = try await daemon.next("ticker:0", "exit", after: after, timeout: 60)
                after = try await daemon.next("ticker:0", "spawn", after: exit.index, timeout: 60).index + 1
            }
            stop.set()
            _ = FileManager.default.createFile(atPath: daemon.directory + "/stop-flood", contents: nil)
            let floodEnd = Date()
            let sent = try await strangerFlood
            #expect(!sent.cappedByTime, "the floods ran for a minute without four restarts of the ticker")
            // Most sends find the socket's queue full (the instance floods it too): what counts
            // is that the stranger's datagrams reached the daemon at all.
            #expect(sent.datagrams > 100, "the stranger's flood sent only \(sent.datagrams) datagrams")

            // Restarted while both floods went on, as the daemon itself recorded it (a death's
            // ended_at, then the next run's started_at). How quickly is a figure for the
            // benchmark (`bulkhead-bench notify`), not a pass/fail line on a shared machine: what
            // must hold is that a flooded loop goes on restarting at all.
            // (Deaths folded into a report in the storm reach its file within a second.)
            let inFlood: @Sendable () -> Int = {
                let runs = daemon.recordedRuns(of: "ticker")
                return zip(runs, runs.dropFirst()).filter { previous, next in previous.ended > floodStart && next.started < floodEnd }.count
            }
            _ = await Processes.waitUntil(timeout: 10) { inFlood() >= 3 }
            #expect(inFlood() >= 3, "restarts of the ticker that began and ended inside the flood: \(inFlood())")

            // The flooded instance is still supervised: its own READY=1 after its flood counts.
            let done = try await daemon.nextLine(what: "the instance's flood done") { $0.hasPrefix("target:0 | flood done ") }
            #expect((Int(done.line.split(separator: " ").last ?? "") ?? 0) > 0, "\(done.line)")
            try await daemon.next("target:0", "ready")
            let states = try await daemon.status(what: "the flooder's last status") {
                ($0["target:0"]?["status_text"] as? String)?.hasPrefix("flood survived") == true
            }
            #expect(states["target:0"]?["state"] as? String == "running")
            #expect((states["target:0"]?["notify_rejected"] as? Int ?? 0) > 0)
            #expect(daemon.events("exit", of: "target:0").isEmpty, "the flooder was never killed")
            #expect(!daemon.events("notify-rejected", of: "target:0").isEmpty)
        }
    }

    /// Set once by the test, read by the flooding thread.
    final class StopFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.withLock { value = true } }
        var isSet: Bool { lock.withLock { value } }
    }

    /// Sends from this process (a stranger) until `stop` or `cap` seconds: garbage, oversized and
    /// would-be commands, without blocking. Answers how many datagrams went.
    static func flood(_ name: String, until stop: StopFlag, cap: Double) throws -> (datagrams: Int, cappedByTime: Bool) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IntegrationFailure("socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(name.utf8.dropFirst())   // abstract: a NUL, then the name without '@'
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: [0] + path) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + path.count)
        let payloads: [[UInt8]] = [
            Array("READY=1".utf8), Array("WATCHDOG=trigger".utf8), Array("STOPPING=1".utf8),
            Array("STATUS=owned by a stranger".utf8), [0xff, 0xfe, 0x00, 0x3d, 0x0a],
            [UInt8](repeating: 0x41, count: 60_000), [UInt8](repeating: 0x3d, count: 4096), [],
        ]
        let start = Date()
        var sent = 0
        var round = 0
        while !stop.isSet {
            if Date().timeIntervalSince(start) > cap { return (sent, true) }
            round += 1
            for payload in payloads {
                let rc = payload.withUnsafeBytes { bytes in
                    withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), $0, length)
                        }
                    }
                }
                if rc >= 0 { sent += 1 }
            }
            // A full queue answers EAGAIN at once: let the daemon (and the ticker) have the CPU.
            if round % 4 == 0 { usleep(1000) }
        }
        return (sent, false)
    }

    /// The flooding worker: from its own pid (so every message passes the sender check),
    /// garbage, oversized datagrams, invalid UTF-8 and odd values until the file named by its
    /// argument exists (or a minute has passed); then STATUS= and READY=1.
    static let floodScript = #"""
    import os, socket, sys, time
    name = os.environ["NOTIFY_SOCKET"]
    address = "\0" + name[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.settimeout(10)
    def send(data):
        try:
            s.sendto(data, address)
        except OSError:
            pass
    junk = [b"", b"=", b"==", b"READY", b"READY=", b"READY=0", b"READY=11", b"\xff\xfe\xfd=\x00\x01",
            b"STATUS=\xff\xfe not utf-8", b"WATCHDOG=triggered", b"EXTEND_TIMEOUT_USEC=-5",
            b"EXTEND_TIMEOUT_USEC=99999999999999999999999999", b"ERRNO=abc", b"BARRIER=1", b"\n\n\n",
            b"=" * 3000, b"STATUS=" + b"s" * 4000, b"WATCHDOG=1\nSTATUS=flooding\nFDSTORE=1"]
    print("flood started", flush=True)
    start = time.monotonic()
    rounds = 0
    while time.monotonic() - start < 60 and not os.path.exists(sys.argv[1]):
        for item in junk:
            send(item)
        send(os.urandom(512))
        send(b"X" * 65000)
        rounds += 1
    send(b"STATUS=flood survived (%d rounds)" % rounds)
    send(b"READY=1")
    print("flood done", rounds, flush=True)
    time.sleep(1000)
    """#
}
