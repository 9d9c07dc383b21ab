import Foundation
import Glibc
import Testing

/// Issue 16: a real service that writes its crash report to stdout. Debian's redis-server under
/// the daemon, crashed with `DEBUG SEGFAULT` once it is ready: the headline names the signal
/// from redis's own bug report, and `output_tail` holds the report's last lines (both streams,
/// marked).
@Suite("redis-server under the daemon")
struct RedisCrashTests {
    static let redis = tool("/usr/bin/redis-server")

    @Test("DEBUG SEGFAULT: the headline from its stdout bug report", .enabled(if: redis != nil, "skipped: redis-server is not installed (apt-get install redis-server)"))
    func debugSegfault() async throws {
        let port = try Self.freePort()
        try await withDaemon("""
        workers:
          - name: redis
            command: [\(Self.redis ?? ""), --port, "\(port)", --bind, 127.0.0.1, --save, "", --appendonly, "no", --dir, "{{dir}}", --enable-debug-command, local]
            restart: never
        """) { daemon in
            try await daemon.nextLine(what: "redis ready") { $0.hasPrefix("redis:0 | ") && $0.contains("Ready to accept connections") }
            try Self.send("DEBUG SEGFAULT\r\n", port: port)
            let exit = try await daemon.next("redis:0", "exit", timeout: 120)
            let report = try daemon.report(for: exit)
            #expect(report["class"] as? String == "crash")
            #expect(report["signal"] as? String == "SEGV")
            let headline = try #require(report["headline"] as? String)
            #expect(headline.hasPrefix("Redis ") && headline.contains(" crashed by signal 11 (SIGSEGV)"), "\(headline)")
            #expect(report["runtime"] as? String == "c")
            #expect(report["crash_kind"] as? String == "fatal signal")
            // Its report went to stdout; its last lines are in the tail, marked as stdout.
            let tail = try #require(report["output_tail"] as? [[String: Any]])
            let stdout = tail.filter { $0["stream"] as? String == "stdout" }.compactMap { $0["text"] as? String }
            #expect(stdout.contains { $0.contains("=== REDIS BUG REPORT END.") }, "\(stdout.suffix(10))")
            #expect(stdout.last?.contains("redis-server --check-system") == true, "\(stdout.suffix(3))")
        }
    }

    /// A port nobody listens on now (bound to 0, read, closed).
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound, "bind: \(errno)")
        return UInt16(bigEndian: address.sin_port)
    }

    /// One inline command to redis (RESP's plain-text form); the reply is not waited for.
    static func send(_ command: String, port: UInt16) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        try #require(connected, "connect to redis on \(port): \(errno)")
        let bytes = Array(command.utf8)
        try #require(write(fd, bytes, bytes.count) == bytes.count)
    }
}
