import Foundation
import Testing

/// Clients that misbehave on purpose. While they do, `bulkhead status` still answers and a
/// crashing worker is still restarted: the control socket cannot stop the supervisor.
@Suite("Hostile control clients")
struct HostileClientTests {
    static let config = """
    defaults:
      crash_loop: { same_crash: 0, max_restarts: 100000 }
    workers:
      - name: steady
        command: [/bin/sleep, "1000"]
      - name: crasher
        command: [/bin/sh, -c, "sleep 0.2; kill -SEGV $$"]
        backoff: { initial: 50ms, max: 100ms }
    """

    /// A crasher death and its restart, both after `mark`: the loop is still supervising.
    func expectSupervising(_ daemon: DaemonHarness, after mark: Int) throws {
        let exit = try daemon.waitForEvent("crasher:0", "exit", after: mark, containing: ["SIGSEGV"])
        let index = daemon.output.firstIndex(of: exit) ?? mark
        try daemon.waitForEvent("crasher:0", "spawn", after: index)
    }

    func expectStatusAnswers(_ daemon: DaemonHarness) throws {
        let started = Date()
        let status = try daemon.cli(["status"])
        #expect(status.code == 0, "status while under attack: \(status.stderr)")
        #expect(status.stdout.contains("steady:0"))
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("garbage, a 100 MB request, a half-written request, a slow loris and 200 idle connections")
    func everythingAtOnce() throws {
        let daemon = try DaemonHarness(Self.config)
        try daemon.start()
        try daemon.waitForEvent("crasher:0", "spawn")

        // 200 idle connections, held for the whole test.
        let idle = try (0..<200).map { _ in try RawControlSocket(path: daemon.socketPath) }

        // Garbage with newlines: an error reply, then the connection is closed.
        let garbage = try RawControlSocket(path: daemon.socketPath)
        var random = SystemRandomNumberGenerator()
        garbage.send((0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) } + [0x0A])
        let garbageReply = try #require(garbage.readLine(timeout: 30))
        #expect(garbageReply.contains(#""ok":false"#))
        #expect(garbageReply.contains("bad_request"))
        #expect(garbage.waitForClose(timeout: 30))

        // Garbage without a newline, beyond the size cap.
        let noNewline = try RawControlSocket(path: daemon.socketPath)
        noNewline.send([UInt8](repeating: 0x41, count: 70_000))
        #expect(noNewline.readLine(timeout: 30)?.contains("too_large") == true)

        // A 100 MB request, written from a thread: the daemon answers too_large after 64 KiB
        // and closes; the writer sees a broken pipe long before 100 MB.
        let huge = try RawControlSocket(path: daemon.socketPath)
        let writer = Thread {
            let chunk = [UInt8](repeating: 0x7B, count: 1 << 20)
            for _ in 0..<100 where huge.send(chunk) {}
        }
        writer.start()

        // Half-written: the start of a request, then nothing.
        let half = try RawControlSocket(path: daemon.socketPath)
        half.send(#"{"v":1,"cmd":"sta"#)
        let halfSent = Date()

        // Slow loris: one byte a second of a request that would be valid.
        let loris = try RawControlSocket(path: daemon.socketPath)
        let lorisBytes = Array(#"{"v":1,"cmd":"status"}"#.utf8) + [0x0A]
        let lorisThread = Thread {
            for byte in lorisBytes {
                if !loris.send([byte]) { return }
                Thread.sleep(forTimeInterval: 1)
            }
        }
        lorisThread.start()

        // A half-written request then end of input: an error, not a hang.
        let truncated = try RawControlSocket(path: daemon.socketPath)
        truncated.send(#"{"v":1,"cmd":"status""#)
        truncated.shutdownWrite()
        #expect(truncated.readLine(timeout: 30)?.contains("truncated") == true)

        // Meanwhile: status answers and the crasher is restarted.
        let mark = daemon.mark
        try expectStatusAnswers(daemon)
        try expectSupervising(daemon, after: mark)

        #expect(huge.readLine(timeout: 30)?.contains("too_large") == true)
        #expect(huge.waitForClose(timeout: 30))

        // The half-written request and the loris get a timeout 5 s after their first byte.
        let halfReply = half.readLine(timeout: 30)
        #expect(halfReply?.contains(#""code":"timeout""#) == true, "\(halfReply ?? "nothing")")
        #expect(Date().timeIntervalSince(halfSent) >= 4.5)
        #expect(loris.readLine(timeout: 30)?.contains(#""code":"timeout""#) == true)

        // Still serving, still supervising; the idle ones are still connected (60 s timeout).
        let mark2 = daemon.mark
        try expectStatusAnswers(daemon)
        try expectSupervising(daemon, after: mark2)
        let ping = try idle[0].request(#"{"v":1,"cmd":"ping"}"#)
        #expect(ping["ok"] as? Bool == true)
        #expect(((ping["result"] as? [String: Any])?["pid"] as? Int) == Int(daemon.daemonPID))
        // A wrong version is answered (then closed); an unknown command is answered and the
        // connection stays usable.
        let versioned = try idle[1].request(#"{"v":99,"cmd":"status"}"#)
        #expect((versioned["error"] as? [String: Any])?["code"] as? String == "unsupported_version")
        let unknown = try idle[2].request(#"{"v":1,"cmd":"frobnicate"}"#)
        #expect((unknown["error"] as? [String: Any])?["code"] as? String == "unknown_command")
        #expect(try idle[2].request(#"{"v":1,"cmd":"ping"}"#)["ok"] as? Bool == true)
        withExtendedLifetime(idle) {}
        try daemon.stop()
    }

    @Test("a client that never reads its replies is dropped; pipelined requests are answered in order")
    func nonReadingClient() throws {
        let daemon = try DaemonHarness(Self.config)
        try daemon.start()
        // Many status requests sent at once: answered one after another, in order.
        let pipelined = try RawControlSocket(path: daemon.socketPath)
        pipelined.send(String(repeating: #"{"v":1,"cmd":"ping"}"# + "\n", count: 50))
        for _ in 0..<50 {
            #expect(pipelined.readLine(timeout: 30)?.contains(#""ok":true"#) == true)
        }

        // Thousands of requests and never a read: the daemon stops reading it (its replies fill
        // the socket), keeps serving everyone else, and drops it once it stalls.
        let greedy = try RawControlSocket(path: daemon.socketPath)
        let dropped = DispatchSemaphore(value: 0)
        let flood = Thread {
            let request = Array((#"{"v":1,"cmd":"status"}"# + "\n").utf8)
            var batch: [UInt8] = []
            for _ in 0..<1000 { batch += request }
            var sends = 0
            while sends < 10_000 && greedy.send(batch) { sends += 1 }
            dropped.signal()   // the send failed: the daemon closed it
        }
        flood.start()
        let mark = daemon.mark
        try expectStatusAnswers(daemon)
        try expectSupervising(daemon, after: mark)
        // Dropped once its replies have sat unread for the stall timeout (30 s).
        #expect(dropped.wait(timeout: .now() + 120) == .success, "the non-reading client was dropped")
        try expectStatusAnswers(daemon)
        try daemon.stop()
    }

    @Test("an idle connection is closed 60 s after its last request, not before; one that spoke since stays")
    func idleConnectionsClose() async throws {
        struct Observed: Sendable {
            var firstPing = false, closedEarly = false, secondPing = false, closed = false
            var closedAfter = 0.0, sinceSpoke = 0.0, thirdPing = false
        }
        // A minute of waiting, spent on a thread of its own: the rest of the suite runs meanwhile
        // (beside a daemon with nothing to do: a minute of crash loop would only load the machine).
        try await withDaemon("""
        workers:
          - name: steady
            command: [/bin/sleep, "1000"]
        """) { daemon in
            let seen = try await offThread {
                var seen = Observed()
                let connected = Date()   // before the connects: the daemon's clock starts later
                let quiet = try RawControlSocket(path: daemon.socketPath)
                let chatty = try RawControlSocket(path: daemon.socketPath)
                seen.firstPing = (try? chatty.request(#"{"v":1,"cmd":"ping"}"#))?["ok"] as? Bool == true
                seen.closedEarly = quiet.waitForClose(timeout: 30)
                // Half-way: chatty speaks again, so its minute starts over.
                let spoke = Date()
                seen.secondPing = (try? chatty.request(#"{"v":1,"cmd":"ping"}"#))?["ok"] as? Bool == true
                seen.closed = quiet.waitForClose(timeout: 120)
                seen.closedAfter = Date().timeIntervalSince(connected)
                seen.sinceSpoke = Date().timeIntervalSince(spoke)
                seen.thirdPing = (try? chatty.request(#"{"v":1,"cmd":"ping"}"#))?["ok"] as? Bool == true
                return seen
            }
            #expect(seen.firstPing && seen.secondPing)
            #expect(!seen.closedEarly, "an idle connection was closed within 30 s")
            #expect(seen.closed, "the idle connection was still open 150 s after it connected")
            #expect(seen.closedAfter >= 59.5, "closed \(seen.closedAfter) s after connecting: before the 60 s idle timeout")
            // Closed by its own deadline: the other one, which spoke 30 s in, is still served
            // (its minute ends about 90 s in).
            #expect(seen.thirdPing, "the connection that spoke \(seen.sinceSpoke) s earlier was closed too")
            let status = try await daemon.command(["status"])
            #expect(status.code == 0, "\(status.stderr)")
        }
    }

    @Test("beyond the connection cap a client is told busy; freed slots serve again")
    func connectionCap() throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < 4096 {
            limit.rlim_cur = min(limit.rlim_max, 4096)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        try #require(limit.rlim_cur >= 1200, "needs 1200 fds")
        let daemon = try DaemonHarness(Self.config)
        try daemon.start()
        var held = try (0..<1024).map { _ in try RawControlSocket(path: daemon.socketPath) }
        // Every held one is accepted once a ping on the last answers (accepts are in order).
        #expect(try held[1023].request(#"{"v":1,"cmd":"ping"}"#)["ok"] as? Bool == true)
        let extra = try RawControlSocket(path: daemon.socketPath)
        let reply = try #require(extra.readLine(timeout: 30))
        #expect(reply.contains(#""code":"busy""#))
        try daemon.waitForLine(what: "the busy refusal is logged") { $0.contains("control connection refused: 1024 clients") }
        let mark = daemon.mark
        try expectSupervising(daemon, after: mark)
        held.removeAll()
        // Closed connections are noticed (hang-up) and their slots freed.
        let deadline = Date().addingTimeInterval(30)
        var served = false
        while !served && Date() < deadline {
            served = try daemon.cli(["status"]).code == 0
        }
        #expect(served)
        try daemon.stop()
    }
}
