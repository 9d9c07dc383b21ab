@testable import Supervisor
import BulkheadJSON
@testable import BulkheadPolicy
import Testing

/// The event stream's parts without the loop: the history ring, the JSON of an event, a
/// follower's reply (and what it loses), a hook's stdin, the metrics text and the HTTP head.
@Suite("Event stream, hooks' input, metrics text")
struct EventStreamTests {
    static func exit(_ n: Int, instance: String = "api:0") -> SupervisorEvent {
        SupervisorEvent(.exit, InstanceID(parsing: instance), pid: Int32(1000 + n), priority: 3, message: "killed by SIGILL #\(n)")
    }

    static let exitFields: [SupervisorEvent.Field] = [
        .init("CLASS", "crash"), .init("SIGNAL", "ILL"), .init("RESTARTS", "3"), .init("CRASH_ID", "c-1"),
        .init("DETECT_LATENCY_US", "42"), .init("HEADLINE", "Fatal error: \"x\"\nnext"),
    ]

    @Test("an event's JSON has the journal's fields in lower case, numbers as numbers")
    func eventJSON() throws {
        let history = EventHistory(capacity: 4)
        let record = history.append(Self.exit(1), extra: Self.exitFields, wall: 1_800_000_000_123_000_000)
        let line = EventJSON.line(record)
        #expect(line.last == 0x0A)
        let json = try JSON(parsing: Array(line.dropLast()))
        #expect(json["time"]?.string == "2027-01-15T08:00:00.123Z")
        #expect(json["seq"]?.int == 1)
        #expect(json["event"]?.string == "exit")
        #expect(json["worker"]?.string == "api")
        #expect(json["instance"]?.string == "api:0")
        #expect(json["pid"]?.int == 1001)
        #expect(json["class"]?.string == "crash")
        #expect(json["signal"]?.string == "ILL")
        #expect(json["restarts"]?.int == 3)
        #expect(json["crash_id"]?.string == "c-1")
        #expect(json["detect_latency_us"]?.int == 42)
        #expect(json["headline"]?.string == "Fatal error: \"x\"\nnext")
        #expect(json["priority"]?.int == 3)
    }

    @Test("the ring keeps the newest; --since finds the first event at or after a time")
    func history() {
        let history = EventHistory(capacity: 3)
        for n in 1...5 { history.append(Self.exit(n), extra: [], wall: Int64(n) * 1000) }
        #expect(history.firstSequence == 3)
        #expect(history.nextSequence == 6)
        #expect(history.record(2) == nil)
        #expect(history.record(5)?.event.pid == 1005)
        #expect(history.firstSequence(since: 3500) == 4)
        #expect(history.firstSequence(since: 0) == 3)
        #expect(history.firstSequence(since: 9999) == 6)
        history.resize(2)
        #expect(history.firstSequence == 4)
        #expect(history.record(5)?.event.pid == 1005)
    }

