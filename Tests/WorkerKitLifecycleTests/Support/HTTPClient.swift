import Glibc

/// A plain HTTP/1.1 client over a blocking TCP socket on 127.0.0.1, run off the cooperative pool:
/// enough to ask a test server one question and read the whole answer (`Connection: close`).
final class HTTPConnection: @unchecked Sendable {
    struct Reply: Sendable, CustomStringConvertible {
        var status: Int
        var body: String
        var description: String { "\(status) \(body.debugDescription)" }
    }

    enum Failure: Error, Equatable, CustomStringConvertible {
        /// connect(2) failed with this errno (ECONNREFUSED: nothing listens).
        case connect(Int32)
        /// The peer closed (or reset) the connection before a whole reply came.
        case noReply(String)
        case timedOut

        var description: String {
            switch self {
            case .connect(let error): "connect: \(String(cString: strerror(error)))"
            case .noReply(let partial): "closed without a reply (read \(partial.debugDescription))"
            case .timedOut: "timed out"
            }
        }
    }

    private let fd: Int32

    /// Connects to 127.0.0.1:`port`. A listening socket completes the handshake from its backlog
    /// even when no process accepts yet.
    init(port: UInt16) async throws(Failure) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        let result = await offload { () -> Int32 in
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            return connected == 0 ? 0 : errno
        }
        guard result == 0 else {
            close(fd)
            throw .connect(result)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends `GET path` (the connection closes after the reply).
    func send(get path: String) {
        let request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until the server closes, then parses the reply.
    func reply(within seconds: Double = 30) async throws(Failure) -> Reply {
        let fd = fd
        let limit = deadline(in: seconds)
        let (bytes, timedOut) = await offload { () -> ([UInt8], Bool) in
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                guard waitReadable(fd, until: limit) else { return (received, true) }
                let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if count > 0 {
                    received.append(contentsOf: buffer[0..<count])
                } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                    return (received, false)  // closed, or reset
                }
            }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if timedOut { throw .timedOut }
        let separator = Array("\r\n\r\n".utf8)
        guard let headerEnd = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }),
            let statusText = text.split(separator: " ", maxSplits: 2).dropFirst().first,
            let status = Int(statusText)
        else { throw .noReply(text) }
        return Reply(status: status, body: String(decoding: bytes[(headerEnd + separator.count)...], as: UTF8.self))
    }

    /// One request on a new connection.
    static func get(port: UInt16, _ path: String, within seconds: Double = 30) async throws(Failure) -> Reply {
        let connection = try await HTTPConnection(port: port)
        connection.send(get: path)
        return try await connection.reply(within: seconds)
    }
}

/// A TCP socket listening on 127.0.0.1 at a port the kernel picks: what bulkhead's `sockets:`
/// opens and holds across the worker's deaths. Close-on-exec here; the spawn puts it at fd 3.
final class TestListener: Sendable {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, SOMAXCONN) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else {
            close(fd)
            throw TestFailure("bind/listen: errno \(errno)")
        }
        self.fd = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }
}
