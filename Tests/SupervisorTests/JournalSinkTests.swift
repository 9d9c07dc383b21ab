@testable import Supervisor
import BulkheadPolicy
import BulkheadSystem
import Glibc
import Testing

/// `JournalSink`: what each worker line and supervisor event becomes (the exact fields handed to
/// sd_journal_sendv), the writer thread's bounded queue, and how the daemon picks the sink.
/// The real journald is in Tests/IntegrationTests/JournalTests.swift.
@Suite struct JournalSinkTests {
    /// Takes the place of sd_journal_sendv: keeps every entry as its list of fields; can be
    /// held shut to play a journald that stopped reading.
    final class CapturedJournal: @unchecked Sendable {
        private var mutex = pthread_mutex_t()
        private var gate = pthread_cond_t()
        private var open = true
        private var entries: [[String]] = []
        var result: Int32 = 0

        init() {
            pthread_mutex_init(&mutex, nil)
            pthread_cond_init(&gate, nil)
        }

        func send(_ iov: UnsafePointer<iovec>, _ count: Int32) -> Int32 {
            var fields: [String] = []
            for index in 0..<Int(count) {
                let item = UnsafeRawBufferPointer(start: iov[index].iov_base, count: iov[index].iov_len)
                fields.append(String(decoding: item, as: UTF8.self))
            }
            pthread_mutex_lock(&mutex)
            while !open { pthread_cond_wait(&gate, &mutex) }
            entries.append(fields)
            pthread_mutex_unlock(&mutex)
            return result
        }

        func hold(_ held: Bool) {
            pthread_mutex_lock(&mutex)
            open = !held
            pthread_cond_broadcast(&gate)
            pthread_mutex_unlock(&mutex)
        }

        var received: [[String]] {
            pthread_mutex_lock(&mutex)
            defer { pthread_mutex_unlock(&mutex) }
            return entries
        }

        func writer(capacity: Int = 16 << 20, eventReserve: Int = 1 << 20) -> JournalWriter {
            JournalWriter(capacity: capacity, eventReserve: eventReserve) { [self] in send($0, $1) }
        }
    }

    static func line(_ sink: JournalSink, _ label: String, _ stream: OutputStream, _ text: [UInt8]) {
        text.withUnsafeBytes { sink.workerLine(InstanceID(parsing: label)!, label: label, stream: stream, line: $0) }
    }

    @Test("a worker line: MESSAGE without the <N> prefix, PRIORITY, stream, worker and instance")
    func workerLines() {
        let journal = CapturedJournal()
        let sink = JournalSink(writer: journal.writer())
        Self.line(sink, "api:0", .stdout, Array("hello".utf8))
        Self.line(sink, "api:0", .stderr, Array("oops".utf8))
        Self.line(sink, "api:1", .stdout, Array("<2>critical".utf8))
        Self.line(sink, "db-main:12", .stderr, Array("<7>".utf8))
        Self.line(sink, "api:0", .stdout, [])
        sink.drain(timeoutNanoseconds: 5_000_000_000)
        let expected: [[String]] = [
            ["MESSAGE=hello", "PRIORITY=6", "BULKHEAD_STREAM=stdout", "SYSLOG_IDENTIFIER=api", "BULKHEAD_WORKER=api", "BULKHEAD_INSTANCE=api:0"],
            ["MESSAGE=oops", "PRIORITY=3", "BULKHEAD_STREAM=stderr", "SYSLOG_IDENTIFIER=api", "BULKHEAD_WORKER=api", "BULKHEAD_INSTANCE=api:0"],
            ["MESSAGE=critical", "PRIORITY=2", "BULKHEAD_STREAM=stdout", "SYSLOG_IDENTIFIER=api", "BULKHEAD_WORKER=api", "BULKHEAD_INSTANCE=api:1"],
            ["MESSAGE=", "PRIORITY=7", "BULKHEAD_STREAM=stderr", "SYSLOG_IDENTIFIER=db-main", "BULKHEAD_WORKER=db-main", "BULKHEAD_INSTANCE=db-main:12"],
            ["MESSAGE=", "PRIORITY=6", "BULKHEAD_STREAM=stdout", "SYSLOG_IDENTIFIER=api", "BULKHEAD_WORKER=api", "BULKHEAD_INSTANCE=api:0"],
        ]
        #expect(journal.received == expected)
    }

