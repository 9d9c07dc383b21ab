import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// The CLI's side of the control socket: connect, send a request line, read reply lines.
/// Blocking, with timeouts (a client may wait; the daemon never does).
public final class ControlClient {
    public let path: String
    private let descriptor: FileDescriptor
    /// Received bytes live in `storage[start..<end]`; lines are cut out of it with memchr and
    /// `recv` writes straight into its free end (a 250 KiB status document costs no copies
    /// beyond the line handed out).
    private var storage: UnsafeMutableRawPointer
    private var capacity = 64 << 10
    private var start = 0
    private var end = 0
    private var scanned = 0
    private var atEnd = false

    /// A reply line may carry a whole crash report (at most 64 MiB in the store).
    public static let maxReplyBytes = 96 << 20
    public static let defaultTimeout: Duration = .seconds(30)

    /// What went wrong, with the exit code (SPEC §5) and one sentence that says what to do.
    public enum Failure: Error, Sendable {
        case unreachable(path: String, errno: Int32)
        case permissionDenied(path: String)
        case timedOut(path: String, after: Duration)
        case disconnected(path: String)
        case unreadable(path: String, detail: String)
        /// The daemon answered with an error.
        case daemon(ControlFailure)

        public var exitCode: Int32 {
            switch self {
            case .unreachable, .timedOut, .disconnected: return 3
            case .permissionDenied: return 4
            case .unreadable: return 1
            case .daemon(let failure): return failure.exitCode
            }
        }

        public var message: String {
            switch self {
            case .unreachable(let path, let errno):
                let why = errno == ENOENT || errno == ECONNREFUSED ? "" : " (\(SystemError.describe(errno)))"
                return "bulkhead is not running at \(path)\(why): start it with `bulkhead daemon` or `systemctl start bulkhead`, or point --socket / BULKHEAD_SOCKET at its socket"
            case .permissionDenied(let path):
                return "permission denied on \(path): run this as root, or as a member of the group bulkhead's config names in control.group"
            case .timedOut(let path, let after):
                return "bulkhead at \(path) did not answer within \(Units.format(after)): it may be overloaded or stuck; look at its log (`journalctl -u bulkhead`)"
            case .disconnected(let path):
                return "bulkhead at \(path) closed the connection before answering: look at its log (`journalctl -u bulkhead`) to see why"
            case .unreadable(let path, let detail):
                return "bulkhead at \(path) sent a reply this CLI cannot read (\(detail)): use the bulkhead CLI of the same version as the daemon"
            case .daemon(let failure):
                return failure.message
            }
        }
    }

    /// Connects, waiting at most `timeout` (a daemon whose backlog is full).
    public init(path: String, timeout: Duration = ControlClient.defaultTimeout) throws(Failure) {
        self.path = path
        let fd: FileDescriptor
        do {
            fd = try UnixSocketCalls.stream(nonBlocking: false)
        } catch {
            throw .unreachable(path: path, errno: error.errno)
        }
        UnixSocketCalls.setTimeouts(fd, receive: timeout, send: timeout)
        let result: Int32
        do {
            result = try UnixSocketCalls.connect(fd, path)
        } catch {
            fd.close()
            throw .unreachable(path: path, errno: error.errno)
        }
        switch result {
        case 0:
            break
        case EACCES, EPERM:
            fd.close()
            throw .permissionDenied(path: path)
        case EAGAIN, EINPROGRESS, ETIMEDOUT:
            fd.close()
            throw .timedOut(path: path, after: timeout)
        default:
            fd.close()
            throw .unreachable(path: path, errno: result)
        }
        descriptor = fd
        storage = .allocate(byteCount: capacity, alignment: 16)
        self.timeout = timeout
    }

    private var timeout: Duration?

    deinit {
        descriptor.close()
        storage.deallocate()
    }

    /// How long a receive may wait; nil: for ever (`logs -f`).
    public func setReceiveTimeout(_ timeout: Duration?) {
        self.timeout = timeout
        UnixSocketCalls.setTimeouts(descriptor, receive: timeout, send: .seconds(30))
    }

