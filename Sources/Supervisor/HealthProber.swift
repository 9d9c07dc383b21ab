import BulkheadPolicy
import BulkheadSystem
import Glibc

/// Health checks' mechanism: runs each check policy asks for (`.probe`) without ever blocking
/// the loop and without a thread — http and tcp checks are non-blocking sockets in the daemon's
/// epoll, an exec check is a child process watched through its pidfd — with its timeout as a
/// deadline the loop wakes for. Every check ends in exactly one result (pass, fail, or a
/// failure at its timeout), queued for the daemon to hand to policy between events.
final class HealthProber: ChildOwner {
    struct Finished {
        var id: InstanceID
        var pid: Int32
        var role: ProbeRole
        var result: ProbeResult
    }

    /// Starts an exec check's process (the launcher, with the instance's spec and slot).
    typealias ExecSpawner = (InstanceID, [String], FileDescriptor) throws(SpawnError) -> Int32

    private final class Check {
        let number: Int
        let id: InstanceID
        let pid: Int32
        let role: ProbeRole
        let startedAt: Instant
        let deadline: Instant
        let timeout: Duration
        var socket: SocketCheck?
        var exec: ExecCheck?
        var token: UInt64 = 0
        /// Its result is out (or it was cancelled): only an exec child may still need reaping.
        var answered = false

        init(number: Int, id: InstanceID, pid: Int32, role: ProbeRole, startedAt: Instant, timeout: Duration) {
            self.number = number
            self.id = id
            self.pid = pid
            self.role = role
            self.startedAt = startedAt
            self.timeout = timeout
            deadline = startedAt + timeout
        }
    }

    private let loop: EventLoop
    private let spawnExec: ExecSpawner
    private var checks: [Int: Check] = [:]
    private var byInstance: [InstanceID: Set<Int>] = [:]
    private var execChildren: [Int32: Int] = [:]
    private var nextNumber = 1
    private var results: [Finished] = []

    init(loop: EventLoop, spawnExec: @escaping ExecSpawner) {
        self.loop = loop
        self.spawnExec = spawnExec
    }

    /// Results are waiting for the daemon (it wakes at once for them).
    var hasResults: Bool { !results.isEmpty }

    func takeResults() -> [Finished] {
        defer { results = [] }
        return results
    }

    /// The earliest timeout of a check still out.
    var deadline: Instant? {
        var earliest: Instant?
        for check in checks.values where !check.answered {
            if earliest.map({ check.deadline < $0 }) ?? true { earliest = check.deadline }
        }
        return earliest
    }

    // MARK: - Starting

    func start(_ id: InstanceID, pid: Int32, role: ProbeRole, check kind: ProbeCheck, timeout: Duration, now: Instant) {
        let check = Check(number: nextNumber, id: id, pid: pid, role: role, startedAt: now, timeout: timeout)
        nextNumber += 1
        checks[check.number] = check
        byInstance[id, default: []].insert(check.number)
        switch kind {
        case .http(let target, let path):
            startSocket(check, target: target, request: SocketCheck.request(path: path, target: target))
        case .tcp(let target):
            startSocket(check, target: target, request: nil)
        case .exec(let argv):
            startExec(check, argv: argv)
        }
    }

    private func startSocket(_ check: Check, target: ProbeTarget, request: [UInt8]?) {
        guard let address = InetAddress(host: target.host, port: target.port) else {
            return answer(check, passed: false, "\(target.authority) is not an address", at: check.startedAt)
        }
        let fd: FileDescriptor
        do {
            fd = try InetSocketCalls.socket(family: address.family, nonBlocking: true).movedHigh()
        } catch {
            return answer(check, passed: false, "socket: \(error.reason)", at: check.startedAt)
        }
        check.socket = SocketCheck(descriptor: fd, request: request)
        let result = InetSocketCalls.connect(fd, to: address)
        switch result {
        case 0:
            register(check, .writable)   // connected at once (loopback): send from the loop
        case EINPROGRESS:
            register(check, .writable)
        default:
            answer(check, passed: false, "connect: \(SystemError.describe(result))", at: MonotonicClock.now())
        }
    }

