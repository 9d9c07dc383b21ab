import BulkheadPolicy
import BulkheadSystem
import CLinux
import Glibc

/// `metrics: { listen: … }`: a small HTTP/1.1 server for Prometheus on a thread of its own, so a
/// scrape costs the supervision loop one wake-up and a copy of its counters (`MetricsSnapshot`),
/// never the rendering, the socket I/O or a slow scraper. It asks the loop for a snapshot through
/// an eventfd the loop watches, and waits for it here (at most `snapshotWait`).
///
/// Requests: `GET /metrics` (also HEAD), the text format, or OpenMetrics when `Accept` asks for
/// it; `GET /` a pointer to it. Keep-alive, at most `maxClients` connections, each with a
/// deadline; nothing a client sends can hold the thread for long or make it grow.
final class MetricsServer: @unchecked Sendable {
    let config: MetricsConfig
    private let listener: FileDescriptor
    /// The loop watches this: a scrape wants a snapshot.
    let requests: EventSignal
    private let stopSignal: EventSignal
    private let monitor = ThreadMonitor()
    private lazy var delivered = ThreadMonitor.Condition(monitor)
    private var waiting = false
    private var snapshot: MetricsSnapshot?
    private var stopped = false

    static let maxClients = FileDescriptorBudget.metricsClients
    static let maxRequestBytes = 16 << 10
    /// A connection with nothing in flight, or a request not finished, is closed after this.
    static let idleTimeoutNanoseconds: UInt64 = 30_000_000_000
    static let snapshotWaitNanoseconds: Int64 = 5_000_000_000

    init(config: MetricsConfig) throws(SystemError) {
        self.config = config
        listener = try TCPListenSocket.listen(host: config.host, port: config.port)
        do {
            requests = try EventSignal()
            stopSignal = try EventSignal()
        } catch {
            listener.close()
            throw error
        }
    }

    /// Starts serving; false when the thread could not be made.
    func start() -> Bool {
        BackgroundThread.start { [self] in serve() }
    }

    /// The loop's answer to `requests`.
    func deliver(_ snapshot: MetricsSnapshot) {
        monitor.withLock {
            guard waiting else { return }
            self.snapshot = snapshot
            delivered.broadcast()
        }
    }

    /// Whether a scrape waits for a snapshot (the loop takes one only then).
    var isWaiting: Bool { monitor.withLock { waiting } }

    /// The thread closes everything and ends (a reload that moved the address, shutdown).
    func stop() {
        monitor.withLock {
            stopped = true
            delivered.broadcast()
        }
        stopSignal.signal()
    }

    // MARK: - The thread

    private struct Client {
        var fd: FileDescriptor
        var input: [UInt8] = []
        var output: [UInt8] = []
        var sent = 0
        var closeAfterReply = false
        var deadline: UInt64
    }

    private func serve() {
        _ = bh_set_thread_nice(10)   // below the loop and the workers
        var clients: [Client] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        defer {
            for client in clients { client.fd.close() }
            listener.close()
        }
        while !monitor.withLock({ stopped }) {
            var fds = [pollfd(fd: stopSignal.descriptor.rawValue, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener.rawValue, events: Int16(POLLIN), revents: 0)]
            for client in clients {
                let events = client.output.count > client.sent ? POLLOUT : POLLIN
                fds.append(pollfd(fd: client.fd.rawValue, events: Int16(events), revents: 0))
            }
            let now = bh_monotonic_ns()
            let next = clients.map(\.deadline).min()
            let timeout = next.map { Int32(clamping: ($0 > now ? $0 - now : 0) / 1_000_000 + 1) } ?? -1
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 && errno != EINTR { return }
            if fds[0].revents != 0 { return }
            if fds[1].revents & Int16(POLLIN) != 0 { accept(&clients) }
            var index = 0
            for pollIndex in 2..<fds.count {
                defer { index += 1 }
                guard index < clients.count else { break }
                let revents = fds[pollIndex].revents
                if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 && clients[index].output.count == clients[index].sent {
                    read(&clients[index], &buffer)
                }
                if clients[index].output.count > clients[index].sent { write(&clients[index]) }
            }
            let after = bh_monotonic_ns()
            clients.removeAll { client in
                let done = client.deadline <= after || (client.closeAfterReply && client.output.count == client.sent)
                if done { client.fd.close() }
                return done
            }
        }
    }

    private func accept(_ clients: inout [Client]) {
        while let fd = try? TCPListenSocket.accept(listener) {
            guard clients.count < Self.maxClients else {
                fd.close()
                continue
            }
            clients.append(Client(fd: fd, deadline: bh_monotonic_ns() + Self.idleTimeoutNanoseconds))
        }
    }

