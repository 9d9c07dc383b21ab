import Foundation
import Glibc

/// A blocking HTTP/1.0 client for tests, that says exactly how each attempt ended: refused by
/// the kernel (nobody listening), answered, or closed without an answer (the worker died).
enum TestHTTP {
    enum Outcome: Equatable, CustomStringConvertible {
        case refused
        case answered(status: Int, body: String)
        /// Connected, then the connection ended without a status line (reset or EOF).
        case closed
        case failed(String)

        var description: String {
            switch self {
            case .refused: return "refused"
            case .answered(let status, let body): return "\(status) \(body.debugDescription)"
            case .closed: return "closed"
            case .failed(let why): return "failed: \(why)"
            }
        }
    }

    /// Whether a TCP connect to 127.0.0.1:`port` is accepted by the kernel (someone listens,
    /// whether or not it ever calls accept).
    static func connects(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// One GET; `timeout` bounds connect, send and each read.
    static func get(port: Int, _ path: String = "/", timeout: Double = 20) -> Outcome {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed("socket: \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0 {
            return errno == ECONNREFUSED ? .refused : .failed("connect: \(String(cString: strerror(errno)))")
        }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
        if request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) != request.count {
            return errno == EPIPE || errno == ECONNRESET ? .closed : .failed("send: \(String(cString: strerror(errno)))")
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received += buffer[..<n]
                // Some servers keep the connection after an HTTP/1.0 reply: a complete body ends it.
                if Self.isComplete(received) { break }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno != ECONNRESET {
                return .failed("recv: \(String(cString: strerror(errno))) after \(received.count) bytes")
            }
            break
        }
        let text = String(decoding: received, as: UTF8.self)
        guard text.hasPrefix("HTTP/"), let space = text.firstIndex(of: " ") else { return .closed }
        let status = Int(text[text.index(after: space)...].prefix(3)) ?? 0
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return .answered(status: status, body: body)
    }

    /// Headers and as many body bytes as Content-Length says.
    static func isComplete(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let headers = text[..<end.lowerBound].lowercased()
        guard let field = headers.range(of: "content-length:") else { return false }
        let length = Int(headers[field.upperBound...].prefix { $0 != "\r" }.trimmingCharacters(in: .whitespaces)) ?? -1
        return length >= 0 && text[end.upperBound...].utf8.count >= length
    }

    /// A port nobody listens on right now (bound, read, closed: the daemon binds it next).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                _ = bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Counts of how requests ended, from several threads at once.
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var outcomes: [String: Int] = [:]
        private(set) var examples: [String] = []

        func add(_ outcome: Outcome) {
            let key: String
            switch outcome {
            case .refused: key = "refused"
            case .answered(let status, _): key = "\(status)"
            case .closed: key = "closed"
            case .failed: key = "failed"
            }
            lock.lock()
            outcomes[key, default: 0] += 1
            if case .failed = outcome, examples.count < 5 { examples.append(outcome.description) }
            lock.unlock()
        }

        subscript(key: String) -> Int {
            lock.lock()
            defer { lock.unlock() }
            return outcomes[key] ?? 0
        }

        var summary: String {
            lock.lock()
            defer { lock.unlock() }
            return outcomes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + (examples.isEmpty ? "" : " \(examples)")
        }
    }

    /// `clients` threads, each sending `requests` GETs one after another; returns when all are done.
    static func hammer(port: Int, path: String = "/", clients: Int, requests: Int, tally: Tally) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    try await offThread {
                        for _ in 0..<requests { tally.add(get(port: port, path)) }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// A file of the repository (test workers in Tests/Workers), from this file's path.
enum RepositoryFile {
    static func path(_ relative: String) -> String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)   // Tests/IntegrationTests/Support/TestHTTP.swift
        return parts.joined(separator: "/") + "/" + relative
    }

    static var httpWorker: String { path("Tests/Workers/httpworker.py") }
}
