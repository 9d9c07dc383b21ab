import Glibc
import Testing
import WorkerKit

/// `hello-server` as bulkhead runs it with `sockets:`: a real child process that inherits a real
/// listening socket (held by the test, as bulkhead holds it) at fd 3 with LISTEN_FDS,
/// LISTEN_FDNAMES and its own pid in LISTEN_PID, and reports to a NOTIFY_SOCKET the test reads.
@Suite("hello-server as a socket-activated child", .serialized, .timeLimit(.minutes(3)))
struct HelloServerProcessTests {
    @Test func readyOnlyOnceServingAndHealthzAnswers() async throws {
        let listener = try TestListener()
        let spawnedAt = now()
        let (server, notify) = try start(["--warmup-ms", "400"], socket: listener)
        // A client that arrives before the server accepts waits in the socket's backlog.
        let early = try await HTTPConnection(port: listener.port)
        early.send(get: "/")

        let ready = try #require(await notify.waitFor("READY=1"), "output: \(server.output.text)")
        // READY waited for the warm-up and the accepting listener (it is sent from the server's
        // own "serving" callback), not for the process start.
        #expect(ready.receivedAt - spawnedAt >= 400_000_000, "READY \((ready.receivedAt - spawnedAt) / 1_000_000) ms after spawn")
        #expect(ready.value(of: "STATUS")?.hasPrefix("serving on") == true, "\(ready)")
        let health = try await HTTPConnection.get(port: listener.port, "/healthz")
        #expect(health.status == 200 && health.body == "ok\n", "\(health)")
        let earlyReply = try await early.reply()
        #expect(earlyReply.status == 200 && earlyReply.body.hasPrefix("hello from"), "\(earlyReply)")

        server.signal(SIGTERM)
        #expect(await server.waitForExit()?.description == "exit 0", "output: \(server.output.text)")
    }

    @Test func sigtermFinishesTheRequestInFlightThenExitsZero() async throws {
        let listener = try TestListener()
        let (server, notify) = try start([], socket: listener)
        try #require(await notify.waitFor("READY=1") != nil, "output: \(server.output.text)")
        let slow = try await HTTPConnection(port: listener.port)
        slow.send(get: "/slow?ms=1500")
        try #require(await server.output.waitFor("slow request started"), "output: \(server.output.text)")

        server.signal(SIGTERM)  // what `bulkhead stop` sends (to the instance's process group)
        let stopping = try #require(await notify.waitFor("STOPPING=1"), "output: \(server.output.text)")
        let reply = try await slow.reply()
        #expect(reply.status == 200 && reply.body == "slept 1500 ms\n", "\(reply)")
        let exit = await server.waitForExit()
        let exitedAt = now()
        #expect(exit?.description == "exit 0", "output: \(server.output.text)")
        #expect(exitedAt > stopping.receivedAt)
        #expect(server.output.text.contains("graceful shutdown: no new connections; finishing in-flight requests"))

        // The socket outlives the process: a client now connects and waits for the next one.
        let waiting = try await HTTPConnection(port: listener.port)
        let (next, nextNotify) = try start([], socket: listener)
        try #require(await nextNotify.waitFor("READY=1") != nil, "output: \(next.output.text)")
        waiting.send(get: "/")
        #expect(try await waiting.reply().status == 200)
        next.signal(SIGTERM)
        #expect(await next.waitForExit()?.description == "exit 0")
    }

    @Test func aTrapKillsTheProcessAndTheListeningSocketStillAccepts() async throws {
        let listener = try TestListener()
        let ring = try BreadcrumbFile()
        let (server, notify) = try start([], socket: listener, breadcrumbRing: ring)
        try #require(await notify.waitFor("READY=1") != nil, "output: \(server.output.text)")

        await #expect(throws: HTTPConnection.Failure.self) { try await HTTPConnection.get(port: listener.port, "/crash") }
        let exit = try #require(await server.waitForExit(), "output: \(server.output.text)")
        // A Swift trap: SIGILL on x86_64, SIGTRAP on arm64.
        #expect(exit.signal == SIGILL || exit.signal == SIGTRAP, "\(exit); output: \(server.output.text)")
        #expect(await server.output.waitFor("Fatal error: Index out of range", within: 10))
        // What the crash report will show: the request that killed it, then the trap.
        #expect(ring.entries.suffix(2) == ["request method=GET n=1 path=/crash", #"trapping reason="GET /crash""#], "\(ring.entries)")

        // No process serves the socket now, yet it is still listening: connect succeeds (no
        // ECONNREFUSED) and the client is served by the next instance.
        let queued = try await HTTPConnection(port: listener.port)
        queued.send(get: "/healthz")
        let (next, nextNotify) = try start([], socket: listener)
        try #require(await nextNotify.waitFor("READY=1") != nil, "output: \(next.output.text)")
        let reply = try await queued.reply()
        #expect(reply.status == 200 && reply.body == "ok\n")
        next.signal(SIGTERM)
        #expect(await next.waitForExit()?.description == "exit 0")
    }

