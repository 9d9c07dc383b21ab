import Foundation
import Testing

/// Socket activation (`sockets:`) with real processes: the sockets bulkhead opens reach every
/// instance as sd_listen_fds(3) expects, and a listening socket outlives the worker's deaths —
/// a client hammering it during a crash loop is never refused.
@Suite("Socket activation")
struct SocketActivationTests {
    @Test("fds 3… are the sockets in order, LISTEN_PID is the worker's own pid, the names are LISTEN_FDNAMES, the ring comes after")
    func theConventionHolds() async throws {
        let directory = FileManager.default.temporaryDirectory.path + "/bh-sock-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = TestHTTP.freePort()
        let script = #"echo "pid=$$ listen_pid=$LISTEN_PID fds=$LISTEN_FDS names=$LISTEN_FDNAMES crumbs=$BULKHEAD_BREADCRUMBS_FD"; "#
            + #"for fd in 3 4 5 6; do echo "fd$fd $(readlink /proc/$$/fd/$fd)"; done; exec sleep 3600"#
        try await withDaemon("""
        workers:
          - name: svc
            instances: 2
            command: [/bin/sh, -c, '\(script)']
            sockets:
              - { listen: "tcp://127.0.0.1:\(port)", name: http }
              - { listen: "udp://127.0.0.1:0", name: stats }
              - { listen: "unix:\(directory)/svc.sock", name: admin, mode: "0640", group: nogroup }
        """) { daemon in
            let listening = try await daemon.nextLine(what: "the daemon's listening line") { $0.contains("svc: listening on") }
            #expect(listening.line.contains("svc: listening on tcp://127.0.0.1:\(port) (http), udp://127.0.0.1:"), "\(listening.line)")
            #expect(listening.line.contains("(stats), unix:\(directory)/svc.sock (admin)"))
            for index in 0..<2 {
                let line = try await daemon.nextLine(what: "svc:\(index)'s report") { $0.hasPrefix("svc:\(index) | pid=") }
                let fields = Dictionary(uniqueKeysWithValues: line.line.dropFirst("svc:0 | ".count).split(separator: " ").compactMap { pair -> (String, String)? in
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
                })
                #expect(fields["listen_pid"] == fields["pid"] && fields["pid"] != nil, "\(line.line)")
                #expect(fields["fds"] == "3" && fields["names"] == "http:stats:admin" && fields["crumbs"] == "6", "\(line.line)")
                var targets: [String: String] = [:]
                for fd in 3...6 {
                    let seen = try await daemon.nextLine(after: line.index, what: "svc:\(index) fd\(fd)") { $0.hasPrefix("svc:\(index) | fd\(fd) ") }
                    targets["\(fd)"] = String(seen.line.dropFirst("svc:\(index) | fd\(fd) ".count))
                }
                #expect((3...5).allSatisfy { targets["\($0)"]?.hasPrefix("socket:[") == true }, "\(targets)")
                #expect(targets["6"]?.contains("memfd:bulkhead-breadcrumbs") == true, "\(targets)")
            }
            let socketFile = try FileManager.default.attributesOfItem(atPath: directory + "/svc.sock")
            #expect((socketFile[.posixPermissions] as? Int) == 0o640)
            #expect((socketFile[.groupOwnerAccountName] as? String) == "nogroup")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/svc.sock"), "the unix socket's file goes when bulkhead exits")
    }

    @Test("a client hammering the port while the worker crashes every 3rd request is never refused; every connection is served or closed by the worker")
    func aCrashLoopRefusesNobody() async throws {
        let port = TestHTTP.freePort()
        try await withDaemon("""
        # every death its own line: the test counts them in the daemon's log
        crash_reports: { coalesce_after: 0 }
        workers:
          - name: web
            command: [\(RepositoryFile.httpWorker), --crash-every, "3"]
            backoff: { initial: 20ms, max: 100ms, jitter: 0 }
            crash_loop: { max_restarts: 100000, window: 1m, same_crash: 0 }
            sockets: [{ listen: "tcp://127.0.0.1:\(port)" }]
        """) { daemon in
            try await daemon.nextLine(what: "the first worker's start line") { $0.hasPrefix("web:0 | httpworker web:0") }
            let tally = TestHTTP.Tally()
            try await TestHTTP.hammer(port: port, clients: 4, requests: 60, tally: tally)
            let deaths = daemon.events("exit", of: "web:0").count
            #expect(tally["refused"] == 0, "refused by the kernel: \(tally.summary)")
            #expect(tally["failed"] == 0, "\(tally.summary)")
            #expect(tally["200"] + tally["closed"] == 240, "served or closed by the worker, nothing else: \(tally.summary)")
            #expect(tally["200"] > 100, "\(tally.summary)")
            #expect(tally["closed"] >= 10, "the worker died on requests: \(tally.summary)")
            #expect(deaths >= 10, "\(deaths) deaths")
            #expect(daemon.events("exit", of: "web:0").allSatisfy { $0.contains("killed by SIGABRT") && $0.contains(": crash ") }, "\(daemon.events("exit", of: "web:0").prefix(3))")
            // The same socket all along: every start line says it was inherited.
            let starts = daemon.output.filter { $0.hasPrefix("web:0 | httpworker web:0") }
            #expect(starts.count > deaths - 2 && starts.allSatisfy { $0.hasSuffix("inherited fd 3 of 1 (web)") }, "\(starts.prefix(3))")
        }
    }

    @Test("a socket that cannot be bound fails only its worker, saying why; the others run")
    func aBindFailureFailsItsWorker() async throws {
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                _ = bind(holder, pointer, length)
                _ = listen(holder, 1)
                return getsockname(holder, pointer, &length)
            }
        }
        let taken = Int(UInt16(bigEndian: address.sin_port))
        try await withDaemon("""
        workers:
          - name: web
            command: [/bin/sleep, "3600"]
            sockets: [{ listen: "tcp://127.0.0.1:\(taken)" }]
          - name: other
            command: [/bin/sleep, "3600"]
        """) { daemon in
            let exit = try await daemon.next("web:0", "exit", containing: ["could not start (sockets: tcp://127.0.0.1:\(taken): bind 127.0.0.1:\(taken): Address already in use)"])
            #expect(exit.line.contains(": persistent"), "\(exit.line)")
            try await daemon.next("web:0", "failed", after: exit.index)
            let instances = try await daemon.status(what: "web failed, other running") {
                $0["web:0"]?["state"] as? String == "failed" && $0["other:0"]?["state"] as? String == "running"
            }
            #expect(instances.count == 2)
        }
    }
}
