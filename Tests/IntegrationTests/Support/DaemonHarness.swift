import Foundation
import Testing

/// Runs the real `bulkhead daemon` with a scratch config, state dir and socket, and watches its
/// stderr event stream. Tests wait on lines with generous deadlines, never on fixed sleeps.
final class DaemonHarness: @unchecked Sendable {
    let directory: String
    let configPath: String
    let socketPath: String
    let stateDir: String
    private(set) var process: SpawnedProgram?
    private let lock = NSCondition()
    private var lines: [String] = []
    private var reader: Thread?
    /// While set, the reader thread takes nothing from the daemon's stderr: the pipe fills and
    /// the daemon's output writer falls behind, as behind a slow terminal or log collector.
    private var readingPaused = false

    /// `yaml` may use `{{crashlab}}`, `{{jobworker}}`, `{{state}}` and `{{dir}}` placeholders.
    init(_ yaml: String, name: String = #function) throws {
        let base = FileManager.default.temporaryDirectory.path
        let safe = name.filter { $0.isLetter || $0.isNumber }
        directory = "\(base)/bh-\(safe.prefix(40))-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        configPath = directory + "/bulkhead.yaml"
        socketPath = directory + "/control.sock"
        stateDir = directory + "/state"
        try write(config: yaml)
    }

    func write(config yaml: String) throws {
        try Self.expand(yaml, directory: directory, stateDir: stateDir)
            .write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    static func expand(_ yaml: String, directory: String, stateDir: String) -> String {
        var text = yaml
        if !text.contains("state_dir:") { text = "state_dir: \(stateDir)\n" + text }
        return text
            .replacingOccurrences(of: "{{crashlab}}", with: Products.path("crashlab"))
            .replacingOccurrences(of: "{{jobworker}}", with: Products.path("jobworker"))
            .replacingOccurrences(of: "{{state}}", with: stateDir)
            .replacingOccurrences(of: "{{dir}}", with: directory)
    }

    /// Starts the daemon. `waitForStart` waits for its first line. `launcher` runs it (its
    /// path and arguments come last), e.g. `/bin/sh -c 'exec "$0" "$@"'`.
    func start(extraArguments: [String] = [], environment: [String: String] = [:], launcher: [String] = []) throws {
        let command = [Products.path("bulkhead"), "daemon", "--config", configPath, "--socket", socketPath, "--no-timestamps"] + extraArguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        env.removeValue(forKey: "JOURNAL_STREAM")
        for (k, v) in environment { env[k] = v }
        let (handle, childEnd) = try SpawnedProgram.pipe()
        defer { childEnd.close() }
        // A restart (after a SIGKILL, say) waits for the new process's first line, not the old
        // one's, and not for the old one's end-of-file either.
        append("<<start>>")
        let startMark = output.count
        process = try SpawnedProgram(launcher + command, environment: env, input: SpawnedProgram.devNull,
                                     output: SpawnedProgram.devNull, error: childEnd)
        let program = process
        let thread = Thread { [weak self, weak program] in
            var pending = Data()
            while true {
                self?.waitWhileReadingPaused()
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    self?.append(line)
                }
            }
            // How it ended, for a test that finds it gone (an OOM kill is a SIGKILL).
            if let program { self?.append("<<daemon \(program.pid) \(program.endDescription(waitingAtMost: 2))>>") }
            self?.append("<<eof>>")
        }
        thread.start()
        reader = thread
        _ = try waitForLine(after: startMark, timeout: 30) { $0.contains("supervising") || $0.hasPrefix("bulkhead: ") }
    }

    /// Stops reading the daemon's stderr (after the chunk being read, if any).
    func pauseReading() {
        lock.lock()
        readingPaused = true
        lock.unlock()
    }

    func resumeReading() {
        lock.lock()
        readingPaused = false
        lock.broadcast()
        lock.unlock()
    }

    private func waitWhileReadingPaused() {
        lock.lock()
        while readingPaused { lock.wait() }
        lock.unlock()
    }

    private func append(_ line: String) {
        lock.lock()
        lines.append(line)
        lock.broadcast()
        lock.unlock()
    }

    var output: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    struct Timeout: Error, CustomStringConvertible {
        var what: String
        var tail: [String]
        var description: String { "timed out waiting for \(what); last lines:\n" + tail.suffix(40).joined(separator: "\n") }
    }

    /// The first line (from index `after` on) that matches; throws after `timeout` seconds.
    @discardableResult
    func waitForLine(after start: Int = 0, timeout: Double = 30, what: String = "a line", _ matches: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        var index = start
        while true {
            while index < lines.count {
                if matches(lines[index]) { return lines[index] }
                index += 1
            }
            if lines.last == "<<eof>>" { throw Timeout(what: what + " (daemon exited)", tail: lines) }
            if !lock.wait(until: deadline) { throw Timeout(what: what, tail: lines) }
        }
    }

