import Foundation
import Glibc
import Testing

/// README, "Under systemd": a slow or dead journald never blocks supervision — a bounded queue,
/// drops counted and reported. Against a real journald of this test's own (stopping or killing
/// the shared one would stall the other journald tests), SIGSTOP'd and SIGKILL'd while a worker
/// floods and another crash-loops.
@Suite("journald stalled or dead", .enabled(if: JournaldSandbox.available, JournaldSandbox.unavailableReason))
struct JournalStallTests {
    /// Each flood line is 1000 bytes: the writer's 16 MiB queue holds about 16,000 of them.
    static let killedFlood = 3_000
    static let stalledFlood = 40_000

    @Test("journald killed, restarted, then SIGSTOP'd: restarts go on, status answers, every flood line is in the journal or counted as dropped")
    func stalledAndDeadJournald() async throws {
        let sandbox = try JournaldSandbox()
        defer { sandbox.close() }
        let ticker = JournalReader.uniqueName("tick")
        let flood = JournalReader.uniqueName("flood")
        // The flood waits for the test, floods as many lines as the count file says, marks
        // each run done in a file and exits 0 (stopped; `bulkhead start` runs it again).
        let daemon = try JournalDaemon("""
        output: { journal: "on" }
        # every death its own report: the restarts' timing is read from the reports
        crash_reports: { coalesce_after: 0 }
        workers:
          - name: \(ticker)
            command: [{{crashlab}}, --exit, "1", --after, 100ms]
            backoff: { initial: 200ms, max: 200ms, jitter: 0 }
            crash_loop: { same_crash: 0, max_restarts: 100000 }
            backtrace: false
          - name: \(flood)
            command: [/bin/sh, -c, "while [ ! -e {{dir}}/count ]; do sleep 0.05; done; n=$(cat {{dir}}/count); {{crashlab}} --flood $n --line-bytes 1000 --exit 0 && touch {{dir}}/flooded-$n"]
        """)
        try await daemon.launch(sandbox: sandbox)
        defer { daemon.stop() }
        let dir = daemon.harness.directory

        // journald is there: the ticker's events reach it.
        let spawnsBefore = try await sandbox.wait(["BULKHEAD_WORKER=\(ticker)", "BULKHEAD_EVENT=spawn"], what: "two spawns of the ticker") { $0.count >= 2 }.count

        // 1. journald killed (idle, nothing of ours in its socket): the flood's lines are
        // refused, and counted; supervision goes on.
        try sandbox.killJournald()
        let restartsAtKill = try await Self.restarts(of: ticker, daemon)
        try "\(Self.killedFlood)".write(toFile: dir + "/count", atomically: true, encoding: .utf8)
        try await Self.waitSupervising(daemon, ticker: ticker, from: restartsAtKill, floodDone: dir + "/flooded-\(Self.killedFlood)", flood: flood)

        // A new journald: entries flow again.
        try await offThread { try sandbox.startJournald() }
        let journaldBack = Date()
        _ = try await sandbox.wait(["BULKHEAD_WORKER=\(ticker)", "BULKHEAD_EVENT=spawn"], what: "a spawn of the ticker after journald's restart") {
            $0.count > spawnsBefore
        }

        // 2. journald stopped (SIGSTOP): its socket fills, the writer blocks, its queue fills and
        // the rest of the flood is dropped and counted; supervision goes on.
        sandbox.stopJournald()
        let stallStart = Date()
        let restartsAtStop = try await Self.restarts(of: ticker, daemon)
        try "\(Self.stalledFlood)".write(toFile: dir + "/count", atomically: true, encoding: .utf8)
        let start = try await daemon.cli(["start", flood])
        #expect(start.code == 0, "\(start.stderr)")
        try await Self.waitSupervising(daemon, ticker: ticker, from: restartsAtStop, floodDone: dir + "/flooded-\(Self.stalledFlood)", flood: flood)
        sandbox.continueJournald()
        let stallEnd = Date()

        // Everything queued flows in once journald runs again; what was not queued is counted.
        let total = Self.killedFlood + Self.stalledFlood
        let tally = try await offThread { () -> Tally in
            let deadline = Date().addingTimeInterval(Deadline.event * 2)
            var tally = Tally()
            repeat {
                tally = try Tally(sandbox, flood: flood)
                if tally.delivered + tally.droppedInAll == total { break }
                usleep(500_000)
            } while Date() < deadline
            return tally
        }
        #expect(tally.delivered + tally.droppedInAll == total,
                "\(tally.delivered) flood lines in the journal + \(tally.droppedInAll) counted as dropped ≠ \(total) written")
        #expect(tally.droppedInAll > Self.killedFlood, "the stall dropped nothing: \(tally.droppedInAll) counted in all")
        #expect(tally.delivered > 0, "no flood line reached the journal")
        #expect(tally.events > 0, "no output-dropped entry")