    @Test("bytes that are not UTF-8 reach journald unchanged")
    func binary() {
        var raw: [[UInt8]] = []
        let writer = JournalWriter { iov, _ in
            raw.append([UInt8](UnsafeRawBufferPointer(start: iov[0].iov_base, count: iov[0].iov_len)))
            return 0
        }
        let sink = JournalSink(writer: writer)
        Self.line(sink, "bin:0", .stdout, [0xFF, 0x00, 0x1B, 0x41])
        sink.drain(timeoutNanoseconds: 5_000_000_000)
        #expect(raw == [Array("MESSAGE=".utf8) + [0xFF, 0x00, 0x1B, 0x41]])
    }

    @Test("an event: SYSLOG_IDENTIFIER=bulkhead, MESSAGE_ID by kind (crash by class), BULKHEAD_ fields")
    func events() {
        let journal = CapturedJournal()
        let sink = JournalSink(writer: journal.writer())
        let id = InstanceID(parsing: "api:1")!
        let exit = SupervisorEvent(.exit, id, pid: 4242, priority: 3, message: "killed by SIGILL: crash")
        sink.event(exit, extra: [.init("CLASS", "crash"), .init("RESTARTS", "2"), .init("SIGNAL", "ILL"), .init("CRASH_ID", "c-1")])
        sink.event(SupervisorEvent(.exit, id, pid: 4243, priority: 4, message: "exited with code 3"), extra: [.init("CLASS", "transient"), .init("EXIT_CODE", "3")])
        sink.event(SupervisorEvent(.backoff, id, priority: 5, message: "restart #3 in 400ms", fields: [.init("BACKOFF_MS", "400")]), extra: [])
        sink.event(SupervisorEvent(.reload, nil, priority: 12, message: "two\nlines"), extra: [.init("odd name!", "x")])
        sink.drain(timeoutNanoseconds: 5_000_000_000)
        let entries = journal.received
        #expect(entries.count == 4)
        #expect(entries.first == [
            "MESSAGE=api:1 exit: killed by SIGILL: crash", "PRIORITY=3", "SYSLOG_IDENTIFIER=bulkhead",
            "MESSAGE_ID=02b2d4ceaade4a9ebee1be8a9efd8ade", "BULKHEAD_EVENT=exit", "BULKHEAD_WORKER=api",
            "BULKHEAD_INSTANCE=api:1", "BULKHEAD_PID=4242", "BULKHEAD_CLASS=crash", "BULKHEAD_RESTARTS=2",
            "BULKHEAD_SIGNAL=ILL", "BULKHEAD_CRASH_ID=c-1",
        ])
        #expect(entries.dropFirst().first?.contains("MESSAGE_ID=17e5236690d449c98d48ed47f5b8afbf") == true)
        #expect(entries.dropFirst().first?.contains("BULKHEAD_EXIT_CODE=3") == true)
        #expect(entries.dropFirst(2).first?.contains("BULKHEAD_BACKOFF_MS=400") == true)
        #expect(entries.dropFirst(2).first?.contains("MESSAGE_ID=cabe1f7c8a554216b4df21907a639ff6") == true)
        #expect(entries.last == [
            "MESSAGE=bulkhead reload: two\nlines", "PRIORITY=7", "SYSLOG_IDENTIFIER=bulkhead",
            "MESSAGE_ID=6de93c8a13124fd6a58ae5599c386aa1", "BULKHEAD_EVENT=reload", "BULKHEAD_ODD_NAME_=x",
        ])
    }

    @Test("every event kind has its own MESSAGE_ID; exit splits into crash, hang, limit and exit")
    func messageIDs() {
        let kinds: [EventKind] = [
            .spawn, .ready, .restart, .backoff, .breakerOpen, .recovered, .failed, .quarantined, .watchdog, .reload,
            .stop, .startTimeout, .waiting, .notifyRejected, .outputDropped, .daemon,
        ]
        let exits = ["crash", "hang", "limit", "clean"].map { JournalMessageID.of(.exit, deathClass: $0) }
        let all = kinds.map { JournalMessageID.of($0) } + exits
        #expect(Set(all).count == all.count)
        #expect(all.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) })
        for other in ["transient", "persistent", "corruption"] {
            #expect(JournalMessageID.of(.exit, deathClass: other) == JournalMessageID.exit)
        }
    }

    @Test("journald stalled: lines past the queue are dropped and counted, events still go out")
    func stalledJournal() {
        let journal = CapturedJournal()
        let sink = JournalSink(writer: journal.writer(capacity: 64 << 10, eventReserve: 64 << 10))
        journal.hold(true)
        let text = [UInt8](repeating: 0x61, count: 1000)
        // The first batch goes to the writer, which then waits in "sd_journal_sendv".
        Self.line(sink, "w:0", .stdout, text)
        sink.endOfIteration()
        var submitted = 1
        for _ in 0..<20 {
            for _ in 0..<50 { Self.line(sink, "w:0", .stdout, text) }
            submitted += 50
            sink.event(SupervisorEvent(.exit, InstanceID(parsing: "w:0")!, priority: 3, message: "crash"), extra: [.init("CLASS", "crash")])
            sink.endOfIteration()
        }
        let dropped = sink.takeDroppedLines()
        #expect(dropped > 0 && dropped < submitted)
        #expect(sink.takeDroppedLines() == 0, "taken once")
        journal.hold(false)
        sink.drain(timeoutNanoseconds: 10_000_000_000)
        let entries = journal.received
        #expect(entries.filter { $0.first == "MESSAGE=w:0 exit: crash" }.count == 20, "every event kept")
        #expect(entries.count - 20 == submitted - dropped, "every line sent or counted")
    }

    @Test("journald gone: refused lines are counted as dropped")
    func refused() {
        let journal = CapturedJournal()
        journal.result = -ECONNREFUSED
        let sink = JournalSink(writer: journal.writer())
        for _ in 0..<3 { Self.line(sink, "w:0", .stdout, Array("x".utf8)) }
        sink.drain(timeoutNanoseconds: 5_000_000_000)
        #expect(sink.takeDroppedLines() == 3)
    }

    @Test("JOURNAL_STREAM counts only when it names this descriptor's device and inode")
    func journalStream() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        var info = stat()
        #expect(fstat(fds[1], &info) == 0)
        #expect(OutputSinks.streamMatches("\(info.st_dev):\(info.st_ino)", fd: fds[1]))
        #expect(!OutputSinks.streamMatches("\(info.st_dev):\(info.st_ino + 1)", fd: fds[1]))
        #expect(!OutputSinks.streamMatches("\(info.st_dev)", fd: fds[1]))
        #expect(!OutputSinks.streamMatches("", fd: fds[1]))
        #expect(!OutputSinks.streamMatches("a:b", fd: fds[1]))
    }

    @Test("NotifySender: one datagram per message to a path or an abstract socket; EAGAIN is 'later'")
    func notifySender() throws {
        let name = "@bulkhead-test-sender/\(getpid())/\(UInt32.random(in: 0...UInt32.max))"
        let receiver = try NotifySocket(name: name, receiveBuffer: 4096)
        defer { receiver.close() }
        let sender = try NotifySender(address: name)
        defer { sender.close() }
        #expect(try sender.send("READY=1\nSTATUS=1/1 running"))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let datagram = try #require(try receiver.receive(into: &buffer))
        #expect(String(decoding: datagram.bytes, as: UTF8.self) == "READY=1\nSTATUS=1/1 running")
        #expect(datagram.senderPID == getpid())
        // Fill the receiver's queue: the sender says "would block" instead of blocking.
        var blocked = false
        for _ in 0..<100_000 where !blocked {
            blocked = try !sender.send(String(repeating: "x", count: 1000))
        }
        #expect(blocked)
        #expect(throws: SystemError.self) { try NotifySender(address: "relative/path") }
        let gone = try NotifySender(address: "/nonexistent/bulkhead-notify")
        #expect(throws: SystemError.self) { try gone.send("READY=1") }
        gone.close()
    }
}