    /// Like `waitForLine`, but answers the matching line's index in `output` (for order checks
    /// and for waiting on what comes after it).
    func waitForIndex(after start: Int = 0, timeout: Double = 30, what: String = "a line", _ matches: (String) -> Bool) throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        var index = start
        while true {
            while index < lines.count {
                if matches(lines[index]) { return index }
                index += 1
            }
            if lines.last == "<<eof>>" { throw Timeout(what: what + " (daemon exited)", tail: lines) }
            if !lock.wait(until: deadline) { throw Timeout(what: what, tail: lines) }
        }
    }

    /// Waits for an event line `instance * kind: …` containing every fragment.
    @discardableResult
    func waitForEvent(_ instance: String, _ kind: String, after start: Int = 0, containing fragments: [String] = [], timeout: Double = 30) throws -> String {
        let prefix = "\(instance) * \(kind): "
        return try waitForLine(after: start, timeout: timeout, what: "\(prefix)\(fragments)") { line in
            line.hasPrefix(prefix) && fragments.allSatisfy { line.contains($0) }
        }
    }

    /// Counts event lines so far.
    func count(_ instance: String, _ kind: String, containing fragment: String? = nil) -> Int {
        let prefix = "\(instance) * \(kind): "
        return output.filter { $0.hasPrefix(prefix) && (fragment.map($0.contains) ?? true) }.count
    }

    var mark: Int { output.count }

    /// Runs the CLI against this daemon.
    func cli(_ arguments: [String], environment: [String: String] = [:], user: String? = nil) throws -> (code: Int32, stdout: String, stderr: String) {
        try Products.run("bulkhead", arguments + ["--socket", socketPath], environment: environment, user: user)
    }

    /// SIGTERM, then waits for the daemon to exit (returns its status).
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: Double = 60) throws -> Int32 {
        resumeReading()   // a daemon on its way out drains its output: let it
        guard let p = process else { return 0 }
        if let status = p.exitStatus(waitingAtMost: 0) { return status }
        kill(p.pid, signal)
        guard let status = p.exitStatus(waitingAtMost: timeout) else {
            kill(p.pid, SIGKILL)
            p.waitUntilExit()
            throw Timeout(what: "daemon exit", tail: output)
        }
        _ = try? waitForLine(timeout: 5) { $0 == "<<eof>>" }
        return status
    }

    var daemonPID: Int32 { process?.pid ?? 0 }

    // MARK: - Crash reports

    var crashDirectory: String { stateDir + "/crashes" }

    func crashReports() -> [[String: Any]] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: crashDirectory)) ?? [])
            .filter { $0.hasSuffix(".json") }.sorted()
        return names.compactMap { name in
            guard let data = FileManager.default.contents(atPath: crashDirectory + "/" + name) else { return nil }
            return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        }
    }

    /// The report `id`, waiting (up to `timeout` s) for its file: the exit event naming it goes
    /// out first, and the report's own thread writes the file a moment later.
    func crashReport(id: String, timeout: Double = 20) -> [String: Any]? {
        let path = crashDirectory + "/" + id + ".json"
        let deadline = Date().addingTimeInterval(timeout)
        while !FileManager.default.fileExists(atPath: path) && Date() < deadline { usleep(5_000) }
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// The crash id named in an exit event line (`[crash ID]`).
    static func crashID(in line: String) -> String? {
        guard let start = line.range(of: "[crash ")?.upperBound, let end = line[start...].firstIndex(of: "]") else { return nil }
        return String(line[start..<end])
    }

    deinit {
        if let p = process, p.isRunning {
            kill(p.pid, SIGKILL)
            p.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The package's built executables, next to the test bundle.
enum Products {
    static let directory: String = {
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent().path
        if let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            dir = URL(fileURLWithPath: own).deletingLastPathComponent().path
        }
        // The test runner is `.build/<config>/…xctest` (or swiftpm-testing-helper in …/<config>/).
        var url = URL(fileURLWithPath: dir)
        for _ in 0..<4 {
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("bulkhead").path) { return url.path }
            url.deleteLastPathComponent()
        }
        return dir
    }()

    static func path(_ name: String) -> String {
        directory + "/" + name
    }

    /// - Parameter directory: run the copy of `name` in this directory instead of the build's.
    static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:], user: String? = nil,
                    from directory: String? = nil, timeout: Double = 60) throws -> (code: Int32, stdout: String, stderr: String) {
        let executable = directory.map { $0 + "/" + name } ?? path(name)
        let command = user.map { ["/usr/sbin/runuser", "-u", $0, "--", executable] } ?? [executable]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let (out, outEnd) = try SpawnedProgram.pipe()
        let (err, errEnd) = try SpawnedProgram.pipe()
        let p: SpawnedProgram
        do {
            defer {
                outEnd.close()
                errEnd.close()
            }
            p = try SpawnedProgram(command + arguments, environment: env, input: SpawnedProgram.devNull, output: outEnd, error: errEnd)
        }
        let outData = DataBox()
        let errData = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            outData.data = out.readDataToEndOfFile()
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            errData.data = err.readDataToEndOfFile()
            group.leave()
        }
        if group.wait(timeout: .now() + timeout) == .timedOut {
            kill(p.pid, SIGKILL)
            _ = group.wait(timeout: .now() + 5)
        }
        let status = p.waitUntilExit()
        return (status, String(decoding: outData.data, as: UTF8.self), String(decoding: errData.data, as: UTF8.self))
    }
}

/// Written by one reader thread, read after it finished (the DispatchGroup orders them).
final class DataBox: @unchecked Sendable {
    var data = Data()
}
