import Foundation
import Glibc
import Testing

/// Issues 14 and 18 together: a socket-activated worker keeps its listening socket across a
/// `kill -9` of bulkhead and across `bulkhead reexec`. The adopted instance still listens on
/// the socket the old daemon opened, so nothing can bind the address again: the new daemon
/// must take that very socket (from the adopted process, or from the old image) and give it to
/// the next instance. Each instance prints the inode of its fd 3; the same inode is the same
/// socket, and no client in its backlog was dropped.
@Suite("Issues 14 and 18: listening sockets across kill -9 and reexec")
struct SocketsAcrossRestartTests {
    static func config(port: Int) -> String {
        """
        workers:
          - name: web
            command: [/bin/sh, -c, 'echo "fd3 $(readlink /proc/$$/fd/3) fds=$LISTEN_FDS"; exec sleep 3600']
            sockets:
              - { listen: "tcp://127.0.0.1:\(port)", name: http }
        """
    }

    /// The socket inode the instance's process reported after `after`.
    static func socketInode(_ daemon: DaemonHarness, after: Int) async throws -> String {
        let line = try await daemon.nextLine(after: after, what: "web:0's fd 3") { $0.hasPrefix("web:0 | fd3 ") }
        #expect(line.line.hasSuffix(" fds=1"), "\(line.line)")
        let target = line.line.dropFirst("web:0 | fd3 ".count).prefix { $0 != " " }
        #expect(target.hasPrefix("socket:["), "fd 3 is \(target)")
        return String(target)
    }

    @Test("kill -9, start again, restart the worker; reexec, restart it again: one socket all along")
    func oneSocketAllAlong() async throws {
        let port = TestHTTP.freePort()
        let daemon = try DaemonHarness(Self.config(port: port))
        try await daemon.launch()
        do {
            let first = try await Self.socketInode(daemon, after: 0)
            let recorded = await Processes.waitUntil { DurableStateTests.recordedState(daemon.stateDir + "/state.json", "web:0") == "running" }
            #expect(recorded, "the state file never held web:0 running")

            try await DurableStateTests.killHard(daemon)
            let restart = daemon.mark
            try await daemon.launch()
            try await daemon.nextLine(after: restart, what: "web adopted with its sockets") {
                $0.hasPrefix("web:0 * daemon: adopted pid") && $0.contains("listening sockets")
            }
            #expect(!daemon.output.dropFirst(restart).contains { $0.contains("cannot start until it can be bound") },
                    "the new daemon tried to bind the address the adopted worker listens on")
            // The adopted process goes; its successor gets the socket the new daemon took from it.
            let restarted = daemon.mark
            #expect(try await daemon.command(["restart", "web"]).code == 0)
            let second = try await Self.socketInode(daemon, after: restarted)
            #expect(second == first, "a new socket after kill -9: \(first) → \(second)")

            let beforeReexec = daemon.mark
            let reexec = try await daemon.command(["reexec"])
            #expect(reexec.code == 0, "\(reexec.stderr)")
            #expect(try await daemon.command(["restart", "web"]).code == 0)
            let third = try await Self.socketInode(daemon, after: beforeReexec)
            #expect(third == first, "a new socket after reexec: \(first) → \(third)")
            // A client connects: the kernel queues it on the one socket (nobody accepts here).
            #expect(TestHTTP.connects(port: port), "nothing listens on \(port) any more")
            #expect(try await daemon.shutdown() == 0)
        } catch {
            _ = try? await daemon.shutdown()
            throw error
        }
    }
}