        // Every death of the ticker since journald came back has its exit entry, those during
        // the stall too (events are still queued when lines are dropped); and each restart
        // during the stall was on time as the daemon recorded it: a loop waiting for journald
        // would have made one of them wait the whole stall.
        // A death is in the journal by an exit entry of its own, or — a repeat of a crash
        // already reported in this storm (SPEC §7) — named in a "repeated N times" entry
        // (BULKHEAD_PIDS), said within seconds.
        let died = Set(daemon.harness.recordedRuns(of: ticker).filter { $0.ended > journaldBack && $0.ended < stallEnd }.map(\.pid))
        let pidsInJournal: @Sendable ([[String: Any]]) -> Set<Int> = { entries in
            Set(entries.flatMap { entry in
                [Int(entry["BULKHEAD_PID"] as? String ?? "")].compactMap { $0 }
                    + (entry["BULKHEAD_PIDS"] as? String ?? "").split(separator: " ").compactMap { Int($0) }
            })
        }
        var exitEntries = try sandbox.entries(["BULKHEAD_WORKER=\(ticker)", "BULKHEAD_EVENT=exit"])
        if let all = try? await sandbox.wait(["BULKHEAD_WORKER=\(ticker)", "BULKHEAD_EVENT=exit"], what: "every death in the journal", {
            died.isSubset(of: pidsInJournal($0))
        }) {
            exitEntries = all
        }
        let journaled = pidsInJournal(exitEntries)
        #expect(died.count >= 3)
        #expect(died.isSubset(of: journaled), "deaths with no exit entry in the journal: \(died.subtracting(journaled).sorted())")
        let delays = Self.restartDelays(in: daemon.harness, worker: ticker, between: stallStart, and: stallEnd)
        #expect(delays.count >= 2, "restarts during the stall recorded in crash reports: \(delays.count)")
        #expect((delays.max() ?? 0) < 10, "a restart (backoff 200 ms) waited \(delays.max() ?? 0) s during the stall: \(delays)")
    }

    /// The ticker's restart counter, as `status` says it.
    static func restarts(of ticker: String, _ daemon: JournalDaemon) async throws -> Int {
        try await daemon.harness.instances()["\(ticker):0"]?["restarts"] as? Int ?? 0
    }

    /// Waits until the flood run marked by `floodDone` is over and stopped and the ticker has
    /// been restarted three more times, while `status` keeps answering; the restart count then.
    @discardableResult
    static func waitSupervising(_ daemon: JournalDaemon, ticker: String, from restarts: Int, floodDone: String, flood: String) async throws -> Int {
        let states = try await daemon.harness.status(what: "the flood over and three restarts of the ticker", timeout: 120) { states in
            FileManager.default.fileExists(atPath: floodDone)
                && states["\(flood):0"]?["state"] as? String == "stopped"
                && (states["\(ticker):0"]?["restarts"] as? Int ?? 0) >= restarts + 3
        }
        #expect(states["\(flood):0"]?["last_class"] as? String == "clean")
        let asked = Date()
        let status = try await daemon.cli(["status"])
        #expect(status.code == 0 && status.stdout.contains("\(ticker):0"), "\(status.stderr)")
        #expect(Date().timeIntervalSince(asked) < 10, "status took \(Date().timeIntervalSince(asked)) s")
        return states["\(ticker):0"]?["restarts"] as? Int ?? 0
    }

    /// Death → next start of `worker`'s runs, for deaths inside the window.
    static func restartDelays(in harness: DaemonHarness, worker: String, between start: Date, and end: Date) -> [Double] {
        let runs = harness.recordedRuns(of: worker).map { ($0.started, $0.ended) }
        return zip(runs, runs.dropFirst())
            .filter { previous, next in previous.1 > start && next.0 < end }
            .map { previous, next in next.0.timeIntervalSince(previous.1) }
    }

    /// Flood lines in the journal, and the daemon's count of lines it dropped.
    struct Tally: Sendable {
        var delivered = 0
        var droppedInAll = 0
        var events = 0

        init() {}

        init(_ sandbox: JournaldSandbox, flood: String) throws {
            delivered = try sandbox.count(["BULKHEAD_WORKER=\(flood)", "BULKHEAD_STREAM=stdout"])
            let drops = try sandbox.entries(["BULKHEAD_EVENT=output-dropped"])
            events = drops.count
            for entry in drops {
                // "output too slow: N lines dropped (M in all)": M is the total so far.
                guard let message = entry["MESSAGE"] as? String, message.contains("lines dropped"),
                      let open = message.range(of: "(", options: .backwards),
                      let total = Int(message[open.upperBound...].prefix { $0.isNumber }) else { continue }
                droppedInAll = max(droppedInAll, total)
            }
        }
    }
}

/// A journald of one test's own: `scripts/with-journald` run around a shell that waits on our
/// pipe, in a mount namespace of its own. The test enters that namespace (nsenter) to run the
/// daemon and journalctl, and may stop, kill and restart its journald.
final class JournaldSandbox: @unchecked Sendable {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/with-journald").path
    static let nsenter = "/usr/bin/nsenter"
    static let journald = "/lib/systemd/systemd-journald"

    static var available: Bool { unavailableReason == nil }