    @Test func crashEveryNthRequestTrapsOnTheNth() async throws {
        let listener = try TestListener()
        let (server, notify) = try start(["--crash-every", "3"], socket: listener)
        try #require(await notify.waitFor("READY=1") != nil, "output: \(server.output.text)")
        #expect(try await HTTPConnection.get(port: listener.port, "/").status == 200)
        #expect(try await HTTPConnection.get(port: listener.port, "/healthz").status == 200, "not counted")
        #expect(try await HTTPConnection.get(port: listener.port, "/").status == 200)
        await #expect(throws: HTTPConnection.Failure.self) { try await HTTPConnection.get(port: listener.port, "/") }
        let exit = try #require(await server.waitForExit())
        #expect(exit.signal == SIGILL || exit.signal == SIGTRAP, "\(exit)")
    }

    @Test(arguments: [("transient", Int32(75), "<3>"), ("persistent", Int32(78), "<2>"), ("corruption", Int32(86), "<1>")])
    func aFailingServiceEndsTheProcessWithItsClassCode(name: String, code: Int32, priority: String) async throws {
        let listener = try TestListener()
        let (server, notify) = try start([], socket: listener)
        try #require(await notify.waitFor("READY=1") != nil, "output: \(server.output.text)")
        // The reply may be cut off: the failure cancels the group, the server with it, at once.
        _ = try? await HTTPConnection.get(port: listener.port, "/fail?class=\(name)")
        let exit = try #require(await server.waitForExit())
        #expect(exit.exitCode == code, "\(exit); output: \(server.output.text)")
        let line = "\(priority)hello: run failed (\(name), exit \(code)): background service failed as asked (GET /fail?class=\(name))"
        #expect(await server.output.waitFor(line, within: 10), "output: \(server.output.text)")
        #expect(!notify.datagrams.contains { $0.contains("STOPPING=1") }, "a failure is no stop")
    }

    @Test func withoutAnInheritedSocketItBindsThePortItIsGiven() async throws {
        let (server, notify) = try start(["--port", "0"], socket: nil)
        let ready = try #require(await notify.waitFor("READY=1"), "output: \(server.output.text)")
        // STATUS=serving on [IPv4]127.0.0.1/127.0.0.1:PORT
        let status = try #require(ready.value(of: "STATUS"))
        let port = try #require(status.split(separator: ":").last.flatMap { UInt16($0) }, "\(status)")
        #expect(try await HTTPConnection.get(port: port, "/healthz").status == 200)
        server.signal(SIGTERM)
        #expect(await server.waitForExit()?.description == "exit 0")
    }

    @Test func watchdogPingsWhileTheGroupIsHealthy() async throws {
        let listener = try TestListener()
        let (server, notify) = try start([], socket: listener, environment: ["WATCHDOG_USEC": "400000"])
        let ready = try #require(await notify.waitFor("READY=1"), "output: \(server.output.text)")
        await notify.collect(until: ready.receivedAt + 1_500_000_000)
        let pings = notify.datagrams.filter { $0.contains("WATCHDOG=1") }.count
        // Every 200 ms while responsive; a loaded machine may bunch them, so only a floor.
        #expect(pings >= 3, "\(pings) pings in 1.5 s")
        server.signal(SIGTERM)
        #expect(await server.waitForExit()?.description == "exit 0")
    }

    @Test func aMalformedSocketSetIsPersistent() async throws {
        // LISTEN_FDNAMES names two sockets, LISTEN_FDS passes one: the config is wrong.
        let listener = try TestListener()
        let (server, _) = try start([], socket: listener, socketName: "http:admin")
        let exit = try #require(await server.waitForExit())
        #expect(exit.exitCode == 78, "\(exit); output: \(server.output.text)")
        #expect(await server.output.waitFor("LISTEN_FDNAMES has 2 name(s) but LISTEN_FDS counts 1 socket(s)", within: 10))
    }

    @Test func badFlagsArePersistent() async throws {
        let (server, _) = try start(["--crash-every", "0"], socket: nil)
        let exit = try #require(await server.waitForExit())
        #expect(exit.exitCode == 78, "\(exit)")
        #expect(await server.output.waitFor("--crash-every wants a whole number ≥ 1, got 0", within: 10), "output: \(server.output.text)")
    }

    /// Starts hello-server with its notify socket; with `socket`, as a socket-activated child.
    private func start(
        _ arguments: [String], socket: TestListener?, socketName: String = "http", environment extra: [String: String] = [:],
        breadcrumbRing: BreadcrumbFile? = nil
    ) throws -> (ServerProcess, NotifyReceiver) {
        let notify = try NotifyReceiver()
        var environment = [
            "PATH": "/usr/bin:/bin",
            "NOTIFY_SOCKET": notify.address,
            "BULKHEAD_WORKER": "hello",
            // No backtracer: a trap should end the child in milliseconds, not after a report.
            "SWIFT_BACKTRACE": "enable=no",
        ]
        environment.merge(extra) { _, new in new }
        let server = try ServerProcess(
            path: try builtProduct("hello-server"),
            arguments: arguments,
            environment: environment,
            socket: socket.map { (fd: $0.fd, name: socketName) },
            breadcrumbRing: breadcrumbRing
        )
        return (server, notify)
    }
}