    /// Sends one request. A daemon that refused us at once (permission, too many clients) has
    /// already written its answer and closed: a broken pipe here is not the end, the reply is
    /// read next.
    public func send(_ command: String, _ arguments: [(String, JSON)] = []) throws(Failure) {
        let bytes = ControlProtocol.encodeRequest(command, arguments)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(descriptor.rawValue, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                offset += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw .timedOut(path: path, after: timeout ?? .seconds(30)) }
            return   // EPIPE / ECONNRESET: whatever the daemon said is waiting to be read
        }
    }

    /// The next message, or nil at the end of the stream.
    public func receive() throws(Failure) -> ControlMessage? {
        // Parsed where it was received: a 250 KiB status line is not copied first.
        guard let line = try nextLineRange() else { return nil }
        defer { consume(line) }
        guard let message = ControlMessage.parse(UnsafeRawBufferPointer(start: storage + line.lowerBound, count: line.count)) else {
            throw .unreadable(path: path, detail: "not a protocol \(ControlProtocol.version) message")
        }
        return message
    }

    /// Sends a request and returns its result; an error reply throws `.daemon`.
    public func call(_ command: String, _ arguments: [(String, JSON)] = []) throws(Failure) -> JSON {
        try send(command, arguments)
        switch try receive() {
        case .result(let result)?: return result
        case .failure(let failure)?: throw .daemon(failure)
        case .event?: throw .unreadable(path: path, detail: "an event where a reply was expected")
        case nil: throw .disconnected(path: path)
        }
    }

    /// Sends a request and returns its result as the daemon wrote it (compact JSON), without
    /// parsing it: `status --json` into a pipe prints a thousand instances without building them.
    public func callRaw(_ command: String, _ arguments: [(String, JSON)] = []) throws(Failure) -> ArraySlice<UInt8> {
        try send(command, arguments)
        guard let line = try nextLine() else { throw .disconnected(path: path) }
        let prefix = ControlProtocol.resultPrefix
        if line.count > prefix.count, line.last == 0x7D, line.starts(with: prefix) {
            return line[prefix.count..<(line.count - 1)]
        }
        return ArraySlice(try result(of: line.withUnsafeBytes { ControlMessage.parse($0) }).encodedBytes(.compact))
    }

    /// Sends a request whose result is `{"text":"…"}` and returns the text's UTF-8 bytes,
    /// decoded straight from the receive buffer: `status`'s 1000-row table is one long string,
    /// and building a JSON value and a String of it only to print it was a tenth of the CLI's
    /// own time. A reply of any other shape (an error) goes through the general parse.
    public func callText(_ command: String, _ arguments: [(String, JSON)] = []) throws(Failure) -> [UInt8] {
        try send(command, arguments)
        guard let line = try nextLineRange() else { throw .disconnected(path: path) }
        defer { consume(line) }
        let reply = UnsafeRawBufferPointer(start: storage + line.lowerBound, count: line.count)
        let head = ControlProtocol.resultPrefix.count + Self.textHead.count
        if reply.count >= head + 2, reply.starts(with: ControlProtocol.resultPrefix),
           UnsafeRawBufferPointer(rebasing: reply[ControlProtocol.resultPrefix.count..<head]).elementsEqual(Self.textHead),
           reply[reply.count - 2] == 0x7D, reply[reply.count - 1] == 0x7D,
           let text = try? JSONStringBytes.decode(UnsafeRawBufferPointer(rebasing: reply[(head - 1)..<(reply.count - 2)]), limits: .largeDocument) {
            return text
        }
        return Array((try result(of: ControlMessage.parse(reply))["text"]?.string ?? "").utf8)
    }

    /// A reply parsed in full (where the fast paths above do not apply): its result, or the
    /// daemon's error thrown.
    private func result(of reply: ControlMessage?) throws(Failure) -> JSON {
        switch reply {
        case .result(let result)?: return result
        case .failure(let failure)?: throw .daemon(failure)
        case .event?, nil: throw .unreadable(path: path, detail: "not a protocol \(ControlProtocol.version) reply")
        }
    }

    /// `{"text":"` (the opening quote is the decoded string's own).
    private static let textHead: [UInt8] = Array(#"{"text":""#.utf8)

    private func nextLine() throws(Failure) -> [UInt8]? {
        guard let line = try nextLineRange() else { return nil }
        defer { consume(line) }
        return [UInt8](UnsafeRawBufferPointer(start: storage + line.lowerBound, count: line.count))
    }

    /// Where the next complete line is in `storage` (without its newline); it stays there
    /// until `consume`.
    private func nextLineRange() throws(Failure) -> Range<Int>? {
        while true {
            if scanned < end, let hit = memchr(storage + scanned, 0x0A, end - scanned) {
                let newline = storage.distance(to: hit)
                scanned = newline
                return start..<newline
            }
            scanned = end
            if atEnd { return nil }
            if end - start > Self.maxReplyBytes {
                throw .unreadable(path: path, detail: "a reply longer than \(Self.maxReplyBytes >> 20) MiB")
            }
            try fill()
        }
    }

    /// Drops a line `nextLineRange` returned, and its newline.
    private func consume(_ line: Range<Int>) {
        start = line.upperBound + 1
        scanned = start
        if start == end {
            start = 0
            end = 0
            scanned = 0
        }
    }

    /// One recv into the free end of the storage (moved down or grown first when short of room).
    private func fill() throws(Failure) {
        if capacity - end < 32 << 10 {
            let used = end - start
            if start > 0 && used < capacity / 2 {
                memmove(storage, storage + start, used)   // overlapping
            } else {
                capacity *= 4
                let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
                grown.copyMemory(from: storage + start, byteCount: used)
                storage.deallocate()
                storage = grown
            }
            scanned -= start
            start = 0
            end = used
        }
        var n = 0
        while true {
            n = recv(descriptor.rawValue, storage + end, capacity - end, 0)
            if n < 0 && errno == EINTR { continue }
            break
        }
        let e = errno
        if n > 0 {
            end += n
            return
        }
        if n == 0 || e == ECONNRESET || e == EPIPE {
            atEnd = true
            return
        }
        if e == EAGAIN || e == EWOULDBLOCK { throw .timedOut(path: path, after: timeout ?? .seconds(30)) }
        throw .disconnected(path: path)
    }
}