    private func startExec(_ check: Check, argv: [String]) {
        let output: Pipe
        do {
            output = try Pipe()
        } catch {
            return answer(check, passed: false, "pipe: \(error.reason)", at: check.startedAt)
        }
        let child: Int32
        do {
            child = try spawnExec(check.id, argv, output.writeEnd)
        } catch {
            output.writeEnd.close()
            output.readEnd.close()
            return answer(check, passed: false, "exec \(argv[0]): \(error.description)", at: MonotonicClock.now())
        }
        output.writeEnd.close()
        check.exec = ExecCheck(pid: child, pidfd: Reaper.pidfd(for: child), output: output.readEnd)
        execChildren[child] = check.number
        if let pidfd = check.exec?.pidfd, let token = try? loop.register(pidfd, .readable, .probe(check.number)) {
            check.token = token
        }
        // Without a pidfd, the process table's scan reaps it and says so (`reapedElsewhere`).
    }

    private func register(_ check: Check, _ interest: Epoll.Interest) {
        guard let fd = check.socket?.descriptor else { return }
        if check.token == 0 {
            guard let token = try? loop.register(fd, interest, .probe(check.number)) else {
                return answer(check, passed: false, "epoll: cannot watch the socket", at: MonotonicClock.now())
            }
            check.token = token
        } else {
            try? loop.modify(fd, interest, token: check.token)
        }
    }

    // MARK: - Events

    /// A check's socket or pidfd is ready.
    func ready(_ number: Int, _ event: Epoll.Event, now: Instant) {
        guard let check = checks[number] else { return }
        if check.exec != nil {
            guard let pidfd = check.exec?.pidfd, let exit = Reaper.reap(pidfd: pidfd) else { return }
            exited(check, exit, now: now)
            return
        }
        guard var socket = check.socket, !check.answered else { return }
        switch socket.advance(event) {
        case .waitWritable:
            check.socket = socket
        case .waitReadable:
            check.socket = socket
            register(check, .readable)
        case .done(let passed, let detail):
            check.socket = socket
            answer(check, passed: passed, detail, at: now)
        }
    }

    /// Checks past their timeout fail; an exec check's process group is killed (and reaped
    /// when its pidfd says so).
    func tick(_ now: Instant) {
        for check in checks.values where !check.answered && check.deadline <= now {
            if let exec = check.exec { ProcessSignals.signalGroup(exec.pid, SIGKILL) }
            answer(check, passed: false, "timed out after \(Units.format(check.timeout))", at: now)
        }
    }

    /// The instance's process is gone: its checks end without a result.
    func cancel(_ id: InstanceID) {
        for number in byInstance[id] ?? [] {
            guard let check = checks[number] else { continue }
            if let exec = check.exec, !check.answered { ProcessSignals.signalGroup(exec.pid, SIGKILL) }
            check.answered = true
            release(check)
        }
    }

    // MARK: - Children (ChildOwner)

    func owns(_ pid: Int32) -> Bool {
        execChildren[pid] != nil
    }

    func reapedElsewhere(_ exit: Reaper.Exit) {
        guard let number = execChildren[exit.pid], let check = checks[number] else { return }
        exited(check, exit, now: MonotonicClock.now())
    }

    private func exited(_ check: Check, _ exit: Reaper.Exit, now: Instant) {
        check.exec?.reaped = true
        if !check.answered {
            let said = check.exec?.firstLine() ?? ""
            let how = exit.exited ? "exit \(exit.code)" : "killed by SIG\(Signals.name(exit.code))"
            answer(check, passed: exit.exited && exit.code == 0, said.isEmpty ? how : "\(how): \(said)", at: now)
        } else {
            release(check)
        }
    }

    // MARK: - Ending

    private func answer(_ check: Check, passed: Bool, _ detail: String, at now: Instant) {
        guard !check.answered else { return }
        check.answered = true
        results.append(Finished(id: check.id, pid: check.pid, role: check.role, result: ProbeResult(
            passed: passed, at: now, latency: now.duration(since: check.startedAt), detail: detail
        )))
        release(check)
    }

    /// Closes what the check holds; an exec check whose process is not reaped yet stays until it is.
    private func release(_ check: Check) {
        if let socket = check.socket {
            if check.token != 0 { loop.unregister(socket.descriptor, token: check.token) }
            socket.descriptor.close()
            check.socket = nil
            check.token = 0
        }
        if let exec = check.exec {
            guard exec.reaped else { return }
            if let pidfd = exec.pidfd {
                if check.token != 0 { loop.unregister(pidfd, token: check.token) }
                pidfd.close()
            }
            exec.output.close()
            execChildren[exec.pid] = nil
            check.exec = nil
        }
        checks[check.number] = nil
        byInstance[check.id]?.remove(check.number)
        if byInstance[check.id]?.isEmpty == true { byInstance[check.id] = nil }
    }
}