    /// Reads a reply source to its end (or until it goes idle).
    static func drain(_ source: EventReply) -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<1000 {
            var chunk: [UInt8] = []
            let progress = source.refill(into: &chunk)
            out += chunk
            if progress != .more { break }
        }
        return out
    }

    @Test("a follower that fell behind is told how many it lost, then goes on from the oldest kept, in order")
    func followerLoses() throws {
        let history = EventHistory(capacity: 10)
        let reply = EventReply(history: history, from: history.nextSequence, workers: [], instances: [], follow: true, suffix: Array("]}}\n".utf8))
        let head = Self.drain(reply)
        #expect(String(decoding: head, as: UTF8.self) == "]}}\n", "no backlog asked for")
        for n in 1...25 { history.append(Self.exit(n), extra: [], wall: Int64(n)) }
        let lines = String(decoding: Self.drain(reply), as: UTF8.self).split(separator: "\n")
        #expect(lines.first == #"{"v":1,"event":"lost","events":15}"#)
        let pids = try lines.dropFirst().map { try JSON(parsing: Array($0.utf8))["record"]?["pid"]?.int ?? 0 }
        #expect(pids == (16...25).map { Int64(1000 + $0) }, "every event still kept, once, in order")
        history.append(Self.exit(26), extra: [], wall: 26)
        let more = String(decoding: Self.drain(reply), as: UTF8.self)
        #expect(more.contains("\"pid\":1026") && !more.contains("lost"))
    }

    @Test("names pick an instance's or a worker's events (an alert on the worker too)")
    func filter() {
        let history = EventHistory(capacity: 10)
        history.append(Self.exit(1, instance: "api:0"), extra: [], wall: 1)
        history.append(Self.exit(2, instance: "db:0"), extra: [], wall: 2)
        history.append(SupervisorEvent(.alert, nil, priority: 2, message: "a"), extra: [.init("ALERT", "x"), .init("WORKER", "api")], wall: 3)
        history.append(SupervisorEvent(.daemon, nil, message: "hello"), extra: [], wall: 4)
        let reply = EventReply(history: history, from: 1, workers: ["api"], instances: [], follow: false, suffix: Array("]".utf8))
        let text = String(decoding: Self.drain(reply), as: UTF8.self)
        #expect(text.contains("\"pid\":1001") && text.contains("\"alert\"") && !text.contains("\"pid\":1002") && !text.contains("hello"))
    }

    @Test("a hook's stdin is one JSON document with the event, the hook, the suppressed count and the report")
    func hookStdin() throws {
        let history = EventHistory(capacity: 4)
        let record = history.append(Self.exit(1), extra: Self.exitFields, wall: 5)
        var payload = HookPayload(event: Array(EventJSON.line(record).dropLast()), kind: .exit, worker: "api", instance: "api:0", crashID: "c-1")
        let without = try JSON(parsing: Array(payload.stdin(hook: "page", suppressed: 7).dropLast()))
        #expect(without["report"]?.isNull == true)
        #expect(without["suppressed"]?.int == 7)
        #expect(without["hook"]?.string == "page")
        payload.report = Array("{\n  \"id\": \"c-1\",\n  \"class\": \"crash\"\n}\n".utf8)
        let with = try JSON(parsing: Array(payload.stdin(hook: "page", suppressed: 0).dropLast()))
        #expect(with["report"]?["id"]?.string == "c-1")
        #expect(with["event"]?.string == "exit")
    }

    @Test("metrics: HELP and TYPE per family, counters in both formats, label values escaped")
    func metricsText() {
        var counters = MetricsCounters()
        let died = SupervisorEvent(.exit, InstanceID(parsing: "api:0"), pid: 5, priority: 3, message: "x")
        counters.count(died, extra: [.init("CLASS", "crash"), .init("SIGNAL", "SEGV"), .init("DETECT_LATENCY_US", "30")],
                       now: Instant(nanoseconds: 1_000_000), wall: 2_000_000_000)
        counters.count(SupervisorEvent(.restart, InstanceID(parsing: "api:0"), message: "r"), extra: [], now: Instant(nanoseconds: 2_000_000), wall: 0)
        counters.count(SupervisorEvent(.spawn, InstanceID(parsing: "api:0"), message: "s"), extra: [], now: Instant(nanoseconds: 3_500_000), wall: 0)
        let row = InstanceSnapshot(id: InstanceID(worker: "api", index: 0), state: .running, pid: 9, startedAt: Instant(nanoseconds: 0),
                                   restarts: 1, lastClass: .crash, statusText: nil, nextAttemptAt: nil, wanted: true)
        let snapshot = MetricsSnapshot(
            counters: counters, rows: [row], now: Instant(nanoseconds: 1_500_000_000), wallNanoseconds: 0,
            daemon: .init(version: "1.0 \"beta\"", startedWallNanoseconds: 1_000_000_000, notifyDropped: 2, outputLinesDropped: 0,
                          reportsUnsaved: 0, reportsLost: 0, eventFollowers: 0, eventsLost: 0),
            output: ["api": OutputCounts(stdoutLines: 3, stderrLines: 1, stdoutBytes: 30, stderrBytes: 10)],
            hookNames: ["page"], alertNames: ["a"], hooksRunning: 0, process: nil
        )
        let text = String(decoding: MetricsText.render(snapshot, .prometheus), as: UTF8.self)
        #expect(text.contains("bulkhead_build_info{version=\"1.0 \\\"beta\\\"\"} 1\n"))
        #expect(text.contains("# TYPE bulkhead_worker_restarts_total counter\nbulkhead_worker_restarts_total{worker=\"api\",slot=\"0\"} 1\n"))
        #expect(text.contains("bulkhead_worker_deaths_total{worker=\"api\",slot=\"0\",class=\"crash\"} 1\n"))
        #expect(text.contains("bulkhead_worker_state{worker=\"api\",slot=\"0\",state=\"running\"} 1\n"))
        #expect(text.contains("bulkhead_worker_uptime_seconds{worker=\"api\",slot=\"0\"} 1.5\n"))
        #expect(text.contains("bulkhead_worker_last_exit_code{worker=\"api\",slot=\"0\"} 139\n"))
        #expect(text.contains("bulkhead_detect_latency_seconds_bucket{le=\"2.5e-05\"} 0\nbulkhead_detect_latency_seconds_bucket{le=\"5e-05\"} 1\n"))
        #expect(text.contains("bulkhead_detect_latency_seconds_sum 0.00003\n"))
        // Died at 1 ms less 30 µs (its detect latency), spawned again at 3.5 ms.
        #expect(text.contains("bulkhead_restart_latency_seconds_sum 0.00253\n"))
        #expect(text.contains("bulkhead_notify_dropped_total 2\n"))
        #expect(!text.contains("instance=") && !text.contains("job="))
        let families = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.count
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.count == families)
        let open = String(decoding: MetricsText.render(snapshot, .openMetrics), as: UTF8.self)
        #expect(open.contains("# TYPE bulkhead_worker_restarts counter\nbulkhead_worker_restarts_total{"))
        #expect(open.hasSuffix("# EOF\n"))
    }

    @Test("HTTP request heads: by bytes, CRLF or LF, keep-alive by version")
    func httpHead() {
        let crlf = Array("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: application/openmetrics-text; version=1.0.0\r\n\r\nGET".utf8)
        let end = HTTPRequestHead.end(in: crlf)
        #expect(end == crlf.count - 3)
        let head = HTTPRequestHead(Array(crlf[0..<(end ?? 0)]))
        #expect(head.valid != nil)
        #expect(head.path == "/metrics")
        #expect(head.keepsAlive)
        #expect(MetricsText.Format.negotiated(accept: head.accept) == .openMetrics)
        let old = HTTPRequestHead(Array("GET / HTTP/1.0\n\n".utf8))
        #expect(!old.keepsAlive)
        #expect(HTTPRequestHead(Array("BREW /pot\r\n\r\n".utf8)).valid == nil)
        #expect(HTTPRequestHead.end(in: Array("GET / HTTP/1.1\r\nHost: a\r\n".utf8)) == nil)
    }
}
