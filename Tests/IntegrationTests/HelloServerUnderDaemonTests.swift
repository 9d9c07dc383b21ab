import Foundation
import Glibc
import Testing

/// The README's "Health checks and sockets" example for real: `hello-server` (Hummingbird 2 on
/// WorkerKitLifecycle) under the daemon, its socket from `sockets:`, ready and live probes on
/// /healthz, driven by clients in the test.
@Suite("hello-server under bulkhead")
struct HelloServerUnderDaemonTests {
    static func config(port: Int, instances: Int = 1, flags: [String] = []) -> String {
        let arguments = ([Products.path("hello-server")] + flags).map { "\"\($0)\"" }.joined(separator: ", ")
        return """
        workers:
          - name: hello
            command: [\(arguments)]
            instances: \(instances)
            ready: notify
            watchdog: 10s
            stop: { timeout: 10s }
            backoff: { initial: 50ms, max: 200ms, jitter: 0 }
            crash_loop: { max_restarts: 100000, window: 1m, same_crash: 0 }
            sockets:
              - { listen: "tcp://127.0.0.1:\(port)", name: http }
            health:
              ready: { http: "http://127.0.0.1:\(port)/healthz", interval: 100ms, timeout: 200ms }
              live: { http: "http://127.0.0.1:\(port)/healthz", interval: 500ms, timeout: 2s, failures: 3 }
        """
    }

    @Test("ready only once its probe passes (after READY=1 and the warm-up), never before")
    func readyAfterTheProbe() async throws {
        let port = TestHTTP.freePort()
        try await withDaemon(Self.config(port: port, flags: ["--warmup-ms", "800"])) { daemon in
            let spawn = try await daemon.next("hello:0", "spawn")
            let serving = try await daemon.nextLine(after: spawn.index, what: "hello-server's serving line") { $0.hasPrefix("hello:0 ") && $0.contains("serving") }
            let ready = try await daemon.next("hello:0", "ready", after: spawn.index, containing: ["ready probe passed: HTTP 200"])
            #expect(ready.index > serving.index, "ready before the server served")
            let instances = try await daemon.instances()
            let probes = (instances["hello:0"]?["health"] as? [[String: Any]] ?? []).compactMap { $0["probe"] as? String }
            #expect(probes == ["ready", "live"])
            #expect(TestHTTP.get(port: port, "/") == .answered(status: 200, body: "hello from hello:0\n"))
        }
    }

    /// One instance: several hello-servers sharing one listening socket trip a debug-build
    /// assertion of swift-nio (BaseSocketChannel.swift: "readable, yet nothing to accept" — a
    /// sibling took the connection), which release builds compile out.
    @Test("a trapping request kills only the process that served it; the socket stays; no client is refused")
    func aTrapKillsOnlyItsProcess() async throws {
        let port = TestHTTP.freePort()
        let config = Self.config(port: port, flags: ["--crash-every", "5"]) + """

          - name: bystander
            command: [/bin/sleep, "3600"]
        """
        try await withDaemon(config) { daemon in
            try await daemon.next("hello:0", "ready")
            let bystander = try await daemon.instances()["bystander:0"]?["pid"] as? Int

            let mark = daemon.mark
            #expect(TestHTTP.get(port: port, "/crash") == .closed, "the trapping request's connection is closed, not answered")
            let exit = try await daemon.next("hello:0", "exit", after: mark)
            #expect(exit.line.contains(": crash (default: signal ILL)") || exit.line.contains(": crash (default: signal TRAP)"), "\(exit.line)")
            let report = try daemon.report(for: exit)
            let crumbs = (report["breadcrumbs"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
            #expect(crumbs.contains { $0.contains("path=/crash") }, "\(crumbs)")
            try await daemon.next("hello:0", "ready", after: exit.index)
            #expect(try await daemon.instances()["bystander:0"]?["pid"] as? Int == bystander, "only the trapping process died")

            let tally = TestHTTP.Tally()
            try await TestHTTP.hammer(port: port, clients: 4, requests: 30, tally: tally)
            #expect(tally["refused"] == 0, "\(tally.summary)")
            #expect(tally["failed"] == 0, "\(tally.summary)")
            // A trap ends every connection of its process, the ones in flight beside the 5th too.
            #expect(tally["200"] + tally["closed"] == 120, "served or closed by the worker, nothing else: \(tally.summary)")
            #expect(tally["200"] >= 40, "\(tally.summary)")
            #expect(tally["closed"] >= 5, "every 5th request of a process traps: \(tally.summary)")
            #expect(daemon.events("exit", of: "hello:0").count >= 6)
        }
    }

    @Test("`bulkhead stop` ends it through graceful shutdown: the request in flight completes, exit 0")
    func stopIsGraceful() async throws {
        let port = TestHTTP.freePort()
        try await withDaemon(Self.config(port: port)) { daemon in
            try await daemon.next("hello:0", "ready")
            async let slow = offThread { TestHTTP.get(port: port, "/slow?ms=1500") }
            try await daemon.nextLine(what: "the slow request in flight") { $0.hasPrefix("hello:0 ") && $0.contains("slow request started") }
            let stop = try await daemon.command(["stop", "hello"])
            #expect(stop.code == 0, "\(stop.stderr)")
            #expect(try await slow == .answered(status: 200, body: "slept 1500 ms\n"))
            let exit = try await daemon.next("hello:0", "exit")
            #expect(exit.line.contains("exited with code 0: clean"), "\(exit.line)")
            #expect(daemon.output.contains { $0.hasPrefix("hello:0 ") && $0.contains("graceful shutdown") })
        }
    }
}
