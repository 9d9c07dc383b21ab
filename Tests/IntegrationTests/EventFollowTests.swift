import Foundation
import Glibc
import Testing

/// `bulkhead events` (SPEC §11): the history, `-f` in a crash storm, and a follower that stops
/// reading.
@Suite("Event stream")
struct EventFollowTests {
    @Test("events -f --json in a crash storm: every death exactly once, in order")
    func followStorm() async throws {
        // Coalescing stays on: the follower must see every death even when the log folds them.
        let daemon = try DaemonHarness(ShellStorm.config(instances: 2, coalesced: true))
        try await daemon.launch()
        // Every event, not only storm's: the daemon numbers each event it makes (`seq`), so a
        // follower of all of them must see one unbroken run of numbers. (The daemon's own log
        // cannot be the reference: a storm's repeats are folded into "repeated N times" lines.)
        let follower = try StreamingProcess(Products.path("bulkhead"), ["events", "-f", "--json", "--socket", daemon.socketPath])
        // Subscribed once the history it was sent has been printed (none asked for) and a new event arrives.
        _ = try await offThread { follower.waitForLine(timeout: Deadline.event) { $0.contains("\"event\":\"exit\"") } }
        let reached = try await offThread {
            var seen = 0
            return follower.waitForLine(timeout: 120) { _ in
                seen += 1
                return seen >= 1200
            }
        }
        #expect(reached != nil, "the follower saw \(follower.output.count) events")
        _ = try await daemon.command(["stop", "storm"])
        try await daemon.status(what: "storm stopped") { s in ["storm:0", "storm:1"].allSatisfy { s[$0]?["state"] as? String == "stopped" } }
        let marker = try await daemon.command(["reload"])   // an event after the last death: everything before it is out
        #expect(marker.code == 0)
        _ = try await offThread { follower.waitForLine(timeout: Deadline.event) { $0.contains("\"event\":\"reload\"") } }
        follower.kill()
        let records = try follower.output.map { try RawControlSocket.parse($0) }
        let sequences = records.compactMap { $0["seq"] as? Int }
        #expect(sequences.count == records.count, "every event has a seq")
        let first = try #require(sequences.first)
        #expect(sequences == Array(first..<(first + sequences.count)), "events missing, doubled or out of order")
        #expect(!records.contains { $0["event"] as? String == "lost" })
        let exits = records.filter { $0["event"] as? String == "exit" }
        #expect(exits.count >= 300, "\(exits.count) deaths followed")
        // Deaths folded into an earlier report still name that report: every crash exit has a crash id.
        #expect(exits.filter { ($0["class"] as? String) == "crash" }.allSatisfy { $0["crash_id"] is String })
        try await daemon.shutdown()
    }

    @Test("a follower that stops reading is told how many it lost and goes on; the daemon keeps supervising")
    func stalledFollower() async throws {
        let daemon = try DaemonHarness(ShellStorm.config(top: "events: { history: 50 }"))
        try await daemon.launch()
        let socket = try RawControlSocket(path: daemon.socketPath)
        #expect(socket.send(#"{"v":1,"cmd":"events","args":{"follow":true}}"# + "\n"))
        let head = try #require(socket.readLine(timeout: 30), "no reply to events")
        #expect(head.contains(#""following":true"#))
        // It reads nothing while the storm goes on: far more events than its socket and the
        // daemon's 50 kept can hold.
        let before = daemon.count("storm:0", "exit")
        let stormed = await Processes.waitUntil(timeout: 120) { daemon.count("storm:0", "exit") >= before + 1500 }
        #expect(stormed)
        let answered = try await daemon.command(["status", "storm"])
        #expect(answered.code == 0, "the daemon stopped answering: \(answered.stderr)")
        // Now it reads: the events its socket held, then `lost`, then the newest, in order.
        var lost = 0
        var sequences: [Int] = []
        var afterLost = 0
        while let line = socket.readLine(timeout: 10) {
            let message = try RawControlSocket.parse(line)
            if message["event"] as? String == "lost" {
                lost += message["events"] as? Int ?? 0
                continue
            }
            if let record = message["record"] as? [String: Any], let seq = record["seq"] as? Int {
                sequences.append(seq)
                if lost > 0 { afterLost += 1 }
            }
            if lost > 0 && afterLost > 20 { break }
        }
        #expect(lost > 0, "told of \(lost) lost events")
        #expect(afterLost > 20, "it did not go on after the loss")
        #expect(sequences == sequences.sorted() && Set(sequences).count == sequences.count)
        let gaps = zip(sequences, sequences.dropFirst()).filter { $1 - $0 > 1 }.map { $1 - $0 - 1 }
        #expect(gaps.reduce(0, +) == lost, "the lost count is exactly the gap in the stream")
        try await daemon.shutdown()
    }

    @Test("events --since shows the kept history of that period; names filter; bad names are refused")
    func historySince() async throws {
        let daemon = try DaemonHarness("""
        workers:
          - name: api
            command: [{{crashlab}}, --exit, "3", --after, 100ms]
            backtrace: false
            backoff: { initial: 100ms }
            crash_loop: { max_restarts: 100000, same_crash: 0 }
          - name: idle
            command: [{{crashlab}}]
        """)
        try await daemon.launch()
        try await daemon.next("api:0", "exit")
        let all = try await daemon.eventRecords()
        #expect(all.contains { $0["event"] as? String == "daemon" })
        #expect(all.contains { $0["event"] as? String == "exit" && $0["exit_code"] as? Int == 3 && $0["class"] as? String == "transient" })
        let api = try await daemon.eventRecords(["api"])
        #expect(!api.isEmpty && api.allSatisfy { $0["worker"] as? String == "api" })
        let recent = try await daemon.eventRecords(["--since", "1ms"])
        #expect(recent.count < all.count)
        let unknown = try await daemon.command(["events", "nope"])
        #expect(unknown.code == 1 && unknown.stderr.contains("nope"))
        let text = try await daemon.command(["events", "idle"])
        #expect(text.stdout.contains(" idle:0 spawn: spawned pid "), "\(text.stdout)")
        try await daemon.shutdown()
    }
}