    private func read(_ client: inout Client, _ buffer: inout [UInt8]) {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(client.fd.rawValue, $0.baseAddress, $0.count) }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        guard n > 0 else {
            client.closeAfterReply = true
            client.deadline = 0
            return
        }
        client.input.append(contentsOf: buffer[0..<n])
        answerRequests(&client)
    }

    /// Answers complete requests in order (one at a time: the next once the reply is out).
    private func answerRequests(_ client: inout Client) {
        guard client.output.count == client.sent else { return }
        guard let end = HTTPRequestHead.end(in: client.input) else {
            if client.input.count > Self.maxRequestBytes {
                respond(&client, HTTPResponse(status: "431 Request Header Fields Too Large", body: "request too large\n"), close: true)
            }
            return
        }
        let head = HTTPRequestHead(Array(client.input[0..<end]))
        client.input.removeFirst(end)
        client.output = []
        client.sent = 0
        let response = handle(head)
        respond(&client, response, close: !head.keepsAlive || response.closes, headOnly: head.method == "HEAD")
    }

    private func handle(_ head: HTTPRequestHead) -> HTTPResponse {
        guard let head = head.valid else { return HTTPResponse(status: "400 Bad Request", body: "bad request\n", closes: true) }
        guard head.method == "GET" || head.method == "HEAD" else {
            return HTTPResponse(status: "405 Method Not Allowed", body: "only GET and HEAD\n", extraHeaders: "Allow: GET, HEAD\r\n")
        }
        switch head.path {
        case "/metrics":
            guard var snapshot = takeSnapshot() else {
                return HTTPResponse(status: "503 Service Unavailable", body: "bulkhead did not answer in time; scrape again\n")
            }
            snapshot.process = ProcessStats.read()
            let format = MetricsText.Format.negotiated(accept: head.accept)
            return HTTPResponse(status: "200 OK", contentType: format.contentType, bytes: MetricsText.render(snapshot, format))
        case "/":
            return HTTPResponse(status: "200 OK", body: "bulkhead: Prometheus metrics at /metrics\n")
        default:
            return HTTPResponse(status: "404 Not Found", body: "not found: bulkhead serves /metrics\n")
        }
    }

    /// Asks the loop and waits for its snapshot.
    private func takeSnapshot() -> MetricsSnapshot? {
        monitor.withLock {
            waiting = true
            snapshot = nil
        }
        requests.signal()
        let end = MonotonicDeadline(afterNanoseconds: Self.snapshotWaitNanoseconds)
        return monitor.withLock {
            while snapshot == nil && !stopped, let left = end.remaining {
                _ = delivered.wait(nanoseconds: left)
            }
            waiting = false
            defer { snapshot = nil }
            return snapshot
        }
    }

    private func respond(_ client: inout Client, _ response: HTTPResponse, close: Bool, headOnly: Bool = false) {
        client.output = response.encoded(close: close, headOnly: headOnly)
        client.sent = 0
        client.closeAfterReply = close
        client.deadline = bh_monotonic_ns() + Self.idleTimeoutNanoseconds
        write(&client)
    }

    private func write(_ client: inout Client) {
        while client.sent < client.output.count {
            let n: Int
            do {
                n = try client.output.withUnsafeBytes { raw throws(SystemError) -> Int in
                    try TCPListenSocket.sendSome(client.fd, UnsafeRawBufferPointer(rebasing: raw[client.sent...]))
                }
            } catch {
                client.closeAfterReply = true
                client.deadline = 0
                return
            }
            if n == 0 { return }
            client.sent += n
        }
        if !client.closeAfterReply {
            client.output = []
            client.sent = 0
            answerRequests(&client)   // a pipelined request already read
        }
    }
}

/// The head of an HTTP/1.x request: the request line and the headers a metrics endpoint reads.
struct HTTPRequestHead {
    var method = ""
    var path = ""
    var version = ""
    var accept: String?
    var connection: String?

    /// The offset just past `\r\n\r\n` (or `\n\n`), if the head is complete.
    static func end(in bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x0A {
                if index + 1 < bytes.count && bytes[index + 1] == 0x0A { return index + 2 }
                if index + 2 < bytes.count && bytes[index + 1] == 0x0D && bytes[index + 2] == 0x0A { return index + 3 }
            }
            index += 1
        }
        return nil
    }

    init(_ bytes: [UInt8]) {
        // By bytes: "\r\n" is one Character to a String, so splitting text at "\n" would not cut it.
        let lines = bytes.split(separator: 0x0A).map { line in
            String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
        }
        guard let first = lines.first else { return }
        let parts = first.split(separator: " ")
        if parts.count == 3 {
            method = String(parts[0])
            path = String(parts[1].prefix { $0 != "?" })
            version = String(parts[2])
        }
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
            if name == "accept" { accept = value }
            if name == "connection" { connection = value.lowercased() }
        }
    }

    var valid: HTTPRequestHead? {
        method.isEmpty || !path.hasPrefix("/") || !version.hasPrefix("HTTP/1.") ? nil : self
    }

    /// HTTP/1.1 keeps the connection unless told to close; 1.0 closes unless told to keep it.
    var keepsAlive: Bool {
        if version == "HTTP/1.0" { return connection == "keep-alive" }
        return connection != "close"
    }
}

struct HTTPResponse {
    var status: String
    var contentType = "text/plain; charset=utf-8"
    var bytes: [UInt8]
    var extraHeaders = ""
    var closes = false

    init(status: String, contentType: String, bytes: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.bytes = bytes
    }

    init(status: String, body: String, extraHeaders: String = "", closes: Bool = false) {
        self.status = status
        bytes = Array(body.utf8)
        self.extraHeaders = extraHeaders
        self.closes = closes
    }

    func encoded(close: Bool, headOnly: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(bytes.count)\r\n"
        head += extraHeaders
        head += close ? "Connection: close\r\n\r\n" : "\r\n"
        return Array(head.utf8) + (headOnly ? [] : bytes)
    }
}
