import Foundation
import Glibc

/// A raw client of the control socket, for tests that misbehave on purpose (garbage, huge or
/// unfinished requests, idle connections) or speak the protocol by hand.
final class RawControlSocket: @unchecked Sendable {
    let fd: Int32
    private var pending: [UInt8] = []

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw Failure(description: "connect \(path): \(String(cString: strerror(e)))")
        }
    }

    deinit {
        Glibc.close(fd)
    }

    /// Writes everything; false when the daemon has closed its end (EPIPE, ECONNRESET).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool {
        send(Array(text.utf8))
    }

    func shutdownWrite() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// The next line the daemon sends (without its newline); nil at end of stream or timeout.
    func readLine(timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        // Bytes before `searched` hold no newline: each byte is looked at once, so a reply of
        // tens of megabytes in one line is not scanned again for every chunk read.
        var searched = 0
        while true {
            if let newline = pending[searched...].firstIndex(of: 0x0A) {
                let line = String(decoding: pending[0..<newline], as: UTF8.self)
                pending.removeSubrange(0...newline)
                return line
            }
            searched = pending.count
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return nil }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left, 60) * 1000) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return nil }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            pending.append(contentsOf: chunk[0..<n])
        }
    }

    /// The daemon closed the connection (EOF or reset) within `timeout`.
    func waitForClose(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while deadline.timeIntervalSinceNow > 0 {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(deadline.timeIntervalSinceNow * 1000) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return false }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return true }
        }
        return false
    }

    /// One request, one reply, parsed.
    func request(_ json: String, timeout: Double = 30) throws -> [String: Any] {
        guard send(json + "\n") else { throw Failure(description: "the daemon closed the connection") }
        guard let line = readLine(timeout: timeout) else { throw Failure(description: "no reply to \(json)") }
        return try Self.parse(line)
    }

    static func parse(_ line: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw Failure(description: "not a JSON object: \(line.prefix(200))")
        }
        return object
    }
}

/// A CLI process whose stdout is read while it runs (`bulkhead logs -f`).
final class StreamingProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSCondition()
    private var lines: [String] = []
    private var ended = false

    init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let handle = out.fileHandleForReading
        let thread = Thread { [self] in
            var partial = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                partial.append(chunk)
                while let newline = partial.firstIndex(of: 0x0A) {
                    let line = String(decoding: partial[partial.startIndex..<newline], as: UTF8.self)
                    partial.removeSubrange(partial.startIndex...newline)
                    lock.lock()
                    lines.append(line)
                    lock.broadcast()
                    lock.unlock()
                }
            }
            lock.lock()
            ended = true
            lock.broadcast()
            lock.unlock()
        }
        thread.start()
    }

    var output: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    /// Waits until a line matches; nil on timeout or when the process ended first.
    func waitForLine(timeout: Double, _ matches: (String) -> Bool) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        var index = 0
        while true {
            while index < lines.count {
                if matches(lines[index]) { return lines[index] }
                index += 1
            }
            if ended || !lock.wait(until: deadline) { return nil }
        }
    }

    /// Waits for the process to exit by itself; its status, or nil on timeout.
    func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// SIGKILL and wait: a process started from a test thread may have SIGTERM blocked.
    func kill() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    func terminate() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit {
        terminate()
    }
}

/// `status --json` of a daemon, parsed: instance name → its object.
extension DaemonHarness {
    func statusJSON(_ names: [String] = []) throws -> (document: [String: Any], instances: [String: [String: Any]]) {
        let result = try cli(["status", "--json"] + names)
        guard result.code == 0 else { throw RawControlSocket.Failure(description: "status exited \(result.code): \(result.stderr)") }
        let document = try RawControlSocket.parse(result.stdout.replacingOccurrences(of: "\n", with: ""))
        var instances: [String: [String: Any]] = [:]
        for instance in document["instances"] as? [[String: Any]] ?? [] {
            if let name = instance["instance"] as? String { instances[name] = instance }
        }
        return (document, instances)
    }

    /// The pid status reports for `instance`, or nil.
    func pid(of instance: String) throws -> Int? {
        try statusJSON().instances[instance]?["pid"] as? Int
    }

    /// Polls `status --json` until `condition` holds for it (every 50 ms, up to `timeout`).
    @discardableResult
    func waitForStatus(timeout: Double = 30, what: String, _ condition: ([String: [String: Any]]) -> Bool) throws -> [String: [String: Any]] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: [String: Any]] = [:]
        while Date() < deadline {
            last = try statusJSON().instances
            if condition(last) { return last }
            usleep(50_000)
        }
        throw Timeout(what: "status: \(what); last: \(last.keys.sorted())", tail: output)
    }
}
