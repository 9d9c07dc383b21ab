import BulkheadJSON
import BulkheadPolicy
import Testing
@testable import BulkheadState

@Suite("The state document")
struct StateDocumentTests {
    static let clock = ClockReading(bootID: "8c9d3a0e-1f2b-4c5d-9e8f-0a1b2c3d4e5f", monotonic: Instant(nanoseconds: 500_000_000_000),
                                    wallNanoseconds: 1_790_000_000_000_000_000)

    static func t(_ seconds: UInt64) -> Instant { Instant(nanoseconds: seconds * 1_000_000_000) }

    static func id(_ text: String) -> InstanceID { InstanceID(parsing: text)! }

    /// One entry in every phase, with every optional field somewhere.
    static let sample: StateDocument = {
        let p = RunningProcess(pid: 4250, startedAt: t(400), watchdogAt: t(505), stableAt: t(460))
        var entries = [
            InstanceEntry(record: InstanceRecord(id: id("api:0"), wanted: true, phase: .running(p), restarts: 2, attempt: 1,
                                                 breaker: CrashLoopBreaker(state: .closed, recentRestarts: [t(300), t(350)]),
                                                 sameCrash: SameCrashStreak(fingerprint: "5fd27e32d8820f41", count: 2),
                                                 lastClass: .crash, statusText: "serving"),
                          process: ProcessStamp(pid: 4250, startTime: 81_234, identity: "9f86d081884c7d65", stdoutPipe: 9_123, stderrPipe: 9_124,
                                                  notifySocket: "@bulkhead/4242/api:0")),
            InstanceEntry(record: InstanceRecord(id: id("api:1"), wanted: true, phase: .quarantined, lastClass: .corruption),
                          crashID: "20261129-140327-412-api-1"),
            InstanceEntry(record: InstanceRecord(id: id("cache:0"), wanted: false, phase: .stopped)),
            InstanceEntry(record: InstanceRecord(id: id("web:0"), wanted: true, phase: .failed, lastClass: .persistent),
                          crashID: "20261129-140327-500-web-0"),
            InstanceEntry(record: InstanceRecord(id: id("job:0"), wanted: true, phase: .open(until: t(800)), restarts: 11,
                                                 breaker: CrashLoopBreaker(state: .open(until: t(800)), recentRestarts: [t(490)])),
                          crashID: "20261129-140327-600-job-0"),
            InstanceEntry(record: InstanceRecord(id: id("tick:0"), wanted: true, phase: .backoff(until: t(510)), restarts: 1, attempt: 1)),
            InstanceEntry(record: InstanceRecord(id: id("boot:0"), wanted: true, phase: .starting(RunningProcess(pid: 4300, startedAt: t(499)), readyAt: t(559)))),
            InstanceEntry(record: InstanceRecord(id: id("down:0"), wanted: false, phase: .stopping(RunningProcess(pid: 4301, startedAt: t(1)), cause: .operatorStop, killAt: t(505)))),
            InstanceEntry(record: InstanceRecord(id: id("half:0"), wanted: true, phase: .waiting, pendingStop: nil,
                                                 breaker: CrashLoopBreaker(state: .halfOpen, recentRestarts: []))),
            InstanceEntry(record: InstanceRecord(id: id("go:0"), wanted: true, phase: .spawning)),
        ]
        entries[7].record.removed = true
        entries[0].record.pendingStop = .reload
        return StateDocument(clock: clock, daemonPID: 4242, daemonVersion: "0.1.0", instances: entries)
    }()

    @Test("every phase and field survives encode and decode exactly", arguments: [JSONFormat.compact, .pretty])
    func roundTrip(_ format: JSONFormat) throws {
        let decoded = try StateDocument.decode(Self.sample.encoded(format))
        #expect(decoded == Self.sample)
    }

    @Test("times are written as wall-clock nanoseconds")
    func wallTimes() throws {
        let json = try JSON(parsing: Self.sample.encoded())
        let backoff = json["instances"]?[5]
        #expect(backoff?["until_ns"]?.int == Self.clock.wallNanoseconds + 10_000_000_000)
    }