    static var unavailableReason: Comment? {
        if !JournalReader.available { return "no private journald: run the tests with scripts/with-journald (scripts/test does)" }
        if getuid() != 0 { return "needs root (a mount namespace of its own)" }
        for tool in [nsenter, "/usr/bin/unshare", journald, script] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing"
        }
        return nil
    }

    private let process = Process()
    private let input = Pipe()
    /// A process in the namespace (the waiting shell) to enter it by.
    let namespacePID: Int32
    private(set) var journaldPID: Int32
    private var restarted: Process?

    init() throws {
        process.executableURL = URL(fileURLWithPath: Self.script)
        process.arguments = ["/bin/sh", "-c", #"echo "sandbox $BULKHEAD_TEST_JOURNALD_PID $$"; exec cat >/dev/null"#]
        var environment = ProcessInfo.processInfo.environment
        // Not the shared namespace's settings: the script must make a namespace of its own.
        for key in ["BULKHEAD_IN_PRIVATE_JOURNAL", "BULKHEAD_TEST_JOURNALD", "BULKHEAD_TEST_JOURNALD_PID"] {
            environment.removeValue(forKey: key)
        }
        process.environment = environment
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = Self.firstLine(output.fileHandleForReading.fileDescriptor, timeout: Deadline.event) ?? ""
        let parts = line.split(separator: " ")
        guard parts.count == 3, parts[0] == "sandbox", let journald = Int32(parts[1]), let shell = Int32(parts[2]) else {
            input.fileHandleForWriting.closeFile()
            throw IntegrationFailure("the journald sandbox did not start: \"\(line)\"")
        }
        journaldPID = journald
        namespacePID = shell
    }

    /// The first line on `fd`, or nil at end of file or after `timeout` seconds.
    static func firstLine(_ fd: Int32, timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var bytes: [UInt8] = []
        while deadline.timeIntervalSinceNow > 0 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) >= 0 || errno == EINTR else { return nil }
            guard p.revents != 0 else { continue }
            var byte: UInt8 = 0
            guard read(fd, &byte, 1) == 1 else { return nil }
            if byte == 0x0A { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return nil
    }

    func stopJournald() {
        kill(journaldPID, SIGSTOP)
    }

    func continueJournald() {
        kill(journaldPID, SIGCONT)
    }

    /// SIGKILL, and waits until it is gone (or a zombie its parent has yet to reap).
    func killJournald() throws {
        kill(journaldPID, SIGCONT)
        kill(journaldPID, SIGKILL)
        let pid = journaldPID
        let deadline = Date().addingTimeInterval(Deadline.event)
        while Date() < deadline {
            guard let stat = Processes.stat(pid), stat.state != "Z" else { return }
            usleep(10_000)
        }
        throw IntegrationFailure("journald \(pid) outlived SIGKILL")
    }

    /// A new journald in the namespace (its sockets replace the dead one's); returns once it
    /// answers `journalctl --sync`.
    func startJournald() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.nsenter)
        p.arguments = ["--target", "\(namespacePID)", "--mount", "--", Self.journald]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        restarted = p
        journaldPID = p.processIdentifier
        let deadline = Date().addingTimeInterval(Deadline.event)
        while Date() < deadline {
            if try run(["--sync"]).code == 0 { return }
            usleep(20_000)
        }
        throw IntegrationFailure("the restarted journald never answered --sync")
    }

    /// journalctl inside the namespace. Not while journald is stopped: `--sync` would wait.
    func run(_ arguments: [String]) throws -> (code: Int32, stdout: Data) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.nsenter)
        p.arguments = ["--target", "\(namespacePID)", "--mount", "--", JournalReader.journalctl] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, data)
    }

    /// Every entry matching all `matches`, after a --sync barrier.
    func entries(_ matches: [String]) throws -> [[String: Any]] {
        _ = try run(["--sync"])
        return try run(["-o", "json", "--all", "--no-pager"] + matches).stdout.split(separator: 0x0A).compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0))) as? [String: Any]
        }
    }

    /// How many entries match (one MESSAGE line each: worker lines hold no newline).
    func count(_ matches: [String]) throws -> Int {
        _ = try run(["--sync"])
        return try run(["-o", "cat", "--all", "--no-pager"] + matches).stdout.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    /// Polls until `condition` holds for the entries matching `matches`.
    func wait(_ matches: [String], timeout: Double = Deadline.event, what: String,
              _ condition: @escaping @Sendable ([[String: Any]]) -> Bool) async throws -> [[String: Any]] {
        try await offThread { [self] in
            let deadline = Date().addingTimeInterval(timeout)
            var last: [[String: Any]] = []
            while Date() < deadline {
                last = try entries(matches)
                if condition(last) { return Handed(value: last) }
                usleep(50_000)
            }
            throw IntegrationFailure("sandbox journal: no \(what) for \(matches) in \(timeout) s; have \(last.count) entries")
        }.value
    }

    /// journald running again (if stopped), the restarted one ended, the sandbox closed.
    func close() {
        kill(journaldPID, SIGCONT)
        if let p = restarted, p.isRunning {
            kill(p.processIdentifier, SIGKILL)   // SIGTERM may be blocked in what a test thread starts
            p.waitUntilExit()
        }
        input.fileHandleForWriting.closeFile()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