/// An http or tcp check on its non-blocking socket: connected (writable), the request sent,
/// the status line read. The whole exchange is a few hundred bytes.
struct SocketCheck {
    let descriptor: FileDescriptor
    /// The http request; nil for a tcp check (connected is passed).
    let request: [UInt8]?
    var sent = 0
    var connected = false
    var received: [UInt8] = []

    /// A status line longer than this is not one.
    static let maxStatusLine = 1024

    enum Step: Equatable {
        case waitWritable
        case waitReadable
        case done(passed: Bool, detail: String)
    }

    /// A minimal HTTP/1.1 GET: Host (required by 1.1), and Connection: close so the server
    /// ends the exchange; nothing else, so any server answers it.
    static func request(path: String, target: ProbeTarget) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: \(target.authority)\r\nUser-Agent: bulkhead-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n".utf8)
    }

    mutating func advance(_ event: Epoll.Event) -> Step {
        if !connected {
            let error = InetSocketCalls.pendingError(descriptor)
            guard error == 0 else { return .done(passed: false, detail: "connect: \(SystemError.describe(error))") }
            connected = true
            guard request != nil else { return .done(passed: true, detail: "connected") }
        }
        if let request, sent < request.count {
            let outcome = request[sent...].withUnsafeBytes { bytes in
                Result { () throws(SystemError) -> Int? in try InetSocketCalls.send(descriptor, bytes) }
            }
            switch outcome {
            case .success(let n): sent += n ?? 0
            case .failure(let error):
                return .done(passed: false, detail: "send: \(error.reason)")
            }
            return sent < request.count ? .waitWritable : .waitReadable
        }
        return receive()
    }

    /// Reads what is there; decides once the status line is complete (or never will be).
    private mutating func receive() -> Step {
        var chunk = [UInt8](repeating: 0, count: Self.maxStatusLine)
        while received.count < Self.maxStatusLine {
            let room = Self.maxStatusLine - received.count
            let outcome = chunk.withUnsafeMutableBytes { raw in
                Result { () throws(SystemError) -> Int? in try descriptor.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[..<room])) }
            }
            let n: Int?
            switch outcome {
            case .success(let read): n = read
            case .failure(let error): return .done(passed: false, detail: "receive: \(error.reason)")
            }
            guard let n else { break }
            if n == 0 {
                return Self.verdict(received) ?? .done(passed: false, detail: "the connection closed before a status line")
            }
            received += chunk[..<n]
            if let verdict = Self.verdict(received) { return verdict }
        }
        if received.count >= Self.maxStatusLine { return .done(passed: false, detail: "no HTTP status line in the first 1 KiB") }
        return .waitReadable
    }

    /// `HTTP/1.1 200 OK`: 2xx and 3xx pass (Kubernetes' rule). nil until a line ends.
    static func verdict(_ bytes: [UInt8]) -> Step? {
        guard let end = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = String(decoding: bytes[..<end], as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), parts[1].count == 3, let status = Int(parts[1]) else {
            return .done(passed: false, detail: "not an HTTP status line: \(line.prefix(80))")
        }
        return .done(passed: (200..<400).contains(status), detail: "HTTP \(status)")
    }
}

/// An exec check's process: its pidfd (readable when it exits) and its output, of which the
/// first line explains a failure.
final class ExecCheck {
    let pid: Int32
    let pidfd: FileDescriptor?
    let output: FileDescriptor
    var reaped = false

    init(pid: Int32, pidfd: FileDescriptor?, output: FileDescriptor) {
        self.pid = pid
        self.pidfd = pidfd
        self.output = output
    }

    /// The first non-empty line it wrote (at most 200 characters), read without waiting.
    func firstLine() -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = (try? buffer.withUnsafeMutableBytes { try output.read(into: $0) }) ?? nil
        let text = String(decoding: buffer[..<(n ?? 0)], as: UTF8.self)
        let line = text.split(whereSeparator: \.isNewline).first { !$0.allSatisfy(\.isWhitespace) } ?? ""
        return line.count > 200 ? String(line.prefix(199)) + "…" : String(line)
    }
}
