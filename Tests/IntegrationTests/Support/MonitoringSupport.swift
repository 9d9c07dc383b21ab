import Foundation
import Glibc

/// For the monitoring tests: a bare HTTP/1.1 client over loopback TCP (no curl needed), a free
/// port, scripts written into a daemon's directory, and JSON lines from the CLI.
enum LoopbackHTTP {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `GET path` on 127.0.0.1:`port`, with `Connection: close`; the whole response.
    static func get(port: Int, path: String = "/metrics", accept: String? = nil, timeout: Double = 20) throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect to 127.0.0.1:\(port): errno \(errno)") }
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let accept { request += "Accept: \(accept)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            throw Failure(description: "send failed")
        }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data += chunk[0..<n]
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw Failure(description: "no HTTP head in \(text.prefix(200))") }
        let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let status = Int(head.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Response(status: status, headers: headers, body: String(text[split.upperBound...]))
    }

    /// A port nothing listens on now (the kernel's pick; another test could take it, rarely).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

extension DaemonHarness {
    /// An executable shell script in the daemon's directory; its path.
    @discardableResult
    func script(_ name: String, _ body: String) throws -> String {
        let path = directory + "/" + name
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    /// The CLI's stdout parsed as JSON (it must exit 0).
    func cliJSON(_ arguments: [String]) async throws -> Any {
        let run = try await command(arguments)
        guard run.code == 0 else { throw IntegrationFailure("bulkhead \(arguments.joined(separator: " ")) exited \(run.code): \(run.stderr)") }
        return try JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
    }

    /// `bulkhead events --json` (the history), one object per event.
    func eventRecords(_ extra: [String] = []) async throws -> [[String: Any]] {
        let run = try await command(["events", "--json"] + extra)
        guard run.code == 0 else { throw IntegrationFailure("bulkhead events exited \(run.code): \(run.stderr)") }
        return try run.stdout.split(separator: "\n").map { try RawControlSocket.parse(String($0)) }
    }

    /// The value of one sample in `bulkhead metrics`, e.g. `bulkhead_hook_suppressed_total{hook="page"}`.
    func metric(_ sample: String) async throws -> Double? {
        let run = try await command(["metrics"])
        guard run.code == 0 else { throw IntegrationFailure("bulkhead metrics exited \(run.code): \(run.stderr)") }
        return MetricsText.value(sample, in: run.stdout)
    }
}

enum MetricsText {
    /// The value of the line that starts with `sample ` in Prometheus text.
    static func value(_ sample: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }
}

/// A crash storm for the monitoring tests: shell workers that segfault as soon as they start,
/// restarted at once and never escalated. Unless `coalesced`, every death is its own line and
/// report (the tests count them in the daemon's log). `top` goes before the defaults, `bottom`
/// after the workers.
enum ShellStorm {
    static func config(top: String = "", bottom: String = "", instances: Int = 1, coalesced: Bool = false) -> String {
        """
        \(coalesced ? "" : "crash_reports: { coalesce_after: 0 }")
        \(top)
        defaults:
          backtrace: false
          backoff: { initial: 0ms }
          crash_loop: { max_restarts: 100000, same_crash: 0 }
        workers:
          - name: storm
            command: [/bin/sh, -c, 'kill -SEGV $$']
            instances: \(instances)
        \(bottom)
        """
    }
}

extension DaemonHarness {
    /// Waits (up to `timeout` s) until no hook run is going, by the daemon's own gauge.
    func hooksSettled(timeout: Double) async -> Bool {
        await Processes.waitUntil(timeout: timeout) {
            (try? self.cli(["metrics"])).flatMap { MetricsText.value("bulkhead_hooks_running", in: $0.stdout) } == 0
        }
    }
}