    @Test("within one boot, rebasing changes nothing; after a reboot, instants move with the wall clock and pids are dropped")
    func rebase() {
        #expect(Self.sample.rebased(to: ClockReading(bootID: Self.clock.bootID, monotonic: Self.t(9000), wallNanoseconds: 0)) == Self.sample)
        // Rebooted: 20 s of monotonic time since boot, and the wall clock 100 s past the write.
        let now = ClockReading(bootID: "another-boot", monotonic: Self.t(20), wallNanoseconds: Self.clock.wallNanoseconds + 100_000_000_000)
        let moved = Self.sample.rebased(to: now)
        #expect(moved.instances.allSatisfy { $0.process == nil })
        // tick:0's backoff ended 10 s after the write: that was 90 s ago on the new clock (clamped at 0).
        #expect(moved.instances[5].record.phase == .backoff(until: .zero))
        // job:0's cooldown ends 300 s after the write: 200 s from now.
        #expect(moved.instances[4].record.phase == .open(until: Self.t(220)))
        #expect(moved.instances[4].record.breaker.state == .open(until: Self.t(220)))
    }

    @Test("bad documents are refused with the reason", arguments: [
        ("", "not JSON"),
        ("[]", "not a JSON object"),
        (#"{"format":"other","version":1}"#, "\"format\""),
        (#"{"format":"bulkhead-state","version":2}"#, "version 2"),
        (#"{"format":"bulkhead-state","version":1}"#, "clock"),
    ])
    func refused(_ text: String, _ reason: String) {
        #expect { try StateDocument.decode(Array(text.utf8)) } throws: { error in
            (error as? StateDecodingError)?.reason.contains(reason) == true
        }
    }

    /// The sample with one instance's JSON changed by `edit`.
    static func edited(_ index: Int, _ edit: (inout JSONObject) -> Void) -> [UInt8] {
        var json = Self.sample.json
        guard case .object(var top) = json, case .array(var list)? = top["instances"], case .object(var entry) = list[index] else {
            return []
        }
        edit(&entry)
        list[index] = .object(entry)
        top.set("instances", .array(list))
        json = .object(top)
        return json.encodedBytes()
    }

    @Test("instances that make no sense are refused, naming the instance")
    func badInstances() {
        let cases: [(String, [UInt8])] = [
            ("negative restarts", Self.edited(0) { $0.set("restarts", .int(-1)) }),
            ("running without a process", Self.edited(0) { _ = $0.removeValue(forKey: "process") }),
            ("a process where none belongs", Self.edited(2) { $0.set("process", .object([("pid", .int(1)), ("started_at_ns", .int(0))])) }),
            ("an unknown state", Self.edited(2) { $0.set("state", .string("dancing")) }),
            ("a pid of 0", Self.edited(0) { $0.set("process", .object([("pid", .int(0)), ("started_at_ns", .int(0))])) }),
            ("a crash id with a slash", Self.edited(1) { $0.set("crash_id", .string("../../etc/passwd")) }),
            ("an instance twice", Self.edited(1) { $0.set("instance", .string("api:0")) }),
            ("a bad instance name", Self.edited(1) { $0.set("instance", .string("api")) }),
            ("a pid as a string", Self.edited(0) { $0.set("process", .object([("pid", .string("1")), ("started_at_ns", .int(0))])) }),
        ]
        for (what, bytes) in cases {
            #expect(throws: StateDecodingError.self, "\(what)") { try StateDocument.decode(bytes) }
        }
    }

    @Test("extreme times saturate instead of trapping")
    func extremeTimes() throws {
        let bytes = Self.edited(5) { $0.set("until_ns", .int(Int64.max)) }
        let document = try StateDocument.decode(bytes)
        guard case .backoff(let until) = document.instances[5].record.phase else {
            Issue.record("not a backoff")
            return
        }
        #expect(until.nanoseconds > Self.clock.monotonic.nanoseconds)
        let early = try StateDocument.decode(Self.edited(5) { $0.set("until_ns", .int(Int64.min)) })
        #expect(early.instances[5].record.phase == .backoff(until: .zero))
    }

    @Test("truncated at every length, or with any byte changed, it is refused or read: never a trap")
    func mutations() {
        let bytes = Self.sample.encoded()
        for length in stride(from: 0, to: bytes.count, by: 7) {
            _ = try? StateDocument.decode(Array(bytes[..<length]))
        }
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]",:0123456789-tfn"e.\ "#.utf8)
        for _ in 0..<3000 {
            var copy = bytes
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                copy[Int.random(in: 0..<copy.count, using: &generator)] = alphabet.randomElement(using: &generator)!
            }
            _ = try? StateDocument.decode(copy)
        }
    }
}
